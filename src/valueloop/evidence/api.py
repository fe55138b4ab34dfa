from ninja import Query, Router, Status

from valueloop.core.api_support import BodyId, PageParams, PathId, paginate, requires, responses
from valueloop.core.money import money_out
from valueloop.core.permissions import Scope

from . import facade, selectors, services
from .schemas import (
    EvidenceIn,
    EvidenceOut,
    EvidencePage,
    EvidencePatch,
    EvidenceSummaryOut,
    LoopNotificationOut,
    LoopNotificationPage,
    NotifyIn,
    RequesterOut,
    TargetType,
)

router = Router(tags=["evidence"])


class EvidenceListParams(PageParams):
    target_type: TargetType | None = None
    target_id: BodyId | None = None
    feedback_id: BodyId | None = None
    customer_id: BodyId | None = None
    sort: str = "newest"


@router.get("/evidence", response=responses(EvidencePage), operation_id="evidence_evidence_list")
@requires(Scope.WORKSPACE_READ)
def evidence_list(request, params: Query[EvidenceListParams]):
    query = selectors.evidence_list(
        actor=request.auth,
        target_type=params.target_type or "",
        target_id=params.target_id,
        feedback_id=params.feedback_id,
        customer_id=params.customer_id,
        sort=params.sort,
    )
    return paginate(query, params)


@router.post("/evidence", response=responses({201: EvidenceOut}, 409), operation_id="evidence_evidence_create")
@requires(services.WRITE_SCOPE)
def evidence_create(request, payload: EvidenceIn):
    return Status(201, services.evidence_link(actor=request.auth, **payload.model_dump()))


@router.get("/evidence/{evidence_id}", response=responses(EvidenceOut), operation_id="evidence_evidence_get")
@requires(Scope.WORKSPACE_READ)
def evidence_get(request, evidence_id: PathId):
    return selectors.access_evidence(actor=request.auth, id=evidence_id)


@router.patch("/evidence/{evidence_id}", response=responses(EvidenceOut), operation_id="evidence_evidence_update")
@requires(services.WRITE_SCOPE)
def evidence_update(request, evidence_id: PathId, payload: EvidencePatch):
    return services.evidence_update(
        actor=request.auth, evidence_id=evidence_id, **payload.model_dump(exclude_unset=True)
    )


@router.delete("/evidence/{evidence_id}", response=responses({204: None}), operation_id="evidence_evidence_delete")
@requires(services.WRITE_SCOPE)
def evidence_delete(request, evidence_id: PathId):
    services.evidence_unlink(actor=request.auth, evidence_id=evidence_id)
    return Status(204, None)


def _summary(actor, target_type: str, target_id: int) -> dict:
    selectors.access_target(actor=actor, target_type=target_type, target_id=target_id)
    panel = facade.evidence_panel(actor=actor, target_type=target_type, target_id=target_id)["evidence"]
    keys = ("target_type", "target_id", "count", "accounts", "currency", "by_persona", "newest")
    currency = panel["currency"]
    return {
        **{key: panel[key] for key in keys},
        "arr": money_out(panel["arr"], currency),
        "by_segment": [{**segment, "arr": money_out(segment["arr"], currency)} for segment in panel["by_segment"]],
        "strongest": panel["quotes"],
        "months": [m.__dict__ for m in panel["months"]],
    }


@router.get(
    "/problems/{problem_id}/evidence-summary",
    response=responses(EvidenceSummaryOut),
    operation_id="evidence_problem_summary_get",
)
@requires(Scope.WORKSPACE_READ)
def problem_summary(request, problem_id: PathId):
    return _summary(request.auth, "problem", problem_id)


@router.get(
    "/features/{feature_id}/evidence-summary",
    response=responses(EvidenceSummaryOut),
    operation_id="evidence_feature_summary_get",
)
@requires(Scope.WORKSPACE_READ)
def feature_summary(request, feature_id: PathId):
    return _summary(request.auth, "feature", feature_id)


@router.get(
    "/features/{feature_id}/requesters", response=responses(list[RequesterOut]), operation_id="evidence_requester_list"
)
@requires(Scope.WORKSPACE_READ)
def requester_list(request, feature_id: PathId):
    feature = services.feature_for_loop(request.auth, feature_id)
    found = selectors.requesters(actor=request.auth, feature_id=feature.pk)
    rows = []
    for status, people in (
        ("to_tell", found.reachable),
        ("told", found.already_told),
        ("unsubscribed", found.unsubscribed),
    ):
        rows.extend({**p.__dict__, "status": status} for p in people)
    return rows


@router.get(
    "/features/{feature_id}/notifications",
    response=responses(LoopNotificationPage),
    operation_id="evidence_notification_list",
)
@requires(Scope.WORKSPACE_READ)
def notification_list(request, feature_id: PathId, params: Query[PageParams]):
    feature = services.feature_for_loop(request.auth, feature_id)
    return paginate(selectors.notification_list(actor=request.auth, feature_id=feature.pk), params)


@router.post(
    "/features/{feature_id}/notifications",
    response=responses({201: list[LoopNotificationOut]}, 409),
    operation_id="evidence_notification_create",
)
@requires(services.NOTIFY_SCOPE)
def notification_create(request, feature_id: PathId, payload: NotifyIn):
    """Email the requesters of a released feature (each once, unsubscribed people never)."""
    return Status(201, services.loop_notify(actor=request.auth, feature_id=feature_id, **payload.model_dump()))

from ninja import Query, Router, Status

from valueloop.core.api_support import BodyId, PageParams, PathId, paginate, requires, responses
from valueloop.core.importing import reading
from valueloop.core.permissions import Scope

from . import selectors, services
from .schemas import (
    HighlightIn,
    HighlightOut,
    InterviewIn,
    InterviewOut,
    InterviewPage,
    InterviewPatch,
    SurveyImportIn,
    SurveyImportOut,
    SurveyKind,
    SurveyResponseIn,
    SurveyResponseOut,
    SurveyResponsePage,
    SurveySummaryOut,
)

router = Router(tags=["research"])


class InterviewListParams(PageParams):
    search: str = ""
    customer_id: BodyId | None = None
    consent: bool | None = None


@router.get("/interviews", response=responses(InterviewPage), operation_id="research_interview_list")
@requires(Scope.WORKSPACE_READ)
def interview_list(request, params: Query[InterviewListParams]):
    query = selectors.interview_list(
        actor=request.auth, search=params.search, customer_id=params.customer_id, consent=params.consent
    )
    return paginate(query, params)


@router.post("/interviews", response=responses({201: InterviewOut}), operation_id="research_interview_create")
@requires(services.WRITE_SCOPE)
def interview_create(request, payload: InterviewIn):
    return Status(201, services.interview_create(actor=request.auth, **payload.model_dump()))


@router.get("/interviews/{interview_id}", response=responses(InterviewOut), operation_id="research_interview_get")
@requires(Scope.WORKSPACE_READ)
def interview_get(request, interview_id: PathId):
    return selectors.access_interview(actor=request.auth, id=interview_id)


@router.patch(
    "/interviews/{interview_id}", response=responses(InterviewOut, 409), operation_id="research_interview_update"
)
@requires(services.WRITE_SCOPE)
def interview_update(request, interview_id: PathId, payload: InterviewPatch):
    """Edit an interview; when the notes change every highlight is re-anchored (or marked detached)."""
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.interview_update(actor=request.auth, interview_id=interview_id, expected_version=version, **data)


@router.delete("/interviews/{interview_id}", response=responses({204: None}), operation_id="research_interview_delete")
@requires(services.WRITE_SCOPE)
def interview_delete(request, interview_id: PathId):
    services.interview_delete(actor=request.auth, interview_id=interview_id)
    return Status(204, None)


@router.get(
    "/interviews/{interview_id}/highlights",
    response=responses(list[HighlightOut]),
    operation_id="research_highlight_list",
)
@requires(Scope.WORKSPACE_READ)
def highlight_list(request, interview_id: PathId):
    return list(selectors.highlight_list(actor=request.auth, interview_id=interview_id))


@router.post(
    "/interviews/{interview_id}/highlights",
    response=responses({201: HighlightOut}, 409),
    operation_id="research_highlight_create",
)
@requires(services.WRITE_SCOPE)
def highlight_create(request, interview_id: PathId, payload: HighlightIn):
    return Status(201, services.highlight_create(actor=request.auth, interview_id=interview_id, **payload.model_dump()))


@router.delete("/highlights/{highlight_id}", response=responses({204: None}), operation_id="research_highlight_delete")
@requires(services.WRITE_SCOPE)
def highlight_delete(request, highlight_id: PathId):
    services.highlight_delete(actor=request.auth, highlight_id=highlight_id)
    return Status(204, None)


class SurveyResponseListParams(PageParams):
    kind: SurveyKind | None = None
    customer_id: BodyId | None = None


@router.get("/survey-responses", response=responses(SurveyResponsePage), operation_id="research_survey_response_list")
@requires(Scope.WORKSPACE_READ)
def survey_response_list(request, params: Query[SurveyResponseListParams]):
    query = selectors.survey_response_list(actor=request.auth, kind=params.kind or "", customer_id=params.customer_id)
    return paginate(query, params)


@router.post(
    "/survey-responses",
    response=responses({201: SurveyResponseOut}, 409),
    operation_id="research_survey_response_create",
)
@requires(services.WRITE_SCOPE)
def survey_response_create(request, payload: SurveyResponseIn):
    """One response; its comment (if any) lands in the feedback inbox."""
    return Status(201, services.survey_response_create(actor=request.auth, **payload.model_dump()))


@router.post(
    "/survey-responses/import", response=responses(SurveyImportOut, 409), operation_id="research_survey_import"
)
@requires(services.WRITE_SCOPE)
def survey_import(request, payload: SurveyImportIn):
    """Import a CSV of NPS/CSAT responses: all rows or none (``problems`` lists every bad row)."""
    with reading.refusals_name("csv"):
        return services.survey_import(
            actor=request.auth,
            data=payload.csv.encode("utf-8"),
            filename="api upload",
            default_kind=payload.kind or "",
            allow_unknown_accounts=payload.allow_unknown_accounts,
            dry_run=payload.dry_run,
        )


def _score(result):
    if result is None:
        return None
    value = getattr(result, "score", None)
    value = result.share if value is None else value
    return {
        "n": result.n,
        "score": value,
        "margin_of_error": result.margin_of_error,
        "low": result.low,
        "high": result.high,
    }


@router.get("/surveys/summary", response=responses(SurveySummaryOut), operation_id="research_survey_summary_get")
@requires(Scope.WORKSPACE_READ)
def survey_summary(request, kind: SurveyKind = "nps", months: int = 12):
    """NPS (± margin of error) or CSAT over the last ``months`` months, per month and per segment."""
    summary = selectors.survey_summary(actor=request.auth, kind=kind, months=max(1, min(months, 60)))

    def rows(items):
        return [{"key": r.key, "label": r.label, "n": r.n, "result": _score(r.result)} for r in items]

    return {
        "kind": summary.kind,
        "since": summary.since,
        "total": summary.total,
        "overall": _score(summary.overall),
        "months": rows(summary.months),
        "segments": rows(summary.segments),
    }

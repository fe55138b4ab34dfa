"""Flags management API. Literal paths come before ``/flags/{flag_id}`` so that they are matched first."""

from ninja import Query, Router, Status

from valueloop.core.api_support import PathId, paginate, requires, responses
from valueloop.core.permissions import Scope

from . import selectors, services
from .schemas import (
    FlagApprovalListParams,
    FlagCommentIn,
    FlagEnvironmentOut,
    FlagEnvironmentSummary,
    FlagEnvList,
    FlagEnvOut,
    FlagEnvPatch,
    FlagEvaluateIn,
    FlagEvaluateOut,
    FlagIn,
    FlagKillSwitchIn,
    FlagListParams,
    FlagOut,
    FlagPage,
    FlagPatch,
    FlagRevisionListParams,
    FlagRevisionOut,
    FlagRevisionPage,
    FlagRuleIn,
    FlagRuleMoveIn,
    FlagRuleOut,
    FlagRulePatch,
    FlagSdkKeyOut,
    SavedGroupIn,
    SavedGroupListParams,
    SavedGroupOut,
    SavedGroupPage,
    SavedGroupPatch,
)

router = Router(tags=["flags"])


# --- environments and SDK keys ------------------------------------------------------------------------------------


@router.get("/flags/environments", response=responses(FlagEnvList), operation_id="flags_environment_list")
@requires(Scope.WORKSPACE_READ)
def environment_list(request):
    return {"items": selectors.environment_list(actor=request.auth)}


@router.patch(
    "/flags/environments/{environment_id}",
    response=responses(FlagEnvOut, 409),
    operation_id="flags_environment_update",
)
@requires(Scope.WORKSPACE_MANAGE)
def environment_update(request, environment_id: PathId, payload: FlagEnvPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.environment_update(
        actor=request.auth, environment_id=environment_id, expected_version=version, **data
    )


@router.post(
    "/flags/environments/{environment_id}/rotate-key",
    response=responses({201: FlagSdkKeyOut}),
    operation_id="flags_sdk_key_rotate",
)
@requires(Scope.WORKSPACE_MANAGE)
def sdk_key_rotate(request, environment_id: PathId):
    return Status(201, services.sdk_key_rotate(actor=request.auth, environment_id=environment_id))


@router.post(
    "/flags/environments/{environment_id}/revoke-key",
    response=responses(FlagEnvOut),
    operation_id="flags_sdk_key_revoke",
)
@requires(Scope.WORKSPACE_MANAGE)
def sdk_key_revoke(request, environment_id: PathId):
    return services.sdk_key_revoke(actor=request.auth, environment_id=environment_id)


# --- saved groups -------------------------------------------------------------------------------------------------


@router.get("/flags/saved-groups", response=responses(SavedGroupPage), operation_id="flags_group_list")
@requires(Scope.WORKSPACE_READ)
def group_list(request, params: Query[SavedGroupListParams]):
    return paginate(selectors.group_list(actor=request.auth, search=params.search), params)


@router.post("/flags/saved-groups", response=responses({201: SavedGroupOut}), operation_id="flags_group_create")
@requires(Scope.PORTFOLIO_WRITE)
def group_create(request, payload: SavedGroupIn):
    return Status(201, services.group_create(actor=request.auth, **payload.model_dump()))


@router.get("/flags/saved-groups/{group_id}", response=responses(SavedGroupOut), operation_id="flags_group_get")
@requires(Scope.WORKSPACE_READ)
def group_get(request, group_id: PathId):
    return selectors.access_group(actor=request.auth, id=group_id)


@router.patch(
    "/flags/saved-groups/{group_id}", response=responses(SavedGroupOut, 409), operation_id="flags_group_update"
)
@requires(Scope.PORTFOLIO_WRITE)
def group_update(request, group_id: PathId, payload: SavedGroupPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.group_update(actor=request.auth, group_id=group_id, expected_version=version, **data)


@router.delete(
    "/flags/saved-groups/{group_id}", response=responses({204: None}, 409), operation_id="flags_group_delete"
)
@requires(Scope.PORTFOLIO_WRITE)
def group_delete(request, group_id: PathId):
    services.group_delete(actor=request.auth, group_id=group_id)
    return Status(204, None)


# --- approvals and revisions --------------------------------------------------------------------------------------


@router.get("/flags/approvals", response=responses(FlagRevisionPage), operation_id="flags_approval_list")
@requires(Scope.WORKSPACE_READ)
def approval_list(request, params: Query[FlagApprovalListParams]):
    return paginate(selectors.approval_list(actor=request.auth), params)


@router.post(
    "/flags/revisions/{revision_id}/approve",
    response=responses(FlagRevisionOut, 409),
    operation_id="flags_revision_approve",
)
@requires(Scope.PORTFOLIO_WRITE)  # who may change flags approves them; a stakeholder does not
def revision_approve(request, revision_id: PathId, payload: FlagCommentIn):
    return services.revision_approve(actor=request.auth, revision_id=revision_id, comment=payload.comment)


@router.post(
    "/flags/revisions/{revision_id}/reject",
    response=responses(FlagRevisionOut, 409),
    operation_id="flags_revision_reject",
)
@requires(Scope.PORTFOLIO_WRITE)  # who may change flags approves them; a stakeholder does not
def revision_reject(request, revision_id: PathId, payload: FlagCommentIn):
    return services.revision_reject(actor=request.auth, revision_id=revision_id, comment=payload.comment)


@router.post(
    "/flags/revisions/{revision_id}/rollback",
    response=responses({201: FlagRevisionOut}, 409),
    operation_id="flags_revision_rollback",
)
@requires(Scope.PORTFOLIO_WRITE)
def revision_rollback(request, revision_id: PathId):
    return Status(201, services.revision_rollback(actor=request.auth, revision_id=revision_id))


# --- batch evaluation ---------------------------------------------------------------------------------------------


@router.post("/flags/evaluate", response=responses(FlagEvaluateOut), operation_id="flags_flag_evaluate")
@requires(Scope.WORKSPACE_READ)
def flag_evaluate(request, payload: FlagEvaluateIn):
    """Evaluate flags for many users at once (up to 100,000), exactly as SDKs would with the published payload."""
    return selectors.evaluate_batch(
        actor=request.auth, environment=payload.environment, flags=payload.flags, users=payload.users
    )


# --- flags --------------------------------------------------------------------------------------------------------


@router.get("/flags", response=responses(FlagPage), operation_id="flags_flag_list")
@requires(Scope.WORKSPACE_READ)
def flag_list(request, params: Query[FlagListParams]):
    query = selectors.flag_list(
        actor=request.auth,
        search=params.search,
        archived=params.archived,
        environment_id=params.environment_id,
        state=params.state or "",
        feature_id=params.feature_id,
    )
    return paginate(query, params)


@router.post("/flags", response=responses({201: FlagOut}), operation_id="flags_flag_create")
@requires(Scope.PORTFOLIO_WRITE)
def flag_create(request, payload: FlagIn):
    return Status(201, services.flag_create(actor=request.auth, **payload.model_dump()))


@router.get("/flags/{flag_id}", response=responses(FlagOut), operation_id="flags_flag_get")
@requires(Scope.WORKSPACE_READ)
def flag_get(request, flag_id: PathId):
    return selectors.flag_detail(actor=request.auth, flag_id=flag_id)


@router.patch("/flags/{flag_id}", response=responses(FlagOut, 409), operation_id="flags_flag_update")
@requires(Scope.PORTFOLIO_WRITE)
def flag_update(request, flag_id: PathId, payload: FlagPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.flag_update(actor=request.auth, flag_id=flag_id, expected_version=version, **data)


@router.get("/flags/{flag_id}/revisions", response=responses(FlagRevisionPage), operation_id="flags_revision_list")
@requires(Scope.WORKSPACE_READ)
def revision_list(request, flag_id: PathId, params: Query[FlagRevisionListParams]):
    query = selectors.revision_list(
        actor=request.auth, flag_id=flag_id, environment_id=params.environment_id, state=params.state or ""
    )
    return paginate(query, params)


@router.get(
    "/flags/{flag_id}/environments/{environment_id}",
    response=responses(FlagEnvironmentOut),
    operation_id="flags_flag_environment_get",
)
@requires(Scope.WORKSPACE_READ)
def flag_environment_get(request, flag_id: PathId, environment_id: PathId):
    return selectors.flag_environment(actor=request.auth, flag_id=flag_id, environment_id=environment_id)


@router.post(
    "/flags/{flag_id}/environments/{environment_id}/rules",
    response=responses({201: FlagRuleOut}, 409),
    operation_id="flags_rule_create",
)
@requires(Scope.PORTFOLIO_WRITE)
def rule_create(request, flag_id: PathId, environment_id: PathId, payload: FlagRuleIn):
    rule = services.rule_create(
        actor=request.auth, flag_id=flag_id, environment_id=environment_id, **payload.model_dump()
    )
    return Status(201, rule)


@router.patch(
    "/flags/{flag_id}/environments/{environment_id}/rules/{rule_id}",
    response=responses(FlagRuleOut, 409),
    operation_id="flags_rule_update",
)
@requires(Scope.PORTFOLIO_WRITE)
def rule_update(request, flag_id: PathId, environment_id: PathId, rule_id: PathId, payload: FlagRulePatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.rule_update(
        actor=request.auth,
        flag_id=flag_id,
        environment_id=environment_id,
        rule_id=rule_id,
        expected_version=version,
        **data,
    )


@router.delete(
    "/flags/{flag_id}/environments/{environment_id}/rules/{rule_id}",
    response=responses({204: None}, 409),
    operation_id="flags_rule_delete",
)
@requires(Scope.PORTFOLIO_WRITE)
def rule_delete(request, flag_id: PathId, environment_id: PathId, rule_id: PathId):
    services.rule_delete(actor=request.auth, flag_id=flag_id, environment_id=environment_id, rule_id=rule_id)
    return Status(204, None)


@router.post(
    "/flags/{flag_id}/environments/{environment_id}/rules/{rule_id}/move",
    response=responses(FlagRuleOut, 409),
    operation_id="flags_rule_move",
)
@requires(Scope.PORTFOLIO_WRITE)
def rule_move(request, flag_id: PathId, environment_id: PathId, rule_id: PathId, payload: FlagRuleMoveIn):
    return services.rule_move(
        actor=request.auth,
        flag_id=flag_id,
        environment_id=environment_id,
        rule_id=rule_id,
        direction=payload.direction,
    )


@router.post(
    "/flags/{flag_id}/environments/{environment_id}/kill-switch",
    response=responses(FlagEnvironmentSummary, 409),
    operation_id="flags_kill_switch_set",
)
@requires(Scope.PORTFOLIO_WRITE)
def kill_switch_set(request, flag_id: PathId, environment_id: PathId, payload: FlagKillSwitchIn):
    return services.kill_switch_set(
        actor=request.auth, flag_id=flag_id, environment_id=environment_id, killed=payload.killed
    )


@router.post(
    "/flags/{flag_id}/environments/{environment_id}/publish",
    response=responses(FlagRevisionOut, 409),
    operation_id="flags_draft_publish",
)
@requires(Scope.PORTFOLIO_WRITE)
def draft_publish(request, flag_id: PathId, environment_id: PathId, payload: FlagCommentIn):
    return services.draft_publish(
        actor=request.auth, flag_id=flag_id, environment_id=environment_id, comment=payload.comment
    )


@router.post(
    "/flags/{flag_id}/environments/{environment_id}/discard",
    response=responses(FlagRevisionOut, 409),
    operation_id="flags_draft_discard",
)
@requires(Scope.PORTFOLIO_WRITE)
def draft_discard(request, flag_id: PathId, environment_id: PathId):
    return services.draft_discard(actor=request.auth, flag_id=flag_id, environment_id=environment_id)

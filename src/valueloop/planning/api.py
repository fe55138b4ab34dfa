from ninja import Query, Router, Status

from valueloop.core.api_support import BodyId, PageParams, PathId, paginate, requires, responses
from valueloop.core.importing import reading
from valueloop.core.permissions import Scope

from . import selectors, services
from .schemas import (
    BacklogMoveIn,
    BacklogMoveOut,
    BacklogPage,
    BacklogResetIn,
    DeliveryItemIn,
    DeliveryItemOut,
    DeliveryItemPage,
    DeliveryItemPatch,
    FeatureIn,
    FeatureOut,
    FeaturePage,
    FeaturePatch,
    FeatureStatus,
    ForecastHowManyIn,
    ForecastOut,
    ForecastWhenIn,
    FormulaIn,
    FormulaOut,
    FormulaPage,
    FormulaPatch,
    KanoImportIn,
    KanoImportOut,
    KanoPage,
    OutcomeIn,
    OutcomeOut,
    PrioritisationIn,
    PrioritisationOut,
    RankingOut,
    RankingParams,
    ScheduleOut,
    ScoreChangePage,
    SequenceOut,
    SettingsIn,
    SettingsOut,
    TeamIn,
    TeamOut,
    TeamPage,
    TeamPatch,
    ThroughputIn,
    ThroughputOut,
    ThroughputPage,
    ThroughputPatch,
    WhatIfIn,
    WhatIfOut,
    backlog_out,
    forecast_out,
    kano_out,
    prioritisation_out,
    ranking_out,
    schedule_out,
    sequence_out,
    whatif_out,
)

router = Router(tags=["planning"])


class FeatureListParams(PageParams):
    search: str = ""
    status: FeatureStatus | None = None
    product_id: BodyId | None = None
    problem_id: BodyId | None = None


@router.get("/features", response=responses(FeaturePage), operation_id="planning_feature_list")
@requires(Scope.WORKSPACE_READ)
def feature_list(request, params: Query[FeatureListParams]):
    query = selectors.feature_list(
        actor=request.auth,
        search=params.search,
        status=params.status or "",
        product_id=params.product_id,
        problem_id=params.problem_id,
    )
    return paginate(query, params)


@router.post("/features", response=responses({201: FeatureOut}), operation_id="planning_feature_create")
@requires(Scope.PORTFOLIO_WRITE)
def feature_create(request, payload: FeatureIn):
    return Status(201, services.feature_create(actor=request.auth, **payload.model_dump()))


@router.get("/features/{feature_id}", response=responses(FeatureOut), operation_id="planning_feature_get")
@requires(Scope.WORKSPACE_READ)
def feature_get(request, feature_id: PathId):
    return selectors.access_feature(actor=request.auth, id=feature_id)


@router.patch("/features/{feature_id}", response=responses(FeatureOut, 409), operation_id="planning_feature_update")
@requires(Scope.PORTFOLIO_WRITE)
def feature_update(request, feature_id: PathId, payload: FeaturePatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.feature_update(actor=request.auth, feature_id=feature_id, expected_version=version, **data)


# --- prioritisation inputs ------------------------------------------------------------------------


@router.get(
    "/features/{feature_id}/prioritisation",
    response=responses(PrioritisationOut),
    operation_id="planning_prioritisation_get",
)
@requires(Scope.WORKSPACE_READ)
def prioritisation_get(request, feature_id: PathId):
    """Cost of Delay components with rationales, urgency, duration range, CD3 with its range, the
    WSJF/RICE/ICE inputs, and a Cost of Delay suggestion from the evidence (the PM decides)."""
    return prioritisation_out(selectors.prioritisation_get(actor=request.auth, feature_id=feature_id))


@router.put(
    "/features/{feature_id}/prioritisation",
    response=responses(PrioritisationOut, 409),
    operation_id="planning_prioritisation_update",
)
@requires(Scope.PORTFOLIO_WRITE)
def prioritisation_update(request, feature_id: PathId, payload: PrioritisationIn):
    """Set prioritisation inputs. Fields left out keep their value; null clears one. Every invalid
    field is named in ``errors`` (e.g. a zero duration, a fixed-date item without a deadline)."""
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    services.prioritisation_update(actor=request.auth, feature_id=feature_id, expected_version=version, **data)
    return prioritisation_out(selectors.prioritisation_get(actor=request.auth, feature_id=feature_id))


@router.get(
    "/features/{feature_id}/score-history",
    response=responses(ScoreChangePage),
    operation_id="planning_scorechange_list",
)
@requires(Scope.WORKSPACE_READ)
def scorechange_list(request, feature_id: PathId, params: Query[PageParams]):
    return paginate(selectors.score_history(actor=request.auth, feature_id=feature_id), params)


# --- ranking, what-if, sequencing, schedule --------------------------------------------------------


@router.get("/planning/ranking", response=responses(RankingOut), operation_id="planning_ranking_get")
@requires(Scope.WORKSPACE_READ)
def ranking_get(request, params: Query[RankingParams]):
    """Every open feature ranked under a framework: scored ones by rank, then the ones without a
    score with the missing or invalid inputs named. ``framework=formula`` takes ``formula_id`` or
    an expression in ``formula``; a formula error points at the bad token with a caret."""
    view, rows = selectors.ranking_page(
        actor=request.auth,
        framework=params.framework,
        formula_id=params.formula_id,
        expression=params.formula,
        page=params.page,
        page_size=params.page_size,
    )
    return ranking_out(view, rows, params, currency=request.auth.workspace.currency)


@router.post("/planning/ranking/what-if", response=responses(WhatIfOut), operation_id="planning_ranking_whatif")
@requires(Scope.WORKSPACE_READ)
def ranking_whatif(request, payload: WhatIfIn):
    """Re-rank with changed Cost of Delay or durations, without saving anything."""
    overrides = [
        selectors.Override(
            c.feature_id, {k: v for k, v in c.model_dump(exclude_unset=True).items() if k != "feature_id"}
        )
        for c in payload.changes
    ]
    return whatif_out(
        selectors.whatif(actor=request.auth, overrides=overrides, framework=payload.framework),
        currency=request.auth.workspace.currency,
    )


@router.get("/planning/sequence", response=responses(SequenceOut), operation_id="planning_sequence_get")
@requires(Scope.WORKSPACE_READ)
def sequence_get(request, params: Query[PageParams]):
    """Total delay cost of the current backlog order, CD3, value-only, shortest-first and FIFO, and
    what CD3 saves against each (``cd3_saving``)."""
    return sequence_out(selectors.sequence_comparison(actor=request.auth), params)


@router.get("/planning/schedule", response=responses(ScheduleOut), operation_id="planning_schedule_get")
@requires(Scope.WORKSPACE_READ)
def schedule_get(request, params: Query[PageParams]):
    """CD3 scheduling across the teams' capacities: forecast start and end per feature."""
    return schedule_out(selectors.team_schedule(actor=request.auth), params)


# --- forecasts -------------------------------------------------------------------------------------


@router.post("/planning/forecast/when", response=responses(ForecastOut), operation_id="planning_forecast_when")
@requires(Scope.WORKSPACE_READ)
def forecast_when(request, payload: ForecastWhenIn):
    """When will N items be done? A Monte Carlo forecast from weekly throughput (finished delivery
    items, released features, weeks entered by hand, or a ``history`` given here)."""
    source = payload.source if payload.source != "given" else None
    history = payload.history if payload.source == "given" or payload.history is not None else None
    view = selectors.forecast_when(
        actor=request.auth,
        items=payload.items,
        source=source,
        history=history,
        history_weeks=payload.history_weeks,
        trials=payload.trials,
        seed=payload.seed,
    )
    return forecast_out(view)


@router.post("/planning/forecast/how-many", response=responses(ForecastOut), operation_id="planning_forecast_howmany")
@requires(Scope.WORKSPACE_READ)
def forecast_howmany(request, payload: ForecastHowManyIn):
    """How many items by a date (``until``) or in ``weeks`` weeks, at 50/85/95 %."""
    source = payload.source if payload.source != "given" else None
    history = payload.history if payload.source == "given" or payload.history is not None else None
    view = selectors.forecast_how_many(
        actor=request.auth,
        until=payload.until,
        weeks=payload.weeks,
        source=source,
        history=history,
        history_weeks=payload.history_weeks,
        trials=payload.trials,
        seed=payload.seed,
    )
    return forecast_out(view)


# --- backlog ---------------------------------------------------------------------------------------


@router.get("/planning/backlog", response=responses(BacklogPage), operation_id="planning_backlog_list")
@requires(Scope.WORKSPACE_READ)
def backlog_list(request, params: Query[PageParams]):
    """The product owner's backlog: hand-positioned items first, then CD3 order."""
    rows, count = selectors.backlog_page(actor=request.auth, page=params.page, page_size=params.page_size)
    return backlog_out(rows, count, params)


@router.post("/planning/backlog/moves", response=responses({201: BacklogMoveOut}), operation_id="planning_backlog_move")
@requires(Scope.PORTFOLIO_WRITE)
def backlog_move(request, payload: BacklogMoveIn):
    """Move a feature to a position by hand; the reason is required and kept."""
    return Status(201, services.backlog_move(actor=request.auth, **payload.model_dump()))


@router.post(
    "/planning/backlog/reset", response=responses({201: BacklogMoveOut}), operation_id="planning_backlog_reset"
)
@requires(Scope.PORTFOLIO_WRITE)
def backlog_reset(request, payload: BacklogResetIn):
    """Drop every hand position (the backlog follows CD3 order again); a reason is required."""
    return Status(201, services.backlog_reset(actor=request.auth, reason=payload.reason))


# --- formulas --------------------------------------------------------------------------------------


@router.get("/planning/formulas", response=responses(FormulaPage), operation_id="planning_formula_list")
@requires(Scope.WORKSPACE_READ)
def formula_list(request, params: Query[PageParams]):
    return paginate(selectors.formula_list(actor=request.auth), params)


@router.post("/planning/formulas", response=responses({201: FormulaOut}, 409), operation_id="planning_formula_create")
@requires(Scope.PORTFOLIO_WRITE)
def formula_create(request, payload: FormulaIn):
    return Status(201, services.formula_create(actor=request.auth, **payload.model_dump()))


@router.get("/planning/formulas/{formula_id}", response=responses(FormulaOut), operation_id="planning_formula_get")
@requires(Scope.WORKSPACE_READ)
def formula_get(request, formula_id: PathId):
    return selectors.access_formula(actor=request.auth, id=formula_id)


@router.patch(
    "/planning/formulas/{formula_id}", response=responses(FormulaOut, 409), operation_id="planning_formula_update"
)
@requires(Scope.PORTFOLIO_WRITE)
def formula_update(request, formula_id: PathId, payload: FormulaPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.formula_update(actor=request.auth, formula_id=formula_id, expected_version=version, **data)


@router.delete(
    "/planning/formulas/{formula_id}", response=responses({204: None}), operation_id="planning_formula_delete"
)
@requires(Scope.PORTFOLIO_WRITE)
def formula_delete(request, formula_id: PathId):
    services.formula_delete(actor=request.auth, formula_id=formula_id)
    return Status(204, None)


# --- throughput ------------------------------------------------------------------------------------


@router.get("/planning/throughput", response=responses(ThroughputPage), operation_id="planning_throughput_list")
@requires(Scope.WORKSPACE_READ)
def throughput_list(request, params: Query[PageParams]):
    return paginate(selectors.throughput_list(actor=request.auth), params)


@router.post(
    "/planning/throughput", response=responses({201: ThroughputOut}, 409), operation_id="planning_throughput_create"
)
@requires(Scope.PORTFOLIO_WRITE)
def throughput_create(request, payload: ThroughputIn):
    """Items finished in a week, entered by hand (any day of the week names it; stored as Monday)."""
    return Status(201, services.throughput_create(actor=request.auth, **payload.model_dump()))


@router.get(
    "/planning/throughput/{throughput_id}", response=responses(ThroughputOut), operation_id="planning_throughput_get"
)
@requires(Scope.WORKSPACE_READ)
def throughput_get(request, throughput_id: PathId):
    return selectors.access_throughput(actor=request.auth, id=throughput_id)


@router.patch(
    "/planning/throughput/{throughput_id}",
    response=responses(ThroughputOut, 409),
    operation_id="planning_throughput_update",
)
@requires(Scope.PORTFOLIO_WRITE)
def throughput_update(request, throughput_id: PathId, payload: ThroughputPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.throughput_update(actor=request.auth, throughput_id=throughput_id, expected_version=version, **data)


@router.delete(
    "/planning/throughput/{throughput_id}",
    response=responses({204: None}),
    operation_id="planning_throughput_delete",
)
@requires(Scope.PORTFOLIO_WRITE)
def throughput_delete(request, throughput_id: PathId):
    services.throughput_delete(actor=request.auth, throughput_id=throughput_id)
    return Status(204, None)


# --- teams -----------------------------------------------------------------------------------------


@router.get("/planning/teams", response=responses(TeamPage), operation_id="planning_team_list")
@requires(Scope.WORKSPACE_READ)
def team_list(request, params: Query[PageParams]):
    return paginate(selectors.team_list(actor=request.auth), params)


@router.post("/planning/teams", response=responses({201: TeamOut}, 409), operation_id="planning_team_create")
@requires(Scope.PORTFOLIO_WRITE)
def team_create(request, payload: TeamIn):
    return Status(201, services.team_create(actor=request.auth, **payload.model_dump()))


@router.get("/planning/teams/{team_id}", response=responses(TeamOut), operation_id="planning_team_get")
@requires(Scope.WORKSPACE_READ)
def team_get(request, team_id: PathId):
    return selectors.access_team(actor=request.auth, id=team_id)


@router.patch("/planning/teams/{team_id}", response=responses(TeamOut, 409), operation_id="planning_team_update")
@requires(Scope.PORTFOLIO_WRITE)
def team_update(request, team_id: PathId, payload: TeamPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.team_update(actor=request.auth, team_id=team_id, expected_version=version, **data)


@router.delete("/planning/teams/{team_id}", response=responses({204: None}), operation_id="planning_team_delete")
@requires(Scope.PORTFOLIO_WRITE)
def team_delete(request, team_id: PathId):
    services.team_delete(actor=request.auth, team_id=team_id)
    return Status(204, None)


# --- delivery items --------------------------------------------------------------------------------


@router.get(
    "/features/{feature_id}/delivery-items",
    response=responses(DeliveryItemPage),
    operation_id="planning_deliveryitem_list",
)
@requires(Scope.WORKSPACE_READ)
def deliveryitem_list(request, feature_id: PathId, params: Query[PageParams]):
    return paginate(selectors.delivery_item_list(actor=request.auth, feature_id=feature_id), params)


@router.post(
    "/features/{feature_id}/delivery-items",
    response=responses({201: DeliveryItemOut}),
    operation_id="planning_deliveryitem_create",
)
@requires(Scope.PORTFOLIO_WRITE)
def deliveryitem_create(request, feature_id: PathId, payload: DeliveryItemIn):
    """A piece of delivery work under a feature; marking it done stamps ``done_at`` (throughput)."""
    return Status(201, services.delivery_item_create(actor=request.auth, feature_id=feature_id, **payload.model_dump()))


@router.patch(
    "/delivery-items/{delivery_item_id}",
    response=responses(DeliveryItemOut, 409),
    operation_id="planning_deliveryitem_update",
)
@requires(Scope.PORTFOLIO_WRITE)
def deliveryitem_update(request, delivery_item_id: PathId, payload: DeliveryItemPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.delivery_item_update(
        actor=request.auth, delivery_item_id=delivery_item_id, expected_version=version, **data
    )


@router.delete(
    "/delivery-items/{delivery_item_id}",
    response=responses({204: None}),
    operation_id="planning_deliveryitem_delete",
)
@requires(Scope.PORTFOLIO_WRITE)
def deliveryitem_delete(request, delivery_item_id: PathId):
    services.delivery_item_delete(actor=request.auth, delivery_item_id=delivery_item_id)
    return Status(204, None)


# --- Kano, outcome scores, settings ------------------------------------------------------------------


@router.get("/planning/kano", response=responses(KanoPage), operation_id="planning_kano_list")
@requires(Scope.WORKSPACE_READ)
def kano_list(request, params: Query[PageParams]):
    """Kano classification per feature: category counts, the dominant category, better/worse."""
    return kano_out(selectors.kano_results(actor=request.auth), params)


@router.post("/planning/kano/import", response=responses(KanoImportOut), operation_id="planning_kano_import")
@requires(Scope.PORTFOLIO_WRITE)
def kano_import(request, payload: KanoImportIn):
    """Import questionnaire answers (CSV text: feature, respondent, functional, dysfunctional). All
    or nothing: any bad row answers 422 naming every bad row and column."""
    with reading.refusals_name("csv"):
        return services.kano_import(actor=request.auth, data=payload.csv, dry_run=payload.dry_run)


@router.get("/problems/{problem_id}/outcome", response=responses(OutcomeOut), operation_id="planning_outcome_get")
@requires(Scope.WORKSPACE_READ)
def outcome_get(request, problem_id: PathId):
    """Ulwick's opportunity score of a problem from its survey importance and satisfaction."""
    return selectors.outcome_get(actor=request.auth, problem_id=problem_id)


@router.put(
    "/problems/{problem_id}/outcome", response=responses(OutcomeOut, 409), operation_id="planning_outcome_update"
)
@requires(Scope.PORTFOLIO_WRITE)
def outcome_update(request, problem_id: PathId, payload: OutcomeIn):
    data = payload.model_dump()
    version = data.pop("version", None)
    return services.outcome_update(actor=request.auth, problem_id=problem_id, expected_version=version, **data)


@router.get("/planning/settings", response=responses(SettingsOut), operation_id="planning_settings_get")
@requires(Scope.WORKSPACE_READ)
def settings_get(request):
    return selectors.settings_get(actor=request.auth)


@router.put("/planning/settings", response=responses(SettingsOut, 409), operation_id="planning_settings_update")
@requires(Scope.PORTFOLIO_WRITE)
def settings_update(request, payload: SettingsIn):
    data = payload.model_dump(exclude_unset=True, exclude_none=True)
    version = data.pop("version", None)
    return services.settings_update(actor=request.auth, expected_version=version, **data)

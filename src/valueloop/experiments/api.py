"""Experiments API. Literal paths (``/experiments/metrics``, ``/experiments/learnings``, ``/experiments/design``)
come before ``/experiments/{experiment_id}`` so that they are matched first."""

from ninja import Query, Router, Status

from valueloop.core.api_support import PathId, paginate, requires, responses
from valueloop.core.permissions import Scope

from . import design, selectors, services
from .analysis import readout_dict
from .schemas import (
    ExperimentDecideIn,
    ExperimentDecisionResultOut,
    ExperimentDesignIn,
    ExperimentDesignOut,
    ExperimentIn,
    ExperimentLearningListParams,
    ExperimentLearningOut,
    ExperimentLearningPage,
    ExperimentListParams,
    ExperimentMetricDefIn,
    ExperimentMetricDefOut,
    ExperimentMetricDefPage,
    ExperimentMetricDefPatch,
    ExperimentMetricListParams,
    ExperimentOut,
    ExperimentPage,
    ExperimentPatch,
    ExperimentResultsOut,
    ExperimentStopIn,
    ExperimentVersionIn,
)

router = Router(tags=["experiments"])


def _experiment_data(payload) -> dict:
    data = payload.model_dump(exclude_unset=True)
    if "variations" in data and data["variations"] is not None:
        data["variations"] = [{"name": v["name"], "value": v["value"]} for v in data["variations"]]
    return data


# --- metric definitions -------------------------------------------------------------------------------------------


@router.get("/experiments/metrics", response=responses(ExperimentMetricDefPage), operation_id="experiments_metric_list")
@requires(Scope.WORKSPACE_READ)
def metric_list(request, params: Query[ExperimentMetricListParams]):
    return paginate(selectors.metric_list(actor=request.auth, search=params.search, archived=params.archived), params)


@router.post(
    "/experiments/metrics", response=responses({201: ExperimentMetricDefOut}), operation_id="experiments_metric_create"
)
@requires(Scope.PORTFOLIO_WRITE)
def metric_create(request, payload: ExperimentMetricDefIn):
    return Status(201, services.metric_create(actor=request.auth, **payload.model_dump()))


@router.get(
    "/experiments/metrics/{metric_id}",
    response=responses(ExperimentMetricDefOut),
    operation_id="experiments_metric_get",
)
@requires(Scope.WORKSPACE_READ)
def metric_get(request, metric_id: PathId):
    return selectors.access_metric(actor=request.auth, id=metric_id)


@router.patch(
    "/experiments/metrics/{metric_id}",
    response=responses(ExperimentMetricDefOut, 409),
    operation_id="experiments_metric_update",
)
@requires(Scope.PORTFOLIO_WRITE)
def metric_update(request, metric_id: PathId, payload: ExperimentMetricDefPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.metric_update(actor=request.auth, metric_id=metric_id, expected_version=version, **data)


@router.delete(
    "/experiments/metrics/{metric_id}", response=responses({204: None}, 409), operation_id="experiments_metric_delete"
)
@requires(Scope.PORTFOLIO_WRITE)
def metric_delete(request, metric_id: PathId):
    services.metric_delete(actor=request.auth, metric_id=metric_id)
    return Status(204, None)


# --- learnings and design -----------------------------------------------------------------------------------------


@router.get(
    "/experiments/learnings", response=responses(ExperimentLearningPage), operation_id="experiments_learning_list"
)
@requires(Scope.WORKSPACE_READ)
def learning_list(request, params: Query[ExperimentLearningListParams]):
    query = selectors.learning_list(
        actor=request.auth,
        search=params.search,
        feature_id=params.feature_id,
        problem_id=params.problem_id,
        outcome=params.outcome or "",
    )
    return paginate(query, params)


@router.get(
    "/experiments/learnings/{learning_id}",
    response=responses(ExperimentLearningOut),
    operation_id="experiments_learning_get",
)
@requires(Scope.WORKSPACE_READ)
def learning_get(request, learning_id: PathId):
    return selectors.access_learning(actor=request.auth, id=learning_id)


@router.post(
    "/experiments/design", response=responses(ExperimentDesignOut), operation_id="experiments_design_calculate"
)
@requires(Scope.WORKSPACE_READ)
def design_calculate(request, payload: ExperimentDesignIn):
    """Power analysis: units per variation, expected duration and the effect reachable in the planned duration."""
    data = payload.model_dump()
    data["weights"] = tuple(data["weights"])
    return design.calculate(design.DesignInput(**data)).as_dict()


# --- experiments --------------------------------------------------------------------------------------------------


@router.get("/experiments", response=responses(ExperimentPage), operation_id="experiments_experiment_list")
@requires(Scope.WORKSPACE_READ)
def experiment_list(request, params: Query[ExperimentListParams]):
    query = selectors.experiment_list(
        actor=request.auth, status=params.status or "", search=params.search, feature_id=params.feature_id
    )
    return paginate(query, params)


@router.post("/experiments", response=responses({201: ExperimentOut}), operation_id="experiments_experiment_create")
@requires(Scope.PORTFOLIO_WRITE)
def experiment_create(request, payload: ExperimentIn):
    experiment = services.experiment_create(actor=request.auth, **_experiment_data(payload))
    return Status(201, selectors.experiment_detail(actor=request.auth, id=experiment.pk))


@router.get(
    "/experiments/{experiment_id}", response=responses(ExperimentOut), operation_id="experiments_experiment_get"
)
@requires(Scope.WORKSPACE_READ)
def experiment_get(request, experiment_id: PathId):
    return selectors.experiment_detail(actor=request.auth, id=experiment_id)


@router.patch(
    "/experiments/{experiment_id}",
    response=responses(ExperimentOut, 409),
    operation_id="experiments_experiment_update",
)
@requires(Scope.PORTFOLIO_WRITE)
def experiment_update(request, experiment_id: PathId, payload: ExperimentPatch):
    data = _experiment_data(payload)
    version = data.pop("version", None)
    services.experiment_update(actor=request.auth, experiment_id=experiment_id, expected_version=version, **data)
    return selectors.experiment_detail(actor=request.auth, id=experiment_id)


@router.delete(
    "/experiments/{experiment_id}",
    response=responses({204: None}, 409),
    operation_id="experiments_experiment_delete",
)
@requires(Scope.PORTFOLIO_WRITE)
def experiment_delete(request, experiment_id: PathId):
    services.experiment_delete(actor=request.auth, experiment_id=experiment_id)
    return Status(204, None)


@router.post(
    "/experiments/{experiment_id}/start",
    response=responses(ExperimentOut, 409),
    operation_id="experiments_experiment_start",
)
@requires(Scope.PORTFOLIO_WRITE)
def experiment_start(request, experiment_id: PathId, payload: ExperimentVersionIn):
    services.experiment_start(actor=request.auth, experiment_id=experiment_id, expected_version=payload.version)
    return selectors.experiment_detail(actor=request.auth, id=experiment_id)


@router.post(
    "/experiments/{experiment_id}/stop",
    response=responses(ExperimentOut, 409),
    operation_id="experiments_experiment_stop",
)
@requires(Scope.PORTFOLIO_WRITE)
def experiment_stop(request, experiment_id: PathId, payload: ExperimentStopIn):
    services.experiment_stop(
        actor=request.auth, experiment_id=experiment_id, expected_version=payload.version, end_rule=payload.end_rule
    )
    return selectors.experiment_detail(actor=request.auth, id=experiment_id)


@router.post(
    "/experiments/{experiment_id}/decide",
    response=responses({201: ExperimentDecisionResultOut}, 409),
    operation_id="experiments_experiment_decide",
)
@requires(Scope.PORTFOLIO_WRITE)
def experiment_decide(request, experiment_id: PathId, payload: ExperimentDecideIn):
    data = payload.model_dump()
    version = data.pop("version", None)
    decision = services.experiment_decide(
        actor=request.auth, experiment_id=experiment_id, expected_version=version, **data
    )
    experiment = selectors.experiment_detail(actor=request.auth, id=experiment_id)
    return Status(201, {"experiment": experiment, "decision": decision, "learning_id": decision.learning.pk})


@router.get(
    "/experiments/{experiment_id}/results",
    response=responses(ExperimentResultsOut),
    operation_id="experiments_results_get",
)
@requires(Scope.WORKSPACE_READ)
def results_get(request, experiment_id: PathId):
    """The analysis as data: per metric and variation the means and effects with intervals, p-values (or chances
    to win), the SRM check, guardrail warnings and the primary metric's cumulative effect per day. Each effect's
    intervals, p-value and verdict come from one test; under a correction the intervals are drawn at the effect's
    ``interval_alpha`` so that they exclude 0 exactly when the adjusted p-value is below alpha."""
    experiment, readout = selectors.experiment_results(actor=request.auth, id=experiment_id)
    base = {"experiment_id": experiment.pk, "key": experiment.key, "status": experiment.status}
    if readout is None:
        return {
            **base,
            "has_data": False,
            "message": "No exposures yet: the flag's SDKs report them once the experiment runs, or upload them.",
            "method": experiment.method,
            "alpha": experiment.alpha,
            "correction": experiment.correction,
            "variations": experiment.variation_names,
            "weights": experiment.weights,
            "units": [0] * len(experiment.variations),
            "multiple_exposures": 0,
            "unknown_variation_exposures": 0,
            "first_exposure": None,
            "last_exposure": None,
            "srm": None,
            "guardrail_warnings": [],
            "notes": [],
            "metrics": [],
            "series": [],
        }
    return {**base, "has_data": True, "message": "", **readout_dict(readout)}

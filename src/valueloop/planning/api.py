from ninja import Query, Router, Status

from valueloop.core.api_support import BodyId, PageParams, PathId, paginate, requires, responses
from valueloop.core.permissions import Scope

from . import selectors, services
from .schemas import FeatureIn, FeatureOut, FeaturePage, FeaturePatch, FeatureStatus

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

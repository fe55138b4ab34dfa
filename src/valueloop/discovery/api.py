from ninja import Query, Router, Status

from valueloop.core.api_support import BodyId, PageParams, PathId, paginate, requires, responses
from valueloop.core.permissions import Scope

from . import selectors, services
from .schemas import ProblemIn, ProblemOut, ProblemPage, ProblemPatch, ProblemStatus

router = Router(tags=["discovery"])


class ProblemListParams(PageParams):
    search: str = ""
    status: ProblemStatus | None = None
    product_id: BodyId | None = None


@router.get("/problems", response=responses(ProblemPage), operation_id="discovery_problem_list")
@requires(Scope.WORKSPACE_READ)
def problem_list(request, params: Query[ProblemListParams]):
    query = selectors.problem_list(
        actor=request.auth, search=params.search, status=params.status or "", product_id=params.product_id
    )
    return paginate(query, params)


@router.post("/problems", response=responses({201: ProblemOut}), operation_id="discovery_problem_create")
@requires(Scope.PORTFOLIO_WRITE)
def problem_create(request, payload: ProblemIn):
    return Status(201, services.problem_create(actor=request.auth, **payload.model_dump()))


@router.get("/problems/{problem_id}", response=responses(ProblemOut), operation_id="discovery_problem_get")
@requires(Scope.WORKSPACE_READ)
def problem_get(request, problem_id: PathId):
    return selectors.access_problem(actor=request.auth, id=problem_id)


@router.patch("/problems/{problem_id}", response=responses(ProblemOut, 409), operation_id="discovery_problem_update")
@requires(Scope.PORTFOLIO_WRITE)
def problem_update(request, problem_id: PathId, payload: ProblemPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.problem_update(actor=request.auth, problem_id=problem_id, expected_version=version, **data)

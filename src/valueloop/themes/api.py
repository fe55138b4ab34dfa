from ninja import Query, Router, Status

from valueloop.core.api_support import PageParams, PathId, paginate, requires, responses
from valueloop.core.permissions import Scope

from . import selectors, services
from .schemas import (
    DigestOut,
    EmergingPage,
    ItemMoveIn,
    ItemOut,
    ItemPage,
    ProblemLinkOut,
    RunPage,
    RunQueuedOut,
    SplitPreviewOut,
    ThemeCreateIn,
    ThemeDetailOut,
    ThemeItemParams,
    ThemeListParams,
    ThemeMergeIn,
    ThemeOut,
    ThemePage,
    ThemePatch,
    ThemeProblemIn,
    ThemeSplitIn,
    ThemeSplitOut,
)

router = Router(tags=["themes"])
WRITE = services.WRITE_SCOPE


@router.get("/themes", response=responses(ThemePage), operation_id="themes_theme_list")
@requires(Scope.WORKSPACE_READ)
def theme_list(request, params: Query[ThemeListParams]):
    rows = selectors.theme_page_payload(actor=request.auth, q=params.q, status=params.status, sort=params.sort)
    return paginate(rows, params)


@router.post("/themes", response=responses({201: ThemeOut}), operation_id="themes_theme_create")
@requires(WRITE)
def theme_create(request, payload: ThemeCreateIn):
    theme = services.theme_create(actor=request.auth, name=payload.name, item_ids=payload.item_ids)
    return Status(201, selectors.theme_summary_payload(actor=request.auth, theme=theme))


@router.get("/themes/emerging", response=responses(EmergingPage), operation_id="themes_emerging_list")
@requires(Scope.WORKSPACE_READ)
def emerging_list(request, params: Query[PageParams]):
    return paginate(selectors.emerging_payload(actor=request.auth), params)


@router.get("/themes/digest", response=responses(DigestOut), operation_id="themes_digest_get")
@requires(Scope.WORKSPACE_READ)
def digest_get(request):
    return selectors.digest_preview(actor=request.auth)


@router.get("/themes/runs", response=responses(RunPage), operation_id="themes_run_list")
@requires(Scope.WORKSPACE_READ)
def run_list(request, params: Query[PageParams]):
    return paginate(selectors.runs_query(actor=request.auth), params)


@router.post(
    "/themes/runs",
    response=responses({202: RunQueuedOut}, 409),
    operation_id="themes_run_create",
    description="Queue a re-clustering of every item (it also runs daily by itself). 409 while one is running.",
)
@requires(WRITE)
def run_create(request):
    services.recluster_request(actor=request.auth)
    return Status(202, {"queued": True, "message": "Re-clustering queued; the themes update when it finishes."})


@router.post("/themes/items/{item_id}/move", response=responses(ItemOut), operation_id="themes_item_move")
@requires(WRITE)
def item_move(request, item_id: PathId, payload: ItemMoveIn):
    assignment = services.item_move(actor=request.auth, item_id=item_id, theme_id=payload.theme_id)
    return selectors.item_payload(request.auth, assignment)


@router.get("/themes/{theme_id}", response=responses(ThemeDetailOut), operation_id="themes_theme_get")
@requires(Scope.WORKSPACE_READ)
def theme_get(request, theme_id: PathId):
    return selectors.theme_detail_payload(actor=request.auth, theme_id=theme_id)


@router.patch("/themes/{theme_id}", response=responses(ThemeOut, 409), operation_id="themes_theme_update")
@requires(WRITE)
def theme_update(request, theme_id: PathId, payload: ThemePatch):
    data = payload.model_dump(exclude_unset=True)
    theme = services.theme_update(
        actor=request.auth,
        theme_id=theme_id,
        expected_version=data.get("version"),
        name=data.get("name"),
        pinned=data.get("pinned"),
    )
    return selectors.theme_summary_payload(actor=request.auth, theme=theme)


@router.post("/themes/{theme_id}/merge", response=responses(ThemeOut, 409), operation_id="themes_theme_merge")
@requires(WRITE)
def theme_merge(request, theme_id: PathId, payload: ThemeMergeIn):
    target = services.theme_merge(
        actor=request.auth, theme_id=theme_id, into_id=payload.into_id, expected_version=payload.version
    )
    return selectors.theme_summary_payload(actor=request.auth, theme=target)


@router.get("/themes/{theme_id}/split", response=responses(SplitPreviewOut), operation_id="themes_split_get")
@requires(WRITE)
def split_get(request, theme_id: PathId):
    preview = services.theme_split_preview(actor=request.auth, theme_id=theme_id)
    return selectors.split_payload(preview)


@router.post("/themes/{theme_id}/split", response=responses(ThemeSplitOut, 409), operation_id="themes_split_create")
@requires(WRITE)
def split_create(request, theme_id: PathId, payload: ThemeSplitIn):
    theme, new = services.theme_split(
        actor=request.auth, theme_id=theme_id, token=payload.token, expected_version=payload.version
    )
    return {
        "theme": selectors.theme_summary_payload(actor=request.auth, theme=theme),
        "new_theme": selectors.theme_summary_payload(actor=request.auth, theme=new),
    }


@router.get("/themes/{theme_id}/items", response=responses(ItemPage), operation_id="themes_item_list")
@requires(Scope.WORKSPACE_READ)
def item_list(request, theme_id: PathId, params: Query[ThemeItemParams]):
    theme = selectors.access_theme(actor=request.auth, id=theme_id)
    page = paginate(selectors.theme_items(actor=request.auth, theme=theme, q=params.q), params)
    page["items"] = [selectors.item_payload(request.auth, a) for a in page["items"]]
    return page


@router.post(
    "/themes/{theme_id}/problem",
    response=responses({201: ProblemLinkOut, 200: ProblemLinkOut}, 409),
    operation_id="themes_problem_create",
    description=(
        "Turn the theme into a problem (opportunity) whose evidence is every item of the theme, all or "
        "nothing; or, with `problem_id`, link the theme and its items to an existing problem."
    ),
)
@requires(WRITE)
def problem_create(request, theme_id: PathId, payload: ThemeProblemIn):
    if payload.problem_id:
        link = services.theme_link_problem(actor=request.auth, theme_id=theme_id, problem_id=payload.problem_id)
    else:
        link = services.theme_create_problem(actor=request.auth, theme_id=theme_id, title=payload.title)
    body = {
        "problem_id": link.problem.pk,
        "created": link.created,
        "linked": link.linked,
        "already": link.already,
        "not_linked": link.not_linked,
    }
    return Status(201 if link.created else 200, body)

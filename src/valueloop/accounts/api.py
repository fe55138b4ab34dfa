from ninja import Query, Router, Status

from valueloop.core.api_support import PageParams, PathId, paginate, requires, responses
from valueloop.core.permissions import ROLE_SCOPES

from . import selectors, services
from .schemas import MeOut, TokenCreated, TokenIn, TokenOut, TokenPage

router = Router(tags=["account"])


@router.get("/me", response=responses(MeOut), operation_id="accounts_me_get")
@requires(None)
def me(request):
    actor = request.auth
    user = actor.user
    return {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "handle": user.handle,
        "workspace": actor.workspace,
        "role": actor.role.value,
        "scopes": sorted(s.value for s in ROLE_SCOPES[actor.role]),
        "via": actor.via,
    }


@router.get("/tokens", response=responses(TokenPage), operation_id="accounts_token_list")
@requires(None)
def token_list(request, params: Query[PageParams]):
    return paginate(selectors.token_list(actor=request.auth), params)


@router.post("/tokens", response=responses({201: TokenCreated}), operation_id="accounts_token_create")
@requires(None)
def token_create(request, payload: TokenIn):
    token, secret = services.token_create(actor=request.auth, **payload.model_dump())
    token.token = secret
    return Status(201, token)


@router.delete("/tokens/{token_id}", response=responses(TokenOut), operation_id="accounts_token_revoke")
@requires(None)
def token_revoke(request, token_id: PathId):
    return services.token_revoke(actor=request.auth, token_id=token_id)

from tests.conftest import token_client
from valueloop.core.permissions import Role


def test_me__token_acts_in_its_workspace(world):
    client = token_client(world.actor(Role.PRODUCT_OWNER))
    response = client.get("/api/v1/me")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["workspace"]["slug"] == world.ws_a.slug
    assert body["role"] == "product_owner"
    assert "portfolio.write" in body["scopes"]

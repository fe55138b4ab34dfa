"""Sign-in throttling: strangers cannot lock an owner out, stuffing from one address is slowed.

Time passes by ageing the failure rows (``_age``), so no test sleeps.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.test import Client, RequestFactory
from django.utils import timezone

from valueloop.accounts.devices import COOKIE_NAME
from valueloop.accounts.models import FailedLogin
from valueloop.accounts.services import login_attempt
from valueloop.core.errors import Invalid, Throttled

LOGIN = "/accounts/login/"
OWNER = {"email": "admin@a.test", "password": "pw-admin-123456"}
WRONG = {"email": "admin@a.test", "password": "not-the-password"}
ATTACKER_ADDRESS = "203.0.113.9"
OWNER_ADDRESS = "198.51.100.7"
PROXY = "10.0.0.5"


def _age(seconds: float) -> None:
    """Let ``seconds`` pass for every failure recorded so far."""
    FailedLogin.objects.update(at=F("at") - dt.timedelta(seconds=seconds))


def _hammer(client: Client, times: int = 12, body: dict | None = None) -> list[int]:
    return [client.post(LOGIN, body or WRONG).status_code for _ in range(times)]


def test_login__attacker_at_one_address_does_not_lock_the_owner_out(world):
    attacker = Client(REMOTE_ADDR=ATTACKER_ADDRESS)
    statuses = _hammer(attacker)
    assert statuses[:5] == [400] * 5 and 429 in statuses
    # the attacker's address is slowed, even with the right password
    assert attacker.post(LOGIN, OWNER).status_code == 429

    owner = Client(REMOTE_ADDR=OWNER_ADDRESS)
    assert owner.post(LOGIN, OWNER).status_code == 302
    assert owner.get(f"/w/{world.ws_a.slug}/").status_code == 200  # signed in


def test_login__known_device_signs_in_from_the_attackers_address(world):
    owner = Client(REMOTE_ADDR=ATTACKER_ADDRESS)  # same address, e.g. one office NAT
    assert owner.post(LOGIN, OWNER).status_code == 302
    assert owner.cookies[COOKIE_NAME]["httponly"]
    owner.post("/accounts/logout/")

    attacker = Client(REMOTE_ADDR=ATTACKER_ADDRESS)
    assert 429 in _hammer(attacker)
    assert attacker.post(LOGIN, OWNER).status_code == 429
    assert owner.post(LOGIN, OWNER).status_code == 302


def test_login__known_device_is_throttled_by_its_own_failures_and_only_for_its_accounts(world):
    device = Client(REMOTE_ADDR=OWNER_ADDRESS)
    assert device.post(LOGIN, OWNER).status_code == 302
    device.post("/accounts/logout/")
    # the cookie vouches for admin@a.test only: B's owner is not helped by it after an attack on B
    b_owner = {"email": "admin@b.test", "password": "pw-admin-b-123456"}
    assert 429 in _hammer(Client(REMOTE_ADDR=OWNER_ADDRESS), body={**b_owner, "password": "wrong"})
    assert device.post(LOGIN, b_owner).status_code == 429
    # the device's own failures slow it like any other key
    assert _hammer(device, times=6) == [400] * 5 + [429]
    response = device.post(LOGIN, OWNER)
    assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 900


def test_login__forged_device_cookie_is_ignored(world):
    attacker = Client(REMOTE_ADDR=ATTACKER_ADDRESS)
    attacker.cookies[COOKIE_NAME] = "eyJkIjoiZmFrZSIsInUiOlsxXX0:1abcde:forged-signature"
    assert 429 in _hammer(attacker)
    assert attacker.post(LOGIN, OWNER).status_code == 429


def test_login_attempt__back_off_doubles_after_the_free_failures_and_is_capped(world, settings):
    request = RequestFactory().post(LOGIN, REMOTE_ADDR=ATTACKER_ADDRESS)
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        with pytest.raises(Invalid):
            login_attempt(request=request, **WRONG)
    waits = []
    for _ in range(5):
        with pytest.raises(Throttled) as throttled:
            login_attempt(request=request, **OWNER)  # refused before the password is checked
        waits.append(throttled.value.retry_after)
        _age(throttled.value.retry_after)
        with pytest.raises(Invalid):
            login_attempt(request=request, **WRONG)
    assert waits == [2, 4, 8, 16, 32]
    assert "Try again in 64 seconds" in _throttled_message(request)

    FailedLogin.objects.bulk_create([FailedLogin(email="admin@a.test", ip=ATTACKER_ADDRESS) for _ in range(40)])
    with pytest.raises(Throttled) as throttled:
        login_attempt(request=request, **OWNER)
    assert throttled.value.retry_after == settings.LOGIN_BACKOFF_MAX_SECONDS
    assert "Try again in 15 minutes" in throttled.value.message


def _throttled_message(request) -> str:
    with pytest.raises(Throttled) as throttled:
        login_attempt(request=request, **OWNER)
    return throttled.value.message


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded_for"),
    [
        # no proxy: the header is the client's own invention, changing it each time changes nothing
        (0, ATTACKER_ADDRESS, lambda i: f"192.0.2.{i}"),
        # one proxy that appends the address it saw: the attacker's claim to be the owner is ignored
        (1, PROXY, lambda i: f"{OWNER_ADDRESS}, {ATTACKER_ADDRESS}"),
    ],
)
def test_login__stuffing_from_one_address_is_slowed_and_spares_the_others(
    world, settings, proxies, remote, forwarded_for
):
    settings.VALUELOOP_TRUSTED_PROXIES = proxies
    statuses = [
        Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded_for(i))
        .post(LOGIN, {"email": f"person{i}@a.test", "password": "Summer2024!"})
        .status_code
        for i in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT + 1)
    ]
    assert statuses == [400] * settings.LOGIN_ADDRESS_FAILURE_LIMIT + [429]
    assert Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded_for(99)).post(LOGIN, OWNER).status_code == 429

    owner_via = (
        {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": OWNER_ADDRESS} if proxies else {"REMOTE_ADDR": OWNER_ADDRESS}
    )
    assert Client(**owner_via).post(LOGIN, OWNER).status_code == 302


def test_login__ipv6_addresses_of_one_network_count_together(world, settings):
    for i in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        client = Client(REMOTE_ADDR=f"2001:db8:1:2::{i + 1:x}")
        assert client.post(LOGIN, {"email": f"v6-{i}@a.test", "password": "wrong"}).status_code == 400
    same_network = Client(REMOTE_ADDR="2001:db8:1:2:ffff::1")
    assert same_network.post(LOGIN, {"email": "v6-new@a.test", "password": "wrong"}).status_code == 429
    next_network = Client(REMOTE_ADDR="2001:db8:1:3::1")
    assert next_network.post(LOGIN, {"email": "v6-new@a.test", "password": "wrong"}).status_code == 400


def test_login__attack_from_many_addresses_only_slows_new_devices(world, settings):
    device = Client(REMOTE_ADDR=OWNER_ADDRESS)
    assert device.post(LOGIN, OWNER).status_code == 302
    device.post("/accounts/logout/")

    statuses = [
        Client(REMOTE_ADDR=f"203.0.113.{i + 1}").post(LOGIN, WRONG).status_code
        for i in range(settings.LOGIN_ACCOUNT_FAILURE_LIMIT)
    ]
    assert statuses == [400] * settings.LOGIN_ACCOUNT_FAILURE_LIMIT
    newcomer = Client(REMOTE_ADDR="192.0.2.200")
    response = newcomer.post(LOGIN, OWNER)
    assert response.status_code == 429
    assert int(response["Retry-After"]) <= settings.LOGIN_ACCOUNT_BACKOFF_MAX_SECONDS
    # the known device is not slowed at all
    assert device.post(LOGIN, OWNER).status_code == 302

    _age(settings.LOGIN_ACCOUNT_BACKOFF_MAX_SECONDS)
    assert newcomer.post(LOGIN, OWNER).status_code == 302


def test_login__answers_do_not_reveal_whether_the_email_exists(world, monkeypatch):
    # The clock stands still: on a loaded machine seven posts can outlast a back-off step, and the two runs
    # would then be compared at different moments of their back-off rather than for what they reveal.
    instant = timezone.now()
    monkeypatch.setattr("valueloop.accounts.services.timezone.now", lambda: instant)

    def answers(email: str, address: str) -> list[tuple[int, str]]:
        client = Client(REMOTE_ADDR=address)
        out = []
        for _ in range(7):
            response = client.post(LOGIN, {"email": email, "password": "wrong"})
            out.append((response.status_code, response.context["form"].refusal))
        return out

    assert answers("admin@a.test", "192.0.2.10") == answers("nobody@a.test", "192.0.2.11")


def test_login__old_failures_are_deleted(world, settings):
    stale = timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)
    FailedLogin.objects.create(email="gone@a.test", ip="192.0.2.1", at=stale)
    assert Client(REMOTE_ADDR=ATTACKER_ADDRESS).post(LOGIN, WRONG).status_code == 400
    assert list(FailedLogin.objects.values_list("email", flat=True)) == ["admin@a.test"]


def test_login__missing_fields_are_named_and_not_counted(world):
    response = Client().post(LOGIN, {"email": "", "password": ""})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "email": ["Enter your email."],
        "password": ["Enter your password."],
    }
    assert not FailedLogin.objects.exists()

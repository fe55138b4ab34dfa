"""core.http.client_address: X-Forwarded-For is believed only through the configured proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from valueloop.core.http import client_address

PROXY = "10.0.0.5"


def _request(forwarded_for: str | None = None, remote: str = PROXY):
    extra = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


def test_client_address__ignores_forwarded_for_without_trusted_proxies(settings):
    settings.VALUELOOP_TRUSTED_PROXIES = 0
    assert client_address(_request("198.51.100.7", remote="203.0.113.9")) == "203.0.113.9"


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (1, "198.51.100.7", "198.51.100.7"),  # client -> proxy -> us
        (1, "192.0.2.1, 198.51.100.7", "198.51.100.7"),  # the client wrote 192.0.2.1 itself: ignored
        (2, "198.51.100.7, 10.0.0.4", "198.51.100.7"),  # client -> edge proxy -> inner proxy -> us
        (2, "192.0.2.1, 198.51.100.7, 10.0.0.4", "198.51.100.7"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address__counts_trusted_proxies_from_the_right(settings, proxies, forwarded_for, expected):
    settings.VALUELOOP_TRUSTED_PROXIES = proxies
    assert client_address(_request(forwarded_for)) == expected


@pytest.mark.parametrize("forwarded_for", [None, "", "198.51.100.7", "not-an-address, 10.0.0.4"])
def test_client_address__falls_back_to_the_peer_when_the_chain_is_short_or_bad(settings, forwarded_for):
    settings.VALUELOOP_TRUSTED_PROXIES = 2
    assert client_address(_request(forwarded_for)) == PROXY

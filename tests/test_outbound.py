"""The outbound-connection guard (core/outbound.py): which targets it refuses, in every spelling, and that a
refused target is never connected to while an allowed one is dialled at the address that was checked.

Offline: names resolve through the settings-wired StaticResolver; the HTTP tests talk to a real listener on
127.0.0.1 (allowed or not through OUTBOUND_ALLOW, as an operator would configure it).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ImproperlyConfigured

from valueloop.core import outbound
from valueloop.core.outbound import OutboundFailed, OutboundRefused


def resolve_with(settings, hosts: dict[str, list[str]]) -> None:
    settings.OUTBOUND_RESOLVER = {"BACKEND": "valueloop.core.outbound.StaticResolver", "OPTIONS": {"hosts": hosts}}


@pytest.mark.parametrize(
    "host, reason",
    [
        ("127.0.0.1", "loopback"),
        ("[::1]", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("[::ffff:7f00:1]", "loopback"),
        ("2130706433", "loopback"),
        ("0x7f000001", "loopback"),
        ("0177.0.0.1", "loopback"),
        ("127.1", "loopback"),
        ("0x7f.1", "loopback"),
        ("127.0.0.1.", "loopback"),
        ("169.254.169.254", "cloud metadata"),
        ("2852039166", "cloud metadata"),  # 169.254.169.254 as one number
        ("[fd00:ec2::254]", "cloud metadata"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 carrying 169.254.169.254
        ("0.0.0.0", "unspecified"),
        ("0", "unspecified"),
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "not publicly routable"),
        ("2002:7f00:1::", "loopback"),  # 6to4 carrying 127.0.0.1
        ("240.0.0.1", "private"),
    ],
)
def test_check_target__refuses_internal_addresses_in_every_spelling(host, reason):
    with pytest.raises(OutboundRefused) as caught:
        outbound.check_target(host, 5432)
    assert caught.value.reason == reason
    assert caught.value.status == 422 and "host" in caught.value.fields


def test_check_target__a_name_resolving_to_loopback_is_refused_without_naming_the_address(settings):
    resolve_with(settings, {"sneaky.example": ["127.0.0.1"], "mixed.example": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(OutboundRefused) as caught:
        outbound.check_target("sneaky.example", 5432, field="url")
    assert caught.value.reason == "loopback" and "url" in caught.value.fields
    assert "sneaky.example" in caught.value.message and "127.0.0.1" not in caught.value.message
    # One internal address among public ones is enough to refuse the name.
    with pytest.raises(OutboundRefused) as caught:
        outbound.check_target("Mixed.Example.", 443)
    assert caught.value.reason == "private"


def test_check_target__public_targets_resolve_once_to_checked_addresses(settings):
    resolve_with(settings, {"api.example": ["93.184.215.14", "::ffff:93.184.215.15", "93.184.215.14"]})
    target = outbound.check_target("API.example", 443)
    assert target == outbound.Target("api.example", 443, ("93.184.215.14", "93.184.215.15"), is_name=True)
    assert outbound.check_target("[2606:4700::1]", 443).addresses == ("2606:4700::1",)


def test_check_target__the_operator_allows_listed_networks_and_names(settings):
    settings.OUTBOUND_ALLOW = ["10.20.0.0/16", "warehouse.internal", "127.0.0.1", "[fd12::/64]"]
    resolve_with(settings, {"warehouse.internal": ["10.99.0.5"], "other.internal": ["10.99.0.6"]})
    assert outbound.check_target("10.20.3.4", 5432).addresses == ("10.20.3.4",)
    assert outbound.check_target("warehouse.internal", 5432).addresses == ("10.99.0.5",)
    assert outbound.check_target("2130706433", 5432).addresses == ("127.0.0.1",)
    assert outbound.check_target("::ffff:127.0.0.1", 5432).addresses == ("127.0.0.1",)
    assert outbound.check_target("fd12::9", 5432).addresses == ("fd12::9",)
    for refused in ("10.21.0.1", "other.internal", "127.0.0.2", "::1"):
        with pytest.raises(OutboundRefused):
            outbound.check_target(refused, 5432)


def test_check_target__metadata_and_unspecified_are_refused_even_when_listed(settings):
    settings.OUTBOUND_ALLOW = ["0.0.0.0/0", "::/0", "169.254.169.254"]
    assert outbound.check_target("10.0.0.1", 5432).addresses == ("10.0.0.1",)
    for host in ("169.254.169.254", "[fd00:ec2::254]", "0.0.0.0", "::"):
        with pytest.raises(OutboundRefused) as caught:
            outbound.check_target(host, 80)
        assert "never" in caught.value.message


@pytest.mark.parametrize(
    "host, reason",
    [
        ("256.1.1.1", "malformed"),
        ("1.2.3.4.5", "malformed"),
        ("08.0.0.1", "malformed"),
        ("host name", "malformed"),
        ("", "malformed"),
        ("-bad-.example", "malformed"),
        ("nowhere.example", "unresolvable"),
    ],
)
def test_check_target__malformed_and_unresolvable_hosts_are_refused(host, reason):
    with pytest.raises(OutboundRefused) as caught:
        outbound.check_target(host, 443)
    assert caught.value.reason == reason


@pytest.mark.parametrize("port", [0, 65536, -1, True, "5432"])
def test_check_target__port_out_of_range_is_refused(port):
    with pytest.raises(OutboundRefused) as caught:
        outbound.check_target("93.184.215.14", port)
    assert caught.value.reason == "port"


@pytest.mark.parametrize("entry", ["not a host", "10.0.0.0/33", "300.1.1.1"])
def test_parse_allow__a_bad_entry_names_itself(settings, entry):
    settings.OUTBOUND_ALLOW = ["10.0.0.0/8", entry]
    with pytest.raises(ImproperlyConfigured, match="VALUELOOP_OUTBOUND_ALLOW"):
        outbound.allow_list()
    (error,) = outbound.check_settings()
    assert error.id == "valueloop.E001" and entry in error.msg


def test_libpq_address__pins_every_checked_address_and_keeps_the_name():
    target = outbound.Target("pg.example", 6432, ("93.184.215.14", "2606:4700::1"), is_name=True)
    assert outbound.libpq_address(target) == {
        "host": "pg.example,pg.example",
        "hostaddr": "93.184.215.14,2606:4700::1",
        "port": "6432",
    }


# --- HTTP against a real listener ---------------------------------------------------------------------------------


@dataclass
class Listener:
    port: int
    connections: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)


@pytest.fixture
def listener() -> Iterator[Listener]:
    state = Listener(port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            state.requests.append((self.path, self.headers.get("Host", "")))
            if self.path.startswith("/redirect/"):
                self.send_response(302)
                self.send_header("Location", self.path.removeprefix("/redirect/"))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b"x" * 100_000 if self.path == "/big" else b"hello"
            self.send_response(200)
            if self.path != "/big":  # the big body comes without a declared length (chunked-style streaming)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(http.server.ThreadingHTTPServer):
        def verify_request(self, request, client_address):
            state.connections += 1
            return True

    server = Server(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_http_request__a_refused_target_is_never_connected_to(settings, listener):
    resolve_with(settings, {"listener.example": ["127.0.0.1"]})
    for host in ("127.0.0.1", "listener.example", "2130706433", "[::ffff:127.0.0.1]", "0x7f.1"):
        with pytest.raises(OutboundRefused) as caught:
            outbound.http_request("GET", f"http://{host}:{listener.port}/ok", field="webhook_url")
        assert caught.value.reason == "loopback" and "webhook_url" in caught.value.fields
    assert listener.connections == 0


class FlippingResolver:
    """Answers loopback the first time, then an address nobody listens on: only a second lookup would see it."""

    calls: list[str] = []

    def resolve(self, name, port):
        self.calls.append(name)
        return ["127.0.0.1"] if len(self.calls) == 1 else ["10.255.255.1"]


def test_http_request__dials_the_checked_address_and_keeps_the_host_name(settings, listener, monkeypatch):
    monkeypatch.setattr(FlippingResolver, "calls", [])
    settings.OUTBOUND_RESOLVER = {"BACKEND": f"{__name__}.FlippingResolver"}
    settings.OUTBOUND_ALLOW = ["listener.example"]
    result = outbound.http_request("GET", f"http://listener.example:{listener.port}/ok")
    assert (result.status, result.content) == (200, b"hello")
    # The system resolver cannot resolve listener.example: the connection went to the address we checked, once.
    assert listener.requests == [("/ok", f"listener.example:{listener.port}")]
    assert FlippingResolver.calls == ["listener.example"]


def test_http_request__every_redirect_hop_is_checked(settings, listener):
    resolve_with(settings, {"listener.example": ["127.0.0.1"]})
    settings.OUTBOUND_ALLOW = ["listener.example"]  # the name, not loopback in general
    base = f"http://listener.example:{listener.port}"
    ok = outbound.http_request("GET", f"{base}/redirect/{base}/ok")
    assert (ok.status, ok.content, ok.url) == (200, b"hello", f"{base}/ok")
    listener.requests.clear()
    for location in (f"http://127.0.0.1:{listener.port}/ok", "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(OutboundRefused):
            outbound.http_request("GET", f"{base}/redirect/{location}")
    assert [path for path, _ in listener.requests] == [
        f"/redirect/http://127.0.0.1:{listener.port}/ok",
        "/redirect/http://169.254.169.254/latest/meta-data/",
    ]


def test_http_request__caps_the_body_and_the_redirects_with_a_generic_error(settings, listener, caplog):
    settings.OUTBOUND_ALLOW = ["127.0.0.1"]
    base = f"http://127.0.0.1:{listener.port}"
    with pytest.raises(OutboundFailed) as caught:
        outbound.http_request("GET", f"{base}/big", max_bytes=10_000)
    assert caught.value.status == 502 and "xxx" not in caught.value.message
    assert "10000-byte cap" in caplog.text
    four_redirects = f"{base}/redirect/" * 4 + f"{base}/ok"
    with pytest.raises(OutboundFailed):
        outbound.http_request("GET", four_redirects, max_redirects=3)
    assert "more than 3 redirects" in caplog.text
    assert outbound.http_request("GET", four_redirects, max_redirects=4).content == b"hello"


def test_http_request__a_closed_port_fails_generically(settings):
    import socket

    settings.OUTBOUND_ALLOW = ["127.0.0.1"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(OutboundFailed) as caught:
        outbound.http_request("GET", f"http://127.0.0.1:{closed}/")
    assert caught.value.message == "Could not get an answer from 127.0.0.1; the server log has the details."


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://93.184.215.14/x", "gopher://93.184.215.14/"])
def test_http_request__only_http_and_https(url):
    with pytest.raises(OutboundRefused) as caught:
        outbound.http_request("GET", url)
    assert caught.value.reason == "scheme"


def test_http_request__ignores_proxies_from_the_environment(settings, listener, monkeypatch):
    settings.OUTBOUND_ALLOW = ["127.0.0.1"]
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: going through it would fail
    assert outbound.http_request("GET", f"http://127.0.0.1:{listener.port}/ok").content == b"hello"


def _certificate(tmp_path, name: str):
    """A self-signed certificate for ``name`` (no IP address in it) and a client context trusting it."""
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@pytest.mark.parametrize("certified", ["listener.example", "someone-else.example"])
def test_http_request__https_verifies_the_name_while_dialling_the_address(settings, tmp_path, certified):
    server_context, client_context = _certificate(tmp_path, certified)
    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    seen: list[str | None] = []
    server_context.sni_callback = lambda sock, server_name, ctx: seen.append(server_name)
    tls.socket = server_context.wrap_socket(tls.socket, server_side=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(204)
            self.end_headers()

    tls.RequestHandlerClass = Handler
    thread = threading.Thread(target=tls.serve_forever, daemon=True)
    thread.start()
    resolve_with(settings, {"listener.example": ["127.0.0.1"]})
    settings.OUTBOUND_ALLOW = ["listener.example"]
    url = f"https://listener.example:{tls.server_address[1]}/"
    try:
        if certified == "listener.example":
            assert outbound.http_request("GET", url, verify=client_context).status == 204
        else:  # the certificate does not name the host: refused, though the address is the same
            with pytest.raises(OutboundFailed):
                outbound.http_request("GET", url, verify=client_context)
    finally:
        tls.shutdown()
        tls.server_close()
    assert seen and set(seen) == {"listener.example"}

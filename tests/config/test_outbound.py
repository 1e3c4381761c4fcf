"""The outbound-request guard (config.outbound): what an operator-supplied URL may and may not reach."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from config import outbound
from config.outbound import OutboundRefused, OutboundUnavailable


class Handler(BaseHTTPRequestHandler):
    """/ok answers JSON with the Host it saw; /big a body over the cap; /redirect-* redirect."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        port = self.server.server_address[1]
        if self.path == "/ok":
            body = json.dumps({"host": self.headers["Host"]}).encode()
        elif self.path == "/big":
            body = b"x" * 5000
        elif self.path == "/redirect-same":
            return self.redirect(f"http://127.0.0.1:{port}/ok")
        elif self.path == "/redirect-other":
            return self.redirect(f"http://localhost:{port}/ok")
        elif self.path == "/redirect-loop":
            return self.redirect("/redirect-loop")
        else:
            body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()  # no Content-Length: the cap must hold on the streamed body too
        self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.protocol_version = "HTTP/1.0"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def dev(settings):
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = True
    return settings


REFUSED_ADDRESSES = {
    "https://127.0.0.1/": "loopback",
    "https://[::1]/": "loopback",
    "https://localhost/": "loopback",
    "https://10.1.2.3/": "private",
    "https://172.16.0.1/": "private",
    "https://192.168.1.1/": "private",
    "https://[fd12:3456::1]/": "private",
    "https://169.254.169.254/latest/meta-data/": "metadata",
    "https://[fd00:ec2::254]/": "metadata",
    "https://169.254.10.10/": "link-local",
    "https://[fe80::1]/": "link-local",
    "https://0.0.0.0/": "unspecified",
    "https://[::]/": "unspecified",
    "https://224.0.0.1/": "multicast",
    "https://[ff02::1]/": "multicast",
    "https://240.0.0.1/": "reserved",
    "https://192.0.2.10/": "reserved",
    "https://100.64.0.1/": "carrier-grade NAT",
    "https://[::ffff:127.0.0.1]/": "loopback",
}


@pytest.mark.parametrize("url", REFUSED_ADDRESSES)
def test_each_address_class_is_refused_with_a_reason(url):
    with pytest.raises(OutboundRefused) as refused:
        outbound.get(url)
    assert REFUSED_ADDRESSES[url] in refused.value.reason


@pytest.mark.parametrize("url", ["https://169.254.169.254/", "https://[fd00:ec2::254]/", "https://169.254.1.1/"])
def test_metadata_and_link_local_stay_refused_in_development(dev, url):
    with pytest.raises(OutboundRefused):
        outbound.get(url)


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    """Every resolved address is checked: one private answer among public ones refuses the request."""

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(OutboundRefused, match=r"idp\.example \(10\.0\.0\.5\) is a private address"):
        outbound.get("https://idp.example/.well-known/openid-configuration")


def test_http_is_refused_without_the_development_setting():
    with pytest.raises(OutboundRefused, match="https"):
        outbound.get("http://idp.example/")


@pytest.mark.parametrize("url", ["ftp://idp.example/", "/relative", "https://user:pw@idp.example/", "https://[::1"])
def test_malformed_urls_are_refused(url):
    with pytest.raises(OutboundRefused):
        outbound.check_url(url)


def test_a_local_server_is_allowed_in_development(dev, server):
    response = outbound.get(f"{server}/ok")
    assert response.status_code == 200
    assert response.json() == {"host": server.removeprefix("http://")}


def test_a_local_server_is_refused_by_default(server):
    with pytest.raises(OutboundRefused):
        outbound.get(f"{server}/ok")


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(dev, server, monkeypatch):
    """The name is resolved once and the checked address is connected to; the Host header keeps the name."""
    port = int(server.rsplit(":", 1)[1])
    calls = []
    real = socket.getaddrinfo

    def counting_getaddrinfo(host, *args, **kwargs):
        calls.append(host)
        if host == "upstream.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting_getaddrinfo)
    response = outbound.get(f"http://upstream.test:{port}/ok")
    assert response.json() == {"host": f"upstream.test:{port}"}
    assert calls.count("upstream.test") == 1


def test_a_redirect_to_the_same_host_is_followed(dev, server):
    assert outbound.get(f"{server}/redirect-same").json()["host"] == server.removeprefix("http://")


def test_a_redirect_with_follow_redirects_off_is_the_answer(dev, server):
    response = outbound.fetch("GET", f"{server}/redirect-same", follow_redirects=False)

    assert (response.status_code, response.headers["Location"]) == (302, f"{server}/ok")


def test_a_redirect_to_another_host_is_refused(dev, server):
    with pytest.raises(OutboundRefused, match="redirected to another host"):
        outbound.get(f"{server}/redirect-other")


def test_endless_redirects_are_refused(dev, server):
    with pytest.raises(OutboundRefused, match="redirected more than"):
        outbound.get(f"{server}/redirect-loop")


def test_the_answer_is_capped(dev, server, settings):
    settings.LATCHKEY_OUTBOUND_MAX_BYTES = 1000
    with pytest.raises(OutboundRefused, match="larger than 1000 bytes"):
        outbound.get(f"{server}/big")


def test_a_silent_server_is_given_up_on_within_the_timeout(dev, settings):
    """A listener that accepts the connection and never answers: the read timeout bounds the wait."""
    settings.LATCHKEY_OUTBOUND_CONNECT_TIMEOUT = 0.5
    settings.LATCHKEY_OUTBOUND_READ_TIMEOUT = 0.5
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    try:
        started = time.monotonic()
        with pytest.raises(OutboundUnavailable, match="did not answer in time"):
            outbound.get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
        assert time.monotonic() - started < 3
    finally:
        listener.close()


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[int, str]]:
    """An https server whose certificate names only `upstream.test` (self-signed; its file is the CA bundle)."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "upstream.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("upstream.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], str(cert_path)
    httpd.shutdown()
    httpd.server_close()


def test_https_connects_to_the_checked_address_and_verifies_the_certificate_for_the_name(dev, tls_server, monkeypatch):
    """Pinning the address keeps TLS honest: SNI and certificate checks use the name, not the address."""
    port, ca_file = tls_server
    dev.LATCHKEY_OUTBOUND_CA_BUNDLE = ca_file
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        if host in ("upstream.test", "other.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert outbound.get(f"https://upstream.test:{port}/ok").json() == {"host": f"upstream.test:{port}"}
    with pytest.raises(OutboundUnavailable, match="SSLError"):
        outbound.get(f"https://other.test:{port}/ok")  # same address, a name the certificate does not carry


def test_the_development_setting_outside_debug_is_a_system_check_warning(settings):
    from config.checks import check_outbound_private

    settings.DEBUG = False
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = True
    assert [m.id for m in check_outbound_private(None)] == ["latchkey.W001"]
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = False
    assert check_outbound_private(None) == []

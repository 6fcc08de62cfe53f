"""Try it on your phone: the bundle served over HTTPS on the local network, behind a one-time token.

A phone's browser gives the camera only to https pages, so the preview server is wrapped in TLS with a
certificate made on this computer (:mod:`studio.core.export.certificate`). Nothing is served without the
token: the address in the QR code carries it (``/?t=TOKEN``); the first request with it swaps it for a cookie
(``__Host-``: this origin only, https only, invisible to scripts) and redirects to the clean address. The token
then is spent (a new one is made for the next device), so a leaked address opens nothing. Everything else
without that cookie answers 403. Read-only (GET/HEAD), the bundle folder only, the loopback server's limits
(idle connections dropped, listen backlog, header and path checks) kept; the Host header must name the
address served. The preview stops when asked or after ``timeout_s``.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from studio.core.export.certificate import Certificate, certificate_for
from studio.core.export.serve import IDLE_TIMEOUT_S, PreviewServer, ServeError, _BundleHandler, _BundleHTTPServer

DEFAULT_TIMEOUT_MIN = 30
TOKEN_PARAM = "t"
COOKIE = "__Host-edge-studio-phone"
# What the person agrees to, said once, in the window and in the terminal.
CONSENT_TEXT = ("Phones and other devices on your network that scan the code can open this web bundle (the page "
                "and the model, read-only) until you stop it; nothing is uploaded anywhere.")
WARNING_TEXT = ("The phone's browser will warn once that the connection is not private: the studio made its own "
                "certificate on this computer, and no public authority vouches for a home-network address. "
                "Check that the fingerprint it shows starts with {short}, then continue (on Chrome: Advanced, "
                "then Proceed).")
# The address only picks a route: connect() on a UDP socket looks the route up and sends nothing.
_ROUTE_PROBE = ("192.0.2.1", 9)  # TEST-NET-1 (RFC 5737): documentation only, never a real host


def default_host() -> str:
    """This computer's address on the interface of the default route (found without sending anything)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_ROUTE_PROBE)
        except OSError:
            raise ServeError("no network found: connect to a Wi-Fi or wired network, or pass --host ADDRESS") \
                from None
        host = str(probe.getsockname()[0])
    if host in ("0.0.0.0", ""):
        raise ServeError("no network found: connect to a Wi-Fi or wired network, or pass --host ADDRESS")
    return host


def check_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ServeError(f"--host must be an IPv4 address of this computer, not {host!r}") from None
    if address.version != 4 or address.is_unspecified or address.is_multicast:
        raise ServeError(f"--host must be one IPv4 address of this computer, not {host}")
    return str(address)


@dataclass
class _Token:
    value: str
    expires: float


class AccessGate:
    """One-time tokens in, cookies out. Thread-safe: handlers run on one thread per connection."""

    def __init__(self, token_ttl_s: float, on_device: Callable[[int], None] | None = None) -> None:
        self.token_ttl_s = token_ttl_s
        self.on_device = on_device
        self._lock = threading.Lock()
        self._sessions: dict[str, str] = {}  # cookie value -> the client address it was given to
        self._token = self._new_token()

    def _new_token(self) -> _Token:
        return _Token(secrets.token_urlsafe(18), time.monotonic() + self.token_ttl_s)

    @property
    def token(self) -> str:
        """The token the QR code shows now (made again once used or expired)."""
        with self._lock:
            if time.monotonic() >= self._token.expires:
                self._token = self._new_token()
            return self._token.value

    @property
    def devices(self) -> int:
        with self._lock:
            return len(self._sessions)

    def exchange(self, token: str, client: str) -> str | None:
        """The cookie value for a valid, unspent, unexpired token (which is spent now), else None."""
        with self._lock:
            current = self._token
            good = hmac.compare_digest(token.encode(), current.value.encode()) and time.monotonic() < current.expires
            if not good:
                return None
            session = secrets.token_urlsafe(32)
            self._sessions[session] = client
            self._token = self._new_token()
            count = len(self._sessions)
        if self.on_device is not None:
            self.on_device(count)
        return session

    def admits(self, cookie: str | None, client: str) -> bool:
        if not cookie:
            return False
        with self._lock:
            owner = next((c for s, c in self._sessions.items() if hmac.compare_digest(s.encode(), cookie.encode())),
                         None)
        return owner == client


class _PhoneHTTPServer(_BundleHTTPServer):
    def __init__(self, root: Path, host: str, port: int, idle_timeout: float, context: ssl.SSLContext,
                 gate: AccessGate, notice: bytes) -> None:
        self.ssl_context = context
        self.gate = gate
        self.notice = notice
        self.allowed_hosts = (host,)
        super().__init__(root, port, idle_timeout, host=host, handler=_PhoneHandler)

    def finish_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        # The TLS handshake runs here, on the connection's own thread and under the idle timeout: a client that
        # connects and stays silent never holds up accept() for the others.
        request.settimeout(self.idle_timeout)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # plain http, a refused certificate, or silence: closed
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


class _PhoneHandler(_BundleHandler):
    server: _PhoneHTTPServer

    def _host_allowed(self) -> bool:
        return bool(self.headers.get("Host")) and super()._host_allowed()

    def _serve(self, send_body: bool) -> None:
        if not self._host_allowed():
            self._error(HTTPStatus.FORBIDDEN)
            return
        gate, client = self.server.gate, self.client_address[0]
        token = parse_qs(urlsplit(self.path).query).get(TOKEN_PARAM, [None])[-1]
        if gate.admits(self._cookie(), client):
            if token is not None:
                self._redirect_home()  # a used address opened again: the clean one
            elif self._is_index():
                self._send_index(send_body)
            else:
                super()._serve(send_body)
            return
        session = gate.exchange(token, client) if token is not None and urlsplit(self.path).path == "/" else None
        if session is None:
            self._error(HTTPStatus.FORBIDDEN)
            return
        self._redirect_home(f"{COOKIE}={session}; Path=/; Secure; HttpOnly; SameSite=Lax")

    def _cookie(self) -> str | None:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie") or "")
        except CookieError:
            return None
        morsel = jar.get(COOKIE)
        return morsel.value if morsel is not None else None

    def _redirect_home(self, cookie: str | None = None) -> None:
        # Always "/": a Location built from the request could be "//other.site" (an open redirect).
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", "/")
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "0")
        self._common_headers()
        self.end_headers()

    def _is_index(self) -> bool:
        path = urlsplit(self.path).path
        return path in ("/", "/index.html")

    def _send_index(self, send_body: bool) -> None:
        """index.html with a note on the certificate warning under its header, its manifest fetched with the cookie
        (the file itself is never changed)."""
        try:
            html = (self.server.root / "index.html").read_bytes()
        except OSError:
            self._error(HTTPStatus.NOT_FOUND)
            return
        header = html.find(b"</header>")
        at = header + len(b"</header>") if header >= 0 else html.find(b">", html.find(b"<body")) + 1
        body = html[:at] + self.server.notice + html[at:] if at > 0 else html
        if b"use-credentials" not in body:
            # Browsers fetch the manifest without cookies unless told to; without the cookie it would be 403 and
            # the page could not be installed.
            body = body.replace(b'<link rel="manifest"', b'<link rel="manifest" crossorigin="use-credentials"', 1)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._common_headers()
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def page_notice(certificate: Certificate) -> bytes:
    """The note the phone's page shows under its title: one line, and why the browser warned when opened."""
    return ("\n  <details class=\"notice\" id=\"phone-notice\"><summary><strong>Opened from Edge AI Vision Studio "
            "on your computer.</strong> Did your browser warn “not private”? That was expected.</summary> The studio "
            "made its own certificate on the computer, and no public authority vouches for an address on a home "
            f"network; its fingerprint starts with {certificate.short_fingerprint}. The model runs on this phone: "
            "what the camera sees is not sent anywhere. “Add to Home screen” in the browser's menu puts it on "
            "the phone; it opens while the preview runs on the computer.</details>\n").encode()


class PhoneServer(PreviewServer):
    """The phone preview: ``PhoneServer(bundle, host="192.168.1.5").start()``; :attr:`url` carries the token.

    ``host`` None = :func:`default_host`. Stops by itself after ``timeout_s`` (:attr:`stop_reason` says why);
    ``on_device(count)`` is called (on a server thread) each time a device swaps a token for a cookie.
    """

    def __init__(self, root: str | Path, host: str | None = None, port: int = 0,
                 timeout_s: float = DEFAULT_TIMEOUT_MIN * 60, idle_timeout: float = IDLE_TIMEOUT_S,
                 token_ttl_s: float | None = None, cert_dir: Path | None = None,
                 on_device: Callable[[int], None] | None = None) -> None:
        super().__init__(root, port=port, idle_timeout=idle_timeout)
        self.host = check_host(host) if host is not None else default_host()
        if timeout_s <= 0:
            raise ServeError("the phone preview's time limit must be more than 0 minutes")
        self.timeout_s = timeout_s
        self.gate = AccessGate(token_ttl_s if token_ttl_s is not None else timeout_s, on_device)
        self.cert_dir = cert_dir
        self.certificate: Certificate | None = None
        self.stop_reason = ""
        self._deadline = 0.0
        self._timer: threading.Timer | None = None
        self._stopped = threading.Event()

    def _make_server(self) -> _BundleHTTPServer:
        self.certificate = certificate_for(self.host, self.cert_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate.cert_path, self.certificate.key_path)
        return _PhoneHTTPServer(self.root, self.host, self.requested_port, self.idle_timeout, context, self.gate,
                                page_notice(self.certificate))

    def start(self) -> PhoneServer:
        if self.running:
            return self
        super().start()
        self._stopped.clear()
        self.stop_reason = ""
        self._deadline = time.monotonic() + self.timeout_s
        self._timer = threading.Timer(self.timeout_s, self._time_up)
        self._timer.daemon = True
        self._timer.start()
        return self

    def _time_up(self) -> None:
        self.stop_reason = self.stop_reason or "timeout"
        self.stop()

    def stop(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if self.running and not self.stop_reason:
            self.stop_reason = "stopped"
        super().stop()
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the preview has stopped (listening socket closed), by :meth:`stop` or its time limit."""
        if self._deadline:  # started once: wait for the end of stop(), wherever it runs
            self._stopped.wait(timeout)

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}/"

    @property
    def url(self) -> str:
        """The address to scan now: https, this computer's LAN address, a fresh one-time token."""
        return f"{self.base_url}?{TOKEN_PARAM}={self.gate.token}"

    @property
    def devices(self) -> int:
        return self.gate.devices

    @property
    def remaining_s(self) -> float:
        return max(0.0, self._deadline - time.monotonic()) if self.running else 0.0

    def warning_text(self) -> str:
        short = self.certificate.short_fingerprint if self.certificate else "?"
        return WARNING_TEXT.format(short=short)


def qr_png(url: str, path: Path, scale: int = 8) -> Path:
    """A PNG of the QR code of ``url`` (quiet zone included, so any camera app reads it)."""
    import segno

    segno.make(url, error="m", micro=False).save(str(path), scale=scale, border=4)
    return path


def qr_text(url: str) -> str:
    """The QR code drawn with block characters, for the terminal."""
    import io

    import segno

    out = io.StringIO()
    segno.make(url, error="m", micro=False).terminal(out=out, compact=True, border=2)
    return out.getvalue()

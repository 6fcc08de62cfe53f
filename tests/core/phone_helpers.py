"""Speaking HTTPS to the phone preview on a loopback address (127.0.0.2 and the like, never a LAN address)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from studio.core.export.phone import COOKIE

ROOT = Path(__file__).resolve().parents[2]
LAN = "127.0.0.2"  # plays the phone-facing LAN address; only loopback traffic in tests


def make_bundle(root: Path) -> Path:
    (root / "model").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><html><head><title>t</title></head><body>\n<p>page</p>"
                                     "</body></html>")
    (root / "script.js").write_text("console.log(1)")
    (root / "model" / "model.json").write_text("{}")
    (root / ".hidden").write_text("hidden")
    (root.parent / "secret.txt").write_text("secret")
    return root


def tls_context() -> ssl.SSLContext:
    """No chain check (the certificate is self-signed); tests pin it by fingerprint instead."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def get(url_or_port: str | int, path: str = "/", cookie: str | None = None, host: str | None = None,
        method: str = "GET", address: str = LAN, source: str | None = None
        ) -> tuple[int, dict[str, str], bytes, str]:
    """(status, headers, body, SHA-256 fingerprint of the certificate the server presented); ``source``: the
    client's own loopback address (another "device")."""
    if isinstance(url_or_port, str):
        parts = urlsplit(url_or_port)
        port = int(parts.port or 443)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        address = parts.hostname or address
    else:
        port = url_or_port
    conn = http.client.HTTPSConnection(address, port, context=tls_context(), timeout=10,
                                       source_address=(source, 0) if source else None)
    try:
        conn.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        if cookie is not None:
            conn.putheader("Cookie", cookie)
        conn.endheaders()
        der = conn.sock.getpeercert(binary_form=True) if conn.sock is not None else b""
        r = conn.getresponse()
        body = r.read()
        fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der or b"").digest())
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body, fingerprint
    finally:
        conn.close()


def open_with_token(url: str) -> tuple[str, int, bytes]:
    """Follow the token URL like a browser: the redirect, keeping the cookie -> (cookie, status, body)."""
    status, headers, _, _ = get(url)
    assert status == 303, status
    assert headers["location"] == "/"
    cookie = headers["set-cookie"].split(";")[0]
    assert cookie.startswith(f"{COOKIE}=")
    parts = urlsplit(url)
    status, _, body, _ = get(parts.port or 443, "/", cookie=cookie, address=parts.hostname or LAN)
    return cookie, status, body


def start_cli(bundle: Path, config: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """`edge-studio serve BUNDLE --phone --host 127.0.0.2 --port 0 --json` in a child; its first JSON object."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(config)}
    proc = subprocess.Popen([sys.executable, "-m", "studio", "serve", str(bundle), "--phone", "--host", LAN,
                             "--port", "0", "--json", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        raise AssertionError(f"no JSON from serve --phone (exit {proc.returncode}): {proc.stderr.read()}")
    assert time.monotonic() < deadline
    return proc, json.loads(line)

"""`serve DIR --phone`: the bundle to phones on the network over https; the QR code in the terminal.

With --json: one object once it listens (``url``, ``qr`` = a PNG of the QR code of ``url``, ...), then one
``device_opened`` event per device (with the next one-time ``url`` and its ``qr``), then ``stopped``.
The QR PNGs live in a temporary folder removed when the preview stops.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from studio.commands.output import emit_json
from studio.core.export.phone import CONSENT_TEXT, DEFAULT_TIMEOUT_MIN, PhoneServer, qr_png, qr_text


def serve_phone(args: argparse.Namespace) -> int:
    minutes = args.timeout if args.timeout is not None else DEFAULT_TIMEOUT_MIN
    qr_dir = Path(tempfile.mkdtemp(prefix="edge-studio-phone-"))
    holder: dict[str, PhoneServer] = {}

    def on_device(count: int) -> None:  # on a server thread, after the token was spent and a new one made
        server = holder.get("server")
        if server is None:
            return
        url = server.url
        png = qr_png(url, qr_dir / f"qr-{count + 1}.png")
        if args.json:
            emit_json({"event": "device_opened", "devices": count, "url": url, "qr": str(png)})
        else:
            print(f"{count} device{'s' if count != 1 else ''} opened it. For another device, scan this new code "
                  f"(each code opens once):\n{qr_text(url)}{url}", flush=True)

    try:
        server = PhoneServer(args.dir, host=args.host, port=args.port, timeout_s=minutes * 60, on_device=on_device)
        holder["server"] = server.start()
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            _announce(server, qr_png(server.url, qr_dir / "qr-1.png"), minutes, args.json)
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        if args.json:
            emit_json({"event": "stopped", "reason": server.stop_reason, "devices": server.devices})
        else:
            why = "time is up" if server.stop_reason == "timeout" else "stopped"
            print(f"phone preview stopped ({why}); {server.devices} device(s) opened it", flush=True)
    finally:
        shutil.rmtree(qr_dir, ignore_errors=True)
    return 0


def _announce(server: PhoneServer, png: Path, minutes: float, as_json: bool) -> None:
    cert = server.certificate
    assert cert is not None
    info: dict[str, Any] = {"url": server.url, "qr": str(png), "base_url": server.base_url, "host": server.host,
                            "port": server.port, "dir": str(server.root), "fingerprint": cert.fingerprint,
                            "certificate": str(cert.cert_path), "certificate_created": cert.created,
                            "timeout_s": server.timeout_s, "note": CONSENT_TEXT}
    if as_json:
        emit_json(info)
        return
    print(f"{CONSENT_TEXT}\n\nScan this with the phone's camera (same network as this computer):\n"
          f"{qr_text(server.url)}{server.url}\n", flush=True)
    made = "made just now, " if cert.created else ""
    print(f"{server.warning_text()}\nCertificate ({made}SHA-256): {cert.fingerprint}\n"
          f"Serving {server.root} until Ctrl+C or for {minutes:g} minutes.", file=sys.stdout, flush=True)

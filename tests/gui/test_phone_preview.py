"""The phone preview window: nothing served until Start; then the QR code (decoded with zbarimg) is the
one-time address, a device opening it is counted and gets the next code, Stop and closing the window end it.
Served on 127.0.0.2 only; the certificate goes to a temporary config folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QPainter

from studio.gui.parts.phone_preview import PhonePreviewDialog
from tests.core.phone_helpers import LAN, get, make_bundle, open_with_token


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def decode(pixmap, path: Path) -> str:  # noqa: ANN001
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is missing (apt-get install zbar-tools)")
    assert pixmap.save(str(path))
    return subprocess.run(["zbarimg", "--quiet", "--raw", str(path)], capture_output=True, text=True, check=True,
                          timeout=30).stdout.strip()


def test_asks_first_then_serves_counts_and_stops(qtbot, tmp_path: Path, config_home: Path) -> None:  # noqa: ANN001
    bundle = make_bundle(tmp_path / "bundle")
    dialog = PhonePreviewDialog(bundle, host=LAN)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.server is None and "nothing is uploaded" in dialog.consent.text()  # asked, not started
    assert dialog.minutes.value() == 30
    dialog.start_button.click()
    server = dialog.server
    assert server is not None and server.running and server.host == LAN
    assert server.certificate is not None and server.certificate.cert_path.is_relative_to(config_home)
    shown = dialog.warning.text().replace("<br>", ":")
    assert server.certificate.fingerprint in shown and "not private" in shown
    first = server.url
    assert decode(dialog.qr.pixmap(), tmp_path / "qr1.png") == first
    assert "No device has opened it yet" in dialog.status.text()
    cookie, status, _ = open_with_token(first)
    assert status == 200
    qtbot.waitUntil(lambda: "Opened on 1 device" in dialog.status.text(), timeout=5_000)
    qtbot.waitUntil(lambda: decode(dialog.qr.pixmap(), tmp_path / "qr2.png") == server.url, timeout=5_000)
    assert server.url != first
    port = server.port
    dialog.stop_button.click()
    assert dialog.server is None and not server.running and "you stopped it" in dialog.status.text()
    with pytest.raises(OSError):
        socket.create_connection((LAN, port), timeout=2).close()
    # Opt-in again, then closing the window stops it.
    dialog.start_button.click()
    again = dialog.server
    assert again is not None and again.running
    assert get(again.url)[0] == 303 and get(again.port, "/script.js", cookie=cookie)[0] == 403  # old cookie dead
    dialog.close()
    assert not again.running


def test_time_limit_and_bad_address(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    dialog = PhonePreviewDialog(make_bundle(tmp_path / "bundle"), host="not-an-address")
    qtbot.addWidget(dialog)
    dialog.start_button.click()
    assert dialog.server is None and "--host must be an IPv4 address" in dialog.status.text()
    dialog.host_edit.setText(LAN)
    dialog.minutes.setMinimum(0.001)
    dialog.minutes.setDecimals(3)
    dialog.minutes.setValue(0.01)  # 0.6 s
    dialog.start_button.click()
    assert dialog.server is not None
    qtbot.waitUntil(lambda: "the time ran out" in dialog.status.text(), timeout=10_000)
    assert dialog.start_button.isEnabled()


def test_export_page_with_the_qr_screenshot(window, qtbot, tmp_path: Path, artifacts_dir: Path) -> None:  # noqa: ANN001
    bundle = make_bundle(tmp_path / "bundle")
    window.resize(1024, 640)
    page = window.pages.export
    window.show_page(list(window.pages).index(page))
    page.last_export = {"out": str(bundle), "format": "tfjs", "files": ["index.html"], "bytes": 1000,
                        "model_bytes": 100, "quantization": "none"}
    page._update_actions()
    assert page.phone_button.isEnabled()
    page.phone_button.click()
    dialog = page.phone_dialog
    assert dialog is not None and dialog.server is None
    dialog.host_edit.setText(LAN)
    dialog.start_button.click()
    assert dialog.server is not None
    qtbot.waitUntil(lambda: dialog.qr.pixmap() is not None and not dialog.qr.pixmap().isNull(), timeout=5_000)
    assert dialog.width() <= 1024 and dialog.height() <= 640
    for width, height in ((1024, 640), (1366, 768)):
        window.resize(width, height)
        qtbot.wait(50)
        # The window with its dialog on top, as the desktop shows it (offscreen Qt grabs each window alone).
        shot = window.grab()
        painter = QPainter(shot)
        painter.drawPixmap(QPoint((shot.width() - dialog.width()) // 2, (shot.height() - dialog.height()) // 2),
                           dialog.grab())
        painter.end()
        shot.save(str(artifacts_dir / f"export_phone_qr_{width}x{height}.png"))
    dialog.grab().save(str(artifacts_dir / "phone_preview_dialog.png"))
    server = dialog.server
    page.shutdown()  # what quitting the studio runs (aboutToQuit): the phone preview stops with it
    assert not server.running and page.phone_dialog is None

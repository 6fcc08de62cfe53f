import json
import sqlite3
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np

from studio.core.events import CancelToken, ImportProgress
from studio.core.images.importer import import_paths
from studio.core.project.store import Project

from .helpers import make_class_folder, write_image

ROOT = Path(__file__).resolve().parents[2]


def _huge_png(path: Path, width: int, height: int) -> None:
    """A real, valid PNG of width x height black gray pixels, written without a width*height array."""
    raw = zlib.compressobj(1)
    row = b"\x00" + b"\x00" * width
    body = b"".join(raw.compress(row) for _ in range(height)) + raw.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def _acceptance_folder(root: Path) -> Path:
    data = root / "data"
    paths = make_class_folder(data, {"apple": 20, "banana": 15, "cherry": 15})
    (data / "apple" / "copy_of_first.png").write_bytes(paths[0].read_bytes())
    jpg = write_image(data / "banana" / "truncated", seed=5, size=64, ext=".jpg")
    jpg.write_bytes(jpg.read_bytes()[: jpg.stat().st_size // 2])
    (data / "cherry" / "x.png").write_text("this is not an image")
    (data / "cherry" / "empty.jpg").write_bytes(b"")
    _huge_png(data / "apple" / "huge.png", 20000, 20000)
    return data


def test_acceptance_folder_via_cli_json(tmp_path):
    data = _acceptance_folder(tmp_path)
    proj = tmp_path / "P"
    out = subprocess.run([sys.executable, "-m", "studio", "import", str(proj), str(data), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["added"] == 50
    assert report["duplicates"] == 1
    reasons = {Path(r["path"]).name: r["reason"] for r in report["rejected"]}
    assert set(reasons) == {"truncated.jpg", "x.png", "empty.jpg", "huge.png"}
    assert "truncated" in reasons["truncated.jpg"]
    assert "not an image" in reasons["x.png"]
    assert "empty" in reasons["empty.jpg"]
    assert "too large" in reasons["huge.png"] and "20000x20000" in reasons["huge.png"]
    conn = sqlite3.connect(proj / "project.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    info = subprocess.run([sys.executable, "-m", "studio", "info", str(proj), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    parsed = json.loads(info.stdout)
    assert parsed["classes"] == {"apple": 20, "banana": 15, "cherry": 15}
    assert parsed["images"] == 50 and sum(parsed["splits"].values()) == 50


def test_every_format_and_exif_orientation(tmp_path):
    from PIL import Image

    src = tmp_path / "src"
    for i, ext in enumerate([".png", ".jpg", ".bmp", ".webp", ".tif", ".gif"]):
        write_image(src / f"img{i}", seed=i, size=24, ext=ext)
    im = Image.new("RGB", (40, 20), (0, 200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    im.save(src / "rotated.jpg", exif=exif)
    with Project.create(tmp_path / "p") as p:
        report = import_paths(p, [src])
        assert len(report.added) == 7 and not report.rejected
        rotated = [i for i in p.images() if i.original_name == "rotated.jpg"][0]
        assert (rotated.width, rotated.height) == (20, 40)
        for rec in p.images():
            assert p.image_path(rec).is_file()


def test_zip_csv_unicode_and_explicit_label(tmp_path):
    folder = tmp_path / "données ünïcode 猫"
    paths = make_class_folder(folder, {"chat": 3, "chien": 2})
    zpath = tmp_path / "set.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in paths:
            zf.write(p, f"dataset/{p.parent.name}/{p.name}")
        zf.writestr("dataset/notes.txt", "ignored")
    extra = [write_image(tmp_path / "csv" / f"e{i}", seed=900 + i) for i in range(3)]
    csv_path = tmp_path / "csv" / "labels.csv"
    csv_path.write_text("path,label\ne0.png,oiseau\ne1.png,oiseau\nmissing.png,oiseau\n" + f"{extra[2]},chat\n")
    single = write_image(tmp_path / "single", seed=4242)
    with Project.create(tmp_path / "p") as p:
        r = import_paths(p, [zpath])
        assert len(r.added) == 5 and p.counts()["chat"]["train"] + p.counts()["chat"]["val"] + \
            p.counts()["chat"]["test"] == 3
        r = import_paths(p, [folder])
        assert len(r.duplicates) == 5 and not r.added
        r = import_paths(p, [csv_path])
        assert len(r.added) == 3 and [x["reason"] for x in r.rejected] == ["listed in labels.csv but not found"]
        r = import_paths(p, [single], label="mystery")
        assert len(r.added) == 1 and p.image(r.added[0]).label == "mystery"
        assert sorted(p.class_names()) == ["chat", "chien", "mystery", "oiseau"]


def test_progress_events_and_cancel(tmp_path):
    make_class_folder(tmp_path / "d", {"a": 120})
    events = []
    token = CancelToken()

    def reporter(e):
        events.append(e)
        if isinstance(e, ImportProgress) and e.done >= 32:
            token.cancel()

    with Project.create(tmp_path / "p") as p:
        report = import_paths(p, [tmp_path / "d"], reporter=reporter, cancel=token)
        assert report.cancelled
        assert 32 <= len(report.added) < 120
        assert len(p.images()) == len(report.added)
        # Importing again completes the job without duplicates of what is already in.
        again = import_paths(p, [tmp_path / "d"])
        assert len(again.added) + len(again.duplicates) == 120 and len(p.images()) == 120
    assert any(isinstance(e, ImportProgress) for e in events)


def test_forked_workers_import_what_threads_import(tmp_path):
    """The process pool (what the command line uses for a large import) gives the same rows, splits, rejections
    and copies as the thread pool, a cancel stops it, and it leaves no worker process behind."""
    import threading

    from studio.core.images import importer

    data = _acceptance_folder(tmp_path)
    reports, rows = {}, {}
    children_before = _children()  # other tests in this worker may have started some (a browser driver)
    for processes in (False, True):
        before = {t.ident for t in threading.enumerate()}
        with Project.create(tmp_path / f"p{processes}") as p:
            reports[processes] = import_paths(p, [data], processes=processes)
            rows[processes] = sorted((r.sha256, r.label, r.split, r.width, r.height, r.channels, r.original_name)
                                     for r in p.images())
            for r in p.images():
                assert p.image_path(r).read_bytes() == (data / r.label / r.original_name).read_bytes()
        assert {t.ident for t in threading.enumerate()} <= before  # the pool's threads are gone
    assert rows[True] == rows[False] and len(rows[True]) == 50
    assert sorted(map(str, reports[True].rejected)) == sorted(map(str, reports[False].rejected))
    assert reports[True].duplicates == reports[False].duplicates
    assert importer._FORKED is None
    assert _children() <= children_before  # the worker processes were joined

    make_class_folder(tmp_path / "many", {"a": 300}, size=24)
    token = CancelToken()

    def reporter(e):
        if isinstance(e, ImportProgress) and e.done >= 64:
            token.cancel()

    with Project.create(tmp_path / "pc") as p:
        report = import_paths(p, [tmp_path / "many"], reporter=reporter, cancel=token, processes=True)
        assert report.cancelled and 64 <= len(report.added) < 300 and len(p.images()) == len(report.added)


def _children() -> set[str]:
    import os

    return {c for c in os.listdir("/proc") if c.isdigit() and _parent_of(c) == os.getpid()}


def _parent_of(pid: str) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_kill_9_halfway_leaves_a_consistent_project(tmp_path):
    make_class_folder(tmp_path / "d", {"a": 1200, "b": 1200}, size=48)
    proj = tmp_path / "P"
    proc = subprocess.Popen([sys.executable, "-m", "studio", "import", str(proj), str(tmp_path / "d"), "--json"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = proj / "project.db"
    import time

    deadline = time.monotonic() + 60
    n = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                conn = sqlite3.connect(db, timeout=1)
                n = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
                conn.close()
            except sqlite3.Error:
                n = 0
            if n >= 256:
                break
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert n >= 256, "the import finished or stalled before it could be killed halfway"
    # Its forked workers (2,400 files: a process pool) end with it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and [c for c in Path("/proc").iterdir() if c.name.isdigit()
                                           and str(proj) in _cmdline(c.name)]:
        time.sleep(0.05)
    assert not [c for c in Path("/proc").iterdir() if c.name.isdigit() and str(proj) in _cmdline(c.name)]
    with Project.open(proj) as p:
        assert p.integrity_check() == "ok"
        images = p.images()
        assert 0 < len(images) < 2400
        for rec in images:
            path = p.image_path(rec)
            assert path.is_file() and cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR) is not None
        report = import_paths(p, [tmp_path / "d"])
        assert len(report.added) == 2400 - len(images) and len(report.duplicates) == len(images)
        assert len(p.images()) == 2400 and len(p.known_hashes()) == 2400


def test_pixel_limit_is_configurable(tmp_path):
    img = write_image(tmp_path / "x", seed=1, size=100)
    with Project.create(tmp_path / "p") as p:
        r = import_paths(p, [img], max_pixels=5000)
        assert not r.added and "too large" in r.rejected[0]["reason"]
        assert len(import_paths(p, [img]).added) == 1


def test_missing_path_is_rejected_not_crash(tmp_path):
    with Project.create(tmp_path / "p") as p:
        r = import_paths(p, [tmp_path / "nope"])
        assert r.rejected == [{"path": str(tmp_path / "nope"), "reason": "no such file or folder"}]


def test_a_copy_cut_short_by_a_kill_is_replaced_and_no_temporary_file_stays(tmp_path):
    """A kill during a write leaves a partial copy under its final name with no row; the next import writes
    the whole file over it (via a temporary name and a rename) and leaves no ``.part`` file behind."""
    import hashlib

    folder = tmp_path / "d"
    make_class_folder(folder, {"a": 3, "b": 3}, size=40)
    first = sorted(folder.rglob("*.png"))[0]
    data = first.read_bytes()
    with Project.create(tmp_path / "p") as p:
        sha = hashlib.sha256(data).hexdigest()
        partial = p.image_path(sha, ".png")
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data[: len(data) // 2])
        report = import_paths(p, [folder])
        assert len(report.added) == 6 and not report.rejected
        assert partial.read_bytes() == data
        for rec in p.images():
            assert p.image_path(rec).read_bytes() == (folder / rec.label / rec.original_name).read_bytes()
        assert not [f for f in (p.root / "images").rglob("*") if f.name.endswith(".part")]


def test_processes_only_where_a_fork_is_safe_and_pays(tmp_path, monkeypatch):
    """Worker processes for many plain files in a process without other threads or thread-running libraries
    (the command line, also packaged, where QtCore is loaded but no application runs); threads for a zip, a small
    import, the GUI (a Qt application) and anything with TensorFlow loaded."""
    import threading
    import types

    from studio.core.images import importer
    from studio.core.images.sources import Source, ZipArchive

    files = [Source(display=f"f{i}.png", label=None, path=f"f{i}.png") for i in range(importer.PROCESS_MIN_ITEMS)]
    for name in (*importer._FORK_UNSAFE_MODULES, "PySide6.QtCore"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert importer.use_processes(files) is sys.platform.startswith("linux")
    assert not importer.use_processes(files[:-1])
    zpath = tmp_path / "a.zip"
    zipfile.ZipFile(zpath, "w").close()
    archive = ZipArchive(zpath)
    try:
        assert not importer.use_processes([*files[1:], Source(display="z", label=None, archive=archive)])
    finally:
        archive.close()
    qtcore = types.ModuleType("PySide6.QtCore")
    qtcore.QCoreApplication = types.SimpleNamespace(instance=lambda: None)  # loaded, no application (packaged CLI)
    monkeypatch.setitem(sys.modules, "PySide6.QtCore", qtcore)
    assert importer.use_processes(files) is sys.platform.startswith("linux")
    qtcore.QCoreApplication = types.SimpleNamespace(instance=lambda: object())  # the GUI
    assert not importer.use_processes(files)
    monkeypatch.delitem(sys.modules, "PySide6.QtCore")
    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    assert not importer.use_processes(files)
    monkeypatch.delitem(sys.modules, "tensorflow")
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert not importer.use_processes(files)


def test_a_worker_process_that_dies_ends_the_import_with_one_line_and_keeps_what_was_done(tmp_path, monkeypatch):
    """A worker killed by the kernel (out of memory) or by a decoder crash: a clear message, the finished
    batches kept, and importing again completes the job."""
    import os

    import pytest

    from studio.core.images import importer
    from studio.core.project.store import ProjectError

    make_class_folder(tmp_path / "d", {"a": 700}, size=16)
    real = importer._prepare_chunk
    parent = os.getpid()

    def dies_on_the_tenth_chunk(chunk, *args):
        if os.getpid() != parent and any(s.display.endswith("img_0640.png") for s in chunk):
            os._exit(9)  # what a SIGKILL leaves: no exception, no result
        return real(chunk, *args)

    monkeypatch.setattr(importer, "_prepare_chunk", dies_on_the_tenth_chunk)
    monkeypatch.setattr(importer, "BATCH_SIZE", 64)
    with Project.create(tmp_path / "p") as p:
        with pytest.raises(ProjectError, match="worker process ended unexpectedly.*images were imported before") as err:
            import_paths(p, [tmp_path / "d"], processes=True)
        kept = len(p.images())
        assert 0 < kept < 700 and f"; {kept} images were imported" in str(err.value)
        monkeypatch.setattr(importer, "_prepare_chunk", real)
        again = import_paths(p, [tmp_path / "d"], processes=True)
        assert len(again.added) == 700 - kept and len(p.images()) == 700

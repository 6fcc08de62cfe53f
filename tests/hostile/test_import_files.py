"""Hostile files given to `import`: each bad one rejected alone with its reason, the rest imported."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.core.helpers import make_class_folder, write_image
from tests.hostile.conftest import assert_integrity, finish_cli, images_in, snapshot, start_cli
from tests.hostile.fixtures import fifo, huge_png_header, huge_tiff, sparse_file


def _import(cli, project: Path, *paths: Path | str, **kw):
    return cli("import", project, *paths, "--json", **kw)


def test_huge_images_are_refused_from_their_headers(cli, tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_class_folder(src, {"ok": 3})
    huge_tiff(src / "ok" / "huge.tif")  # 20000 x 20000, 6 MB on disk, 400 MB decoded
    huge_png_header(src / "ok" / "huge.png")
    sparse_file(src / "ok" / "sparse.png", 3 << 30, b"\x89PNG\r\n\x1a\n")  # 3 GB, a hole
    before = snapshot(tmp_path, skip=(tmp_path / "p",))
    r = _import(cli, tmp_path / "p", src)
    assert r.rc == 0 and r.report["added"] == 3
    reasons = r.rejected()
    assert reasons[str(src / "ok" / "huge.tif")].startswith("too large: 20000x20000")
    assert reasons[str(src / "ok" / "huge.png")].startswith("too large: 30000x30000")
    assert reasons[str(src / "ok" / "sparse.png")].startswith("file too large")
    assert snapshot(tmp_path, skip=(tmp_path / "p",)) == before
    assert_integrity(tmp_path / "p")


def test_special_files_are_never_read(cli, tmp_path: Path) -> None:
    """FIFOs (in a folder and given directly as .png/.csv/.zip) and /dev/zero (directly and via a symlink
    named x.png) are refused at once: no blocking, no endless read."""
    src = tmp_path / "in"
    make_class_folder(src, {"cat": 2})
    fifo(src / "cat" / "pipe.png")
    (src / "cat" / "zero.png").symlink_to("/dev/zero")
    (src / "cat" / "loop.png").symlink_to(src / "cat" / "loop.png")
    direct = [fifo(tmp_path / "p.png"), fifo(tmp_path / "p.csv"), fifo(tmp_path / "p.zip"), Path("/dev/zero")]
    r = _import(cli, tmp_path / "proj", src, *direct, timeout=60)
    assert r.rc == 0 and r.report["added"] == 2
    reasons = r.rejected()
    assert "FIFO" in reasons[str(src / "cat" / "pipe.png")]
    assert "device" in reasons[str(src / "cat" / "zero.png")]
    assert "loop" in reasons[str(src / "cat" / "loop.png")]
    for path in direct:
        assert "not a regular file" in reasons[str(path)], reasons
    assert_integrity(tmp_path / "proj")


def test_unsupported_formats_and_names_are_reported_not_skipped(cli, tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_class_folder(src, {"dog": 2})
    (src / "dog" / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    (src / "dog" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (src / "dog" / "inner.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    (src / "dog" / "notes.txt").write_text("not an image, not ours: skipped quietly")
    disguised = tmp_path / "really-heic.png"
    disguised.write_bytes((src / "dog" / "photo.heic").read_bytes())
    bad_name = os.fsdecode(b"caf\xe9-latin1")  # not valid UTF-8 on disk
    write_image(src / "latin" / "x" / bad_name, seed=77)
    make_class_folder(tmp_path / "long", {"L" * 150: 2})
    r = _import(cli, tmp_path / "p", src, disguised, tmp_path / "long")
    assert r.rc == 0
    reasons = r.rejected()
    assert "unsupported image format (HEIC)" in reasons[str(src / "dog" / "photo.heic")]
    assert "unsupported image format (SVG)" in reasons[str(src / "dog" / "logo.svg")]
    assert "zip in a folder is not opened" in reasons[str(src / "dog" / "inner.zip")]
    assert "unsupported image format (HEIC/AVIF)" in reasons[str(disguised)]
    long_reasons = [v for k, v in reasons.items() if k.startswith(str(tmp_path / "long"))]
    assert len(long_reasons) == 2 and all("at most 100 characters" in v for v in long_reasons)
    assert r.report["added"] == 3  # 2 dogs + the non-UTF-8 name, stored with a readable name
    text = cli("import", tmp_path / "p2", src / "latin")  # text output prints the odd name, escaped
    assert text.rc == 0 and "added 1" in text.out
    assert_integrity(tmp_path / "p")


def test_csv_lists_in_other_encodings_and_naming_special_files(cli, tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_class_folder(src, {"a": 3})
    files = sorted((src / "a").iterdir())
    os.rename(files[0], src / "a" / "café.png")
    (tmp_path / "latin1.csv").write_bytes("path,label\nin/a/café.png,crème\n".encode("latin-1"))
    (tmp_path / "utf16.csv").write_text(f"path,label\n{files[1]},seize\n", encoding="utf-16")
    (tmp_path / "binary.csv").write_bytes(b"\x00\x01\x02garbage\x00" * 10)
    fifo(tmp_path / "pipe.png")
    (tmp_path / "specials.csv").write_text(f"/dev/zero,a\n{tmp_path / 'pipe.png'},a\n{src},a\n{files[2]},a\n")
    r = _import(cli, tmp_path / "p", *(tmp_path / n for n in ("latin1.csv", "utf16.csv", "binary.csv",
                                                               "specials.csv")), timeout=60)
    assert r.rc == 0 and r.report["added"] == 3
    reasons = r.rejected()
    assert reasons[str(tmp_path / "binary.csv")].startswith("unreadable CSV (binary data or UTF-16 without")
    assert "device" in reasons["/dev/zero"] and "FIFO" in reasons[str(tmp_path / "pipe.png")]
    assert "folder" in reasons[str(src)]
    info = cli("info", tmp_path / "p", "--json").report
    assert info["classes"] == {"crème": 1, "seize": 1, "a": 1}


def test_first_sigterm_cancels_an_import_with_a_true_message(tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_class_folder(src, {"a": 800}, size=16)
    fifo(src / "a" / "blocking.png")
    started = time.monotonic()
    proc, out, err = start_cli("import", str(tmp_path / "p"), str(src), "--json", "--events",
                               out_dir=tmp_path / ".run")
    deadline = time.monotonic() + 60
    while b"import_progress" not in out.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)  # one signal only
    r = finish_cli(proc, out, err, 60, started)
    kept = images_in(tmp_path / "p")
    assert r.rc == 130, r.err
    assert f"import cancelled; {kept} images imported before the cancel are kept" in r.err
    assert r.report["cancelled"] and r.report["added"] == kept < 800
    assert "FIFO" in r.rejected().get(str(src / "a" / "blocking.png"), "FIFO")
    assert_integrity(tmp_path / "p")


def test_second_signal_aborts_and_the_message_counts_what_was_kept(tmp_path: Path) -> None:
    make_class_folder(tmp_path / "in", {"a": 800}, size=16)
    started = time.monotonic()
    proc, out, err = start_cli("import", str(tmp_path / "p"), str(tmp_path / "in"), "--json", "--events",
                               out_dir=tmp_path / ".run")
    deadline = time.monotonic() + 60
    while b"import_progress" not in out.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.02)  # two signals sent at once arrive as one; a zombie child ignores the second
    proc.send_signal(signal.SIGTERM)
    r = finish_cli(proc, out, err, 60, started)
    kept = images_in(tmp_path / "p")
    assert r.rc == 130, r.err
    assert (f"import interrupted; {kept} images imported before the interruption are kept" in r.err
            or f"import cancelled; {kept} images imported before the cancel are kept" in r.err), r.err
    assert_integrity(tmp_path / "p")

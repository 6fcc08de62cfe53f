"""Hostile zips: bombs, lying directories, encrypted / Deflate64 members, odd names, nesting, many members."""

from __future__ import annotations

import zipfile
from pathlib import Path

from studio.core.images.importer import import_paths
from studio.core.project.store import Project
from tests.core.helpers import make_class_folder
from tests.hostile.conftest import assert_integrity, snapshot
from tests.hostile.fixtures import (
    DEFLATE64,
    DEFLATED,
    ENCRYPTED,
    STRONG,
    UTF8,
    RawMember,
    png_bytes,
    raw_zip,
    stored,
    zeros_member,
)


def test_zip_bombs_are_refused_from_the_directory(cli, tmp_path: Path) -> None:
    """Four 1 GiB members (about 1 MB each compressed) and one whose directory lies about its size."""
    bomb = [zeros_member(f"ds/cls/bomb{i}.png", 1 << 30) for i in range(4)]
    liar = zeros_member("ds/cls/liar.png", 64 << 20)
    liar = RawMember(liar.name, liar.payload, liar.crc, 1000, DEFLATED)  # says 1 kB, inflates to 64 MB
    good = [stored(f"ds/cls/ok{i}.png", png_bytes(i)) for i in range(3)]
    z = raw_zip(tmp_path / "bomb.zip", [*bomb, liar, *good])
    before = snapshot(tmp_path, skip=(tmp_path / "p",))
    r = cli("import", tmp_path / "p", z, "--json")
    assert r.rc == 0 and r.report["added"] == 3
    reasons = r.rejected()
    for i in range(4):
        assert reasons[f"{z}!ds/cls/bomb{i}.png"].startswith("file too large (1024 MiB uncompressed")
    assert reasons[f"{z}!ds/cls/liar.png"].startswith("unreadable")
    assert r.peak_rss_mb < 400
    assert snapshot(tmp_path, skip=(tmp_path / "p",)) == before
    assert cli("info", tmp_path / "p", "--json").report["classes"] == {"cls": 3}


def test_bad_members_are_rejected_alone_and_backslash_folders_label(cli, tmp_path: Path) -> None:
    data = png_bytes(1)
    members = [
        stored("cats\\a.png", png_bytes(10)),  # PowerShell 5 writes backslashes
        stored("dogs\\b.png", png_bytes(11)),
        stored("cats\\locked.png", data, flags=ENCRYPTED),
        stored("cats\\strong.png", data, flags=ENCRYPTED | STRONG),
        RawMember(b"cats\\d64.png", data, 0, len(data), DEFLATE64),
        stored("cats\\inner.zip", (raw_zip(tmp_path / "inner.zip", [stored("x.png", png_bytes(12))])).read_bytes()),
        stored("cats\\photo.heic", b"\x00\x00\x00\x18ftypheic"),
        stored("cats\\readme.txt", b"quietly not ours"),
    ]
    z = raw_zip(tmp_path / "win.zip", members)
    bad_name = raw_zip(tmp_path / "badname.zip", [stored(b"caf\xe9.png", png_bytes(13), flags=UTF8)])
    r = cli("import", tmp_path / "p", z, bad_name, "--json")
    assert r.rc == 0 and r.report["added"] == 2
    reasons = r.rejected()
    assert "encrypted" in reasons[f"{z}!cats\\locked.png"] and "encrypted" in reasons[f"{z}!cats\\strong.png"]
    assert "Deflate64" in reasons[f"{z}!cats\\d64.png"]
    assert "zip inside a zip is not opened" in reasons[f"{z}!cats\\inner.zip"]
    assert "HEIC" in reasons[f"{z}!cats\\photo.heic"]
    assert "not valid UTF-8" in reasons[str(bad_name)]
    assert cli("info", tmp_path / "p", "--json").report["classes"] == {"cats": 1, "dogs": 1}
    assert_integrity(tmp_path / "p")


def test_a_zip_is_opened_once_so_import_is_linear(tmp_path: Path, monkeypatch) -> None:
    """The quadratic import re-read the central directory for every member; count the reads."""
    src = tmp_path / "src"
    make_class_folder(src, {"a": 150, "b": 150}, size=8)
    z = tmp_path / "many.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(src.rglob("*.png")):
            zf.write(f, f.relative_to(src).as_posix())
    reads = []
    real = zipfile.ZipFile._RealGetContents
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda self: (reads.append(1), real(self))[1])
    with Project.create(tmp_path / "p") as project:
        report = import_paths(project, [z])
        assert len(report.added) == 300 and not report.rejected
        assert project.counts()["a"]["train"] > 0
    assert len(reads) == 1

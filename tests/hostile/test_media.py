"""Read-only and full media, made real: a read-only bind mount and a tiny tmpfs (needs root and mount).

Where mounting is not allowed (not root, a container without CAP_SYS_ADMIN) the tests skip and say why;
``chattr +i`` on project.db covers read-only there as far as SQLite is concerned.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.helpers import make_class_folder
from tests.hostile.conftest import assert_integrity, can_mount, images_in


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.fixture
def read_only_copy(cli, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(writable project, the same folder mounted read-only)."""
    if not can_mount():
        pytest.skip("read-only media needs root and mount here")
    make_class_folder(tmp_path / "in", {"a": 3, "b": 3})
    assert cli("import", tmp_path / "p", tmp_path / "in").rc == 0
    ro = tmp_path / "ro"
    ro.mkdir()
    if not (_mount("--bind", str(tmp_path / "p"), str(ro)) and _mount("-o", "remount,ro,bind", str(ro))):
        _umount(ro)
        pytest.skip("bind mounts are not allowed here")
    try:
        yield tmp_path / "p", ro
    finally:
        _umount(ro)


def test_read_only_project_reads_and_refuses_writes_in_one_line(cli, read_only_copy, tmp_path: Path) -> None:
    writable, ro = read_only_copy
    info = cli("info", ro, "--json")
    assert info.rc == 0 and info.report["images"] == 6
    assert cli("runs", ro).rc == 0
    r = cli("import", ro, tmp_path / "in" / "a")  # duplicates only: nothing to write but still a write attempt
    assert r.rc in (0, 1)
    make_class_folder(tmp_path / "new", {"c": 2}, size=20)
    r = cli("import", ro, tmp_path / "new")
    assert r.rc == 1 and "read-only" in r.one_error_line()
    assert images_in(writable) == 6
    assert_integrity(writable)


def test_full_disk_stops_an_import_in_one_line_and_keeps_what_was_committed(cli, tmp_path: Path) -> None:
    if not can_mount():
        pytest.skip("a full disk needs root and mount (tmpfs) here")
    small = tmp_path / "small"
    small.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)):
        pytest.skip("tmpfs mounts are not allowed here")
    try:
        make_class_folder(tmp_path / "in", {"a": 60, "b": 60}, size=48)  # ~7 kB each: more than 1 MB
        r = cli("import", small / "p", tmp_path / "in")
        assert r.rc == 1, r.out + r.err
        line = r.one_error_line()
        assert "disk full" in line and "images were imported before the error" in line
        assert_integrity(small / "p")
        kept = images_in(small / "p")
        assert kept < 120
        info = cli("info", small / "p", "--json")  # reading still works on the full disk
        assert info.rc == 0 and info.report["images"] == kept
    finally:
        _umount(small)

import sqlite3

import pytest

from studio.core.project.store import SCHEMA_VERSION, SPLITS, NewImage, Project, ProjectError, split_for


def _new(sha: str, label: str | None = "cat") -> NewImage:
    return NewImage(sha256=sha, original_name=f"{sha[:6]}.png", ext=".png", width=8, height=8, channels=3,
                    label=label)


def _sha(i: int) -> str:
    import hashlib

    return hashlib.sha256(str(i).encode()).hexdigest()


def test_create_uses_wal_foreign_keys_and_schema_version(tmp_path):
    p = Project.create(tmp_path / "p")
    assert p._query("PRAGMA journal_mode")[0][0] == "wal"
    assert p._query("PRAGMA foreign_keys")[0][0] == 1
    assert p._query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
    assert (tmp_path / "p" / "images").is_dir() and (tmp_path / "p" / "runs").is_dir()
    p.close()
    with Project.open(tmp_path / "p") as again:
        assert again.integrity_check() == "ok"


def test_open_newer_schema_fails_clearly(tmp_path):
    Project.create(tmp_path / "p").close()
    conn = sqlite3.connect(tmp_path / "p" / "project.db")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ProjectError, match="newer"):
        Project.open(tmp_path / "p")


def test_open_missing_and_create_twice(tmp_path):
    with pytest.raises(ProjectError, match="not a project"):
        Project.open(tmp_path / "nothing")
    Project.create(tmp_path / "p").close()
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(tmp_path / "p")


def test_classes_labels_merge_delete_and_restore(tmp_path):
    with Project.create(tmp_path / "p") as p:
        ids = p.add_images([_new(_sha(i), "cat" if i < 3 else "dog") for i in range(5)])
        cat, dog = p.class_by_name("cat"), p.class_by_name("dog")
        assert {c.name for c in p.classes()} == {"cat", "dog"} and cat.color != dog.color
        with pytest.raises(ProjectError):
            p.add_class("cat")
        before = p.set_labels(ids[:2], dog.id)
        assert before == {ids[0]: cat.id, ids[1]: cat.id}
        assert [i.label for i in p.images(ids=ids[:2])] == ["dog", "dog"]
        p.restore_labels(before)
        assert [i.label for i in p.images(ids=ids[:2])] == ["cat", "cat"]
        moved = p.merge_classes(cat.id, dog.id)
        assert sorted(moved) == ids[:3] and p.class_names() == ["dog"]
        bird = p.add_class("bird")
        p.set_labels(ids[:1], bird.id)
        freed = p.delete_class(bird.id)
        assert freed == ids[:1] and p.images(ids=ids[:1])[0].label is None
        p.restore_class(bird, freed)
        assert p.images(ids=ids[:1])[0].label == "bird"
        p.rename_class(bird.id, "  big   bird ")
        assert "big bird" in p.class_names()
        with pytest.raises(ProjectError):
            p.rename_class(bird.id, "dog")


def test_trash_and_restore(tmp_path):
    with Project.create(tmp_path / "p") as p:
        ids = p.add_images([_new(_sha(i)) for i in range(4)])
        p.trash_images(ids[:2])
        assert [i.id for i in p.images()] == ids[2:]
        assert [i.id for i in p.images(trashed=True)] == ids[:2]
        assert sum(p.counts()["cat"].values()) == 2
        p.restore_images(ids[:1])
        assert len(p.images()) == 3


def test_filters_search_escapes_wildcards(tmp_path):
    with Project.create(tmp_path / "p") as p:
        p.add_images([_new(_sha(1)), _new(_sha(2), None)])
        p.add_images([NewImage(_sha(3), "100%_sure.png", ".png", 4, 4, 3, "cat")])
        assert [i.original_name for i in p.images(search="%_")] == ["100%_sure.png"]
        assert len(p.images(unlabelled=True)) == 1
        assert len(p.images(class_id=p.class_by_name("cat").id)) == 2


def test_split_is_stable_and_stratified(tmp_path):
    with Project.create(tmp_path / "p") as p:
        p.add_images([_new(_sha(i), "a" if i % 2 else "b") for i in range(400)])
        first = {i.sha256: i.split for i in p.images()}
        counts = p.counts()
        for name in ("a", "b"):
            n = sum(counts[name].values())
            assert abs(counts[name]["train"] - 0.7 * n) <= 2
            assert abs(counts[name]["val"] - 0.15 * n) <= 2
            assert abs(counts[name]["test"] - 0.15 * n) <= 2
        # Re-adding (duplicates) never changes a split.
        p.add_images([_new(_sha(i), "a") for i in range(400)])
        assert {i.sha256: i.split for i in p.images()} == first
    assert split_for(_sha(7)) == split_for(_sha(7)) and split_for(_sha(7)) in SPLITS


def test_runs_lifecycle(tmp_path):
    with Project.create(tmp_path / "p") as p:
        with pytest.raises(ProjectError, match="no finished run"):
            p.latest_finished_run()
        r1 = p.create_run("cnn", {"epochs": 1})
        assert p.run_dir(r1.id).is_dir() and r1.status == "running"
        p.update_run(r1.id, status="finished", metrics={"macro_f1": 0.9})
        r2 = p.create_run("dense", {"epochs": 1})
        p.update_run(r2.id, status="failed", error="boom")
        assert p.latest_finished_run().id == r1.id
        assert p.run(r2.id).error == "boom" and p.run(r1.id).metrics["macro_f1"] == 0.9
        assert p.resolve_run(None).id == r1.id
        with pytest.raises(ProjectError):
            p.run("nope")


def test_failed_transaction_rolls_back(tmp_path):
    with Project.create(tmp_path / "p") as p:
        p.add_images([_new(_sha(1))])
        with pytest.raises(RuntimeError):
            with p.transaction() as c:
                c.execute("UPDATE images SET class_id = NULL")
                raise RuntimeError("crash mid-write")
        assert p.images()[0].label == "cat"


def test_settings_round_trip(tmp_path):
    with Project.create(tmp_path / "p") as p:
        assert p.get_setting("augment", {"x": 1}) == {"x": 1}
        p.set_setting("augment", {"rotation": 30})
    with Project.open(tmp_path / "p") as p:
        assert p.get_setting("augment") == {"rotation": 30}


def test_add_images_returns_the_new_ids_in_batch_order(tmp_path):
    """One batch with a hash the project has, the same new hash twice and a new class: one row per new
    hash, the ids those rows got, in the batch's order."""
    with Project.create(tmp_path / "p") as p:
        (old,) = p.add_images([_new(_sha(0), "a")])
        ids = p.add_images([_new(_sha(1), "b"), _new(_sha(0), "a"), _new(_sha(2), None), _new(_sha(1), "b"),
                            _new(_sha(3), "a")])
        assert len(ids) == 3 and ids == sorted(ids) and old not in ids
        rows = {i.id: (i.sha256, i.label) for i in p.images()}
        assert [rows[i] for i in ids] == [(_sha(1), "b"), (_sha(2), None), (_sha(3), "a")]
        assert p.add_images([_new(_sha(2), "b")]) == [] and len(p.images()) == 4

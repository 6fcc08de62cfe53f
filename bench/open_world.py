"""Open world: which known-vs-unknown score tells the classes' images from everything else, per architecture.

Two data sets, each with known kinds (the classes) and unknown kinds (none of the classes):

- ``photos``: 3 kinds of real photo regions (scikit-learn's sample photos: pagoda roof, dahlia, lake; 30
  training crops each, 30 unseen test crops each from another part of the region) vs 150 crops of the 5 other
  regions of those photos plus 60 generated scenes (walls, desk shapes, noise, stripes);
- ``digits``: the demo's handwritten digits (its own train / val / test splits) vs 104 drawn capital letters and
  60 gray photo crops.

For every architecture the studio's own ``train()`` trains one run; its penultimate features (the input of the
last Dense layer), logits and probabilities on the validation, unseen known and unknown images give each
candidate score. Printed per candidate: AUROC (known vs unknown), "refused" = share of unknown images refused
when the threshold keeps 95 % of the unseen known images (oracle), and with the threshold calibrated as the
studio does (:func:`studio.core.evaluation.unsure.calibrate_score`: validation + leave-one-out training scores)
the share of known test images kept and of unknown ones refused.

    .venv/bin/python bench/open_world.py [--datasets photos digits] [--arch pretrained cnn ...] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.few_shot_data import REGIONS, photo_crops  # noqa: E402
from bench.open_world_data import letters, other_images  # noqa: E402
from studio.commands.output import table  # noqa: E402
from studio.core.evaluation import known_score  # noqa: E402
from studio.core.images.importer import import_paths  # noqa: E402
from studio.core.project.demo import create_demo_project  # noqa: E402
from studio.core.project.store import Project  # noqa: E402
from studio.core.specs import PreprocessSpec, TrainConfig  # noqa: E402

KNOWN_PHOTOS = ("pagoda_roof", "dahlia", "lake")
KEEP = 0.95
ARCHS = ("pretrained", "cnn", "cnn_dropout", "dense", "compact")
SETTINGS = {  # (dataset, arch) -> (image size, colour, epochs)
    "photos": {"pretrained": (128, "rgb", 100), "default": (32, "rgb", 30)},
    "digits": {"pretrained": (64, "gray", 100), "default": (16, "gray", 10)},
}


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(len(known)), np.zeros(len(unknown))]
    return float(roc_auc_score(y, np.r_[known, unknown]))


def refused_at(known: np.ndarray, unknown: np.ndarray, keep: float = KEEP) -> float:
    threshold = np.quantile(known, 1 - keep)
    return float(np.mean(unknown < threshold))


# ----- candidates: (train features, labels, logits) -> (scorer(features, logits, probs), training scores) ----
def candidates() -> dict:
    from sklearn.covariance import LedoitWolf

    def maha(f_tr, y_tr, logits_tr, d: int = 64):
        u = known_score.unit(f_tr)
        centre = u.mean(0)
        _, _, vt = np.linalg.svd(u - centre, full_matrices=False)
        p = vt[:d].T
        z = (u - centre) @ p
        classes = np.unique(y_tr)
        means = np.stack([z[y_tr == c].mean(0) for c in classes])
        precision = LedoitWolf().fit(z - means[np.searchsorted(classes, y_tr)]).precision_

        def score(f, logits, probs):
            diff = ((known_score.unit(f) - centre) @ p)[:, None, :] - means[None]
            return -np.einsum("nkd,de,nke->nk", diff, precision, diff).min(1)
        return score, None

    def fitted(method: str, **kw):
        def make(f_tr, y_tr, logits_tr):
            fit = known_score.fit(method, f_tr, y_tr, logits_tr=logits_tr, **kw)
            return (lambda f, logits, probs: fit.score(f, logits)), fit.train_scores
        return make

    def plain(fn):
        return lambda f_tr, y_tr, logits_tr: ((lambda f, logits, probs: fn(f, logits, probs)), None)

    return {
        "max probability": plain(lambda f, logits, probs: probs.max(1)),
        "energy": plain(lambda f, logits, probs: np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1))
                        + logits.max(1)),
        "mahalanobis (by hand, pca64)": maha,
        known_score.MAHALANOBIS: fitted(known_score.MAHALANOBIS),
        known_score.MAX_LOGIT: fitted(known_score.MAX_LOGIT),
        "cosine-nearest, all training images": fitted(known_score.COSINE, max_prototypes=100000, basis=None),
        "cosine-nearest, 64 k-means prototypes": fitted(known_score.COSINE, max_prototypes=64, basis=None),
        "cosine-nearest, basis 32": fitted(known_score.COSINE, basis=32),
        known_score.COSINE: fitted(known_score.COSINE),
    }


def outputs(network, paths: list[Path], spec: PreprocessSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from studio.core.images.imaging import load_rgb
    from studio.core.preprocess import preprocess

    x = np.stack([np.asarray(preprocess(load_rgb(p), spec)) for p in paths])
    feats, probs = known_score.features_of(network, x)
    kernel, bias = network.layers[-1].get_weights()
    return feats, feats @ kernel + bias, probs


# ----- data ---------------------------------------------------------------------------------------------
def photos(root: Path) -> tuple[Project, list[Path], list[str], list[Path]]:
    others = tuple(n for n in REGIONS if n not in KNOWN_PHOTOS)
    known = photo_crops(root / "known", n_train=38, n_test=30, classes=KNOWN_PHOTOS)
    unknown_crops = photo_crops(root / "unknown", n_train=0, n_test=30, classes=others, seed=5)
    project = Project.create(root / "project", name="photos")
    for name, paths in known["train"].items():
        import_paths(project, paths, label=name)
    test = [p for ps in known["test"].values() for p in ps]
    unknown = [p for ps in unknown_crops["test"].values() for p in ps] + other_images(root / "other", 60)
    return project, test, [p.parent.name for p in test], unknown


def digits(root: Path) -> tuple[Project, list[Path], list[str], list[Path]]:
    project, _ = create_demo_project(root / "project")
    test, classes, names = project.labelled_split("test")
    crops = photo_crops(root / "unknown", n_train=0, n_test=12, classes=tuple(REGIONS)[:5], seed=7)
    unknown = letters(root / "letters", 104) + [p for ps in crops["test"].values() for p in ps]
    return project, test, [names[c] for c in classes], unknown


def evaluate(dataset: str, arch: str, d: dict[str, np.ndarray]) -> list[dict]:
    from studio.core.evaluation.unsure import calibrate_score

    rows = []
    shipped = known_score.method_for(arch)
    for name, make in candidates().items():
        score, train_scores = make(d["f_tr"], d["y_tr"], d["logits_tr"])
        s_val, s_kn, s_un = (score(d[f"f_{p}"], d[f"logits_{p}"], d[f"probs_{p}"]) for p in ("val", "kn", "un"))
        row = {"dataset": dataset, "arch": arch, "score": name + (" *" if name == shipped else ""),
               "auroc": auroc(s_kn, s_un), "refused": refused_at(s_kn, s_un)}
        if train_scores is not None:
            t = calibrate_score(s_val, train_scores, KEEP).threshold
            row.update(kept=float(np.mean(s_kn >= t)), cal_refused=float(np.mean(s_un < t)))
            for rule, pools in (("val", (s_val, ())), ("loo", ((), train_scores))):
                tr = calibrate_score(*pools, KEEP).threshold
                row[f"kept_{rule}"] = float(np.mean(s_kn >= tr))
                row[f"refused_{rule}"] = float(np.mean(s_un < tr))
            right = d["probs_kn"].argmax(1) == d["y_kn"]
            row["accuracy_answered"] = float(np.mean(right[s_kn >= t])) if np.any(s_kn >= t) else None
        rows.append(row)
    return rows


def run(dataset: str, archs: list[str], dump: Path | None = None) -> list[dict]:
    from studio.core.evaluation.predict import load_run_model
    from studio.core.training.run import train

    rows = []
    with tempfile.TemporaryDirectory(prefix=f"open-world-{dataset}-") as tmp:
        project, test, test_names, unknown = (photos if dataset == "photos" else digits)(Path(tmp))
        for arch in archs:
            size, color, epochs = SETTINGS[dataset].get(arch, SETTINGS[dataset]["default"])
            spec = PreprocessSpec(image_size=size, color=color)
            run_rec = train(project, TrainConfig(arch=arch, preprocess=spec, epochs=epochs, seed=0))
            network = load_run_model(project, run_rec)
            labels = project.run_folder(run_rec).labels()
            tr_paths, tr_y, _ = project.labelled_split("train", labels)
            va_paths, _, _ = project.labelled_split("val", labels)
            tr = outputs(network, tr_paths, spec)
            val = outputs(network, va_paths, spec)
            kn = outputs(network, test, spec)
            un = outputs(network, unknown, spec)
            data = {"y_tr": np.asarray(tr_y), "y_kn": np.array([labels.index(n) for n in test_names])}
            for part, arrays in (("tr", tr), ("val", val), ("kn", kn), ("un", un)):
                for key, a in zip(("f", "logits", "probs"), arrays):
                    data[f"{key}_{part}"] = a
            if dump:
                dump.mkdir(parents=True, exist_ok=True)
                np.savez(dump / f"{dataset}-{arch}.npz", **data)
            rows += evaluate(dataset, arch, data)
            show([r for r in rows if r["arch"] == arch])
        project.close()
    return rows


HEADERS = ["data", "arch", "score", "AUROC", "refused@95%", "kept (cal)", "refused (cal)", "kept (val)",
           "refused (val)", "kept (loo)", "refused (loo)", "acc answered"]


def show(rows: list[dict]) -> None:
    def pct(r: dict, key: str) -> str:
        return f"{r[key]:.0%}" if r.get(key) is not None else ""
    table(HEADERS, [[r["dataset"], r["arch"], r["score"], f"{r['auroc']:.3f}", pct(r, "refused"), pct(r, "kept"),
                     pct(r, "cal_refused"), pct(r, "kept_val"), pct(r, "refused_val"), pct(r, "kept_loo"),
                     pct(r, "refused_loo"), f"{r['accuracy_answered']:.3f}" if r.get("accuracy_answered") else ""]
                    for r in rows])
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["photos", "digits"], choices=["photos", "digits"])
    ap.add_argument("--arch", nargs="+", default=list(ARCHS))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--dump", type=Path, default=None, help="save each run's features here (npz)")
    ap.add_argument("--from-dump", type=Path, default=None, help="evaluate saved features instead of training")
    args = ap.parse_args(argv)
    if args.from_dump:
        rows = []
        for d in args.datasets:
            for arch in args.arch:
                f = args.from_dump / f"{d}-{arch}.npz"
                if f.is_file():
                    with np.load(f) as z:
                        rows += evaluate(d, arch, dict(z))
    else:
        rows = [r for d in args.datasets for r in run(d, args.arch, args.dump)]
    print()
    show(rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

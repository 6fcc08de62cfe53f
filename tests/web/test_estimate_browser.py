"""The Export page's per-quantization test accuracy (`edge-studio export --estimate --json`, what the page runs)
equals the accuracy of the exported bundle classifying the test split in real headless Chromium (+-1 image).

A compact CNN (batch norm folded into convolutions, depthwise convolutions) is the case where measuring a
re-quantized Keras model instead of the bundle's own weights would drift.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from studio.core.export.serve import PreviewServer
from studio.core.specs import ExportOptions
from studio.core.training.data import split_items
from tests.web.conftest import classify_file, launch, open_bundle, require_browser
from tests.web.fixtures import train_run

COMPACT_BUNDLE_BUDGET = 1_600_000
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("web_estimate")]


@pytest.mark.timeout(1800)  # about 3 minutes on a quiet 2-core machine; generous for a loaded one
def test_estimated_accuracy_is_the_bundles_accuracy_in_the_browser(tmp_path: Path, playwright_instance: Any) -> None:
    require_browser()
    from studio.core.export.exporter import export_bundle
    from studio.core.export.web_runtime import WEBGL_FILE

    run = train_run(tmp_path / "project", arch="compact", image_size=16, epochs=6, limit=500)
    done = subprocess.run([sys.executable, "-m", "studio", "export", str(run.project.root), run.run_id, "--estimate",
                           "--json"], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]  # JSON only on stdout
    estimated = {row["quantization"]: row for row in lines if row.get("event") == "quantization"}
    assert set(estimated) == {"none", "float16", "uint8"}

    test = split_items(run.project, "test", run.labels)
    assert len(test) >= 60
    assert estimated["none"]["test_accuracy"] > 0.5, estimated  # a model that learned, not chance
    browser = launch(playwright_instance)
    try:
        for quantization in ("float16", "uint8"):
            result = export_bundle(run.project, run.run_id, tmp_path / quantization,
                                   ExportOptions(quantization=quantization))
            bundle = result.out
            # A model this small ships the SIMD wasm binary only and no WebGL backend (issue 24).
            assert result.bytes <= COMPACT_BUNDLE_BUDGET, result.bytes
            assert [f for f in result.files if f.endswith(".wasm")] == ["vendor/tfjs-backend-wasm-simd.wasm"]
            assert f"vendor/{WEBGL_FILE}" not in result.files and WEBGL_FILE not in (bundle / "index.html").read_text()
            assert estimated[quantization]["model_bytes"] == sum(
                p.stat().st_size for p in (bundle / "model").iterdir())
            with PreviewServer(bundle) as server:
                context, page, _, errors = open_bundle(browser, server.url)
                try:
                    choice = page.evaluate("window.edgeStudio.backendChoice")
                    assert set(choice["ms"]) == {"wasm", "cpu"}
                    assert page.evaluate("window.edgeStudio.backend") == min(choice["ms"], key=choice["ms"].get)
                    right = sum(classify_file(page, Path(path))["label"] == run.labels[label]
                                for path, label in zip(test.paths, test.labels))
                finally:
                    context.close()
                assert errors == []
            in_browser = right / len(test)
            print(f"{quantization}: estimate {estimated[quantization]['test_accuracy']:.4f}, "
                  f"browser {in_browser:.4f} ({right}/{len(test)})")
            assert abs(estimated[quantization]["test_accuracy"] - in_browser) <= 1 / len(test) + 1e-9
    finally:
        browser.close()

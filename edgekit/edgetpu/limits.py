"""Coral's "Known limitations", one check per op: each takes (op, info, data) and returns
(reason, fix) when the op breaks its limitation, None when it does not.

`ops.SUPPORTED` attaches each check to its row of Coral's table; the pre-flight check in
`check.py` loops over the rows and knows nothing of any particular op.
"""

from __future__ import annotations

import math

from ..runtime.tflite_file import ModelInfo, read_tensor_data

FIX_BATCH = "fix the batch with --batch 1 (and --input-shape for other unknown sizes)"


def dims_over_one(shape) -> int:
    return sum(1 for d in shape if d > 1)


def input_shape(op, info: ModelInfo, position: int = 0) -> tuple:
    if position < len(op.inputs) and op.inputs[position] >= 0:
        return info.tensors[op.inputs[position]].shape
    return ()


def output_shape(op, info: ModelInfo) -> tuple:
    return info.tensors[op.outputs[0]].shape if op.outputs and op.outputs[0] >= 0 else ()


def _constant(data: bytes, info: ModelInfo, op, position: int):
    if position >= len(op.inputs) or op.inputs[position] < 0:
        return None
    return read_tensor_data(data, info.tensors[op.inputs[position]])


def _axes(data: bytes, info: ModelInfo, op, position: int, rank: int) -> list[int] | None:
    values = _constant(data, info, op, position)
    if values is None:
        return None
    return sorted({int(a) % rank for a in values.reshape(-1)}) if rank else []


def no_fused_activation(op, info, data):
    if op.options.get("fused_activation_function", 0):
        return (f"{op.name} has a fused activation; Coral: \"No fused activation function\"",
                "apply the activation before the pooling/concatenation (for max pooling the result is "
                "the same) so the converter does not fuse it")
    return None


def same_dilation(op, info, data):
    w, h = op.options.get("dilation_w_factor", 1), op.options.get("dilation_h_factor", 1)
    if w != h:
        return f"{op.name} dilation differs in x ({w}) and y ({h})", "use the same dilation rate in x and y"
    return None


def fully_connected(op, info, data):
    if op.options.get("weights_format", 0) != 0:
        return "FULLY_CONNECTED weights are not in the default format", "convert with the default weights format"
    shape = output_shape(op, info)
    if dims_over_one(shape) > 1:
        return (f"FULLY_CONNECTED output {list(shape)} is not one-dimensional",
                FIX_BATCH if shape[0] > 1 else "flatten before the Dense layer so that its output is [1, N]")
    return None


def softmax(op, info, data):
    shape = input_shape(op, info)
    if dims_over_one(shape) > 1 or math.prod(shape or (0,)) > 16000:
        return (f"SOFTMAX input {list(shape)}: Coral supports only a 1-D input of at most 16,000 elements",
                FIX_BATCH if shape and shape[0] > 1 else "apply softmax to a flat vector (flatten first) or on the host")
    return None


def strided_slice(op, info, data):
    strides = _constant(data, info, op, 3)
    if (strides is not None and (strides != 1).any()) or op.options.get("ellipsis_mask", 0) \
            or op.options.get("new_axis_mask", 0):
        return ("STRIDED_SLICE with strides other than 1 or an ellipsis/new-axis mask",
                "slice with strides of 1 and no ellipsis/new-axis (a plain slice)")
    return None


def no_batch_reduction(op, info, data):
    rank = len(input_shape(op, info))
    axes = _axes(data, info, op, 1, rank)
    if axes and 0 in axes and rank > 1:
        return f"{op.name} reduces the batch dimension", "reduce over the spatial/channel axes only"
    return None


def mean(op, info, data):
    problem = no_batch_reduction(op, info, data)
    if problem:
        return problem
    shape = input_shape(op, info)
    axes = _axes(data, info, op, 1, len(shape))
    if axes and shape and axes[-1] == len(shape) - 1 and shape[-1] % 4:
        return ("MEAN over the channels (z) with a channel count that is not a multiple of 4",
                "use a multiple of 4 channels before the mean")
    return None


def pad(op, info, data):
    pads = _constant(data, info, op, 1)
    if pads is not None and pads.ndim == 2 and len(pads) > 1 and pads[0].any():
        return "PAD pads the batch dimension", "pad height/width/channels only"
    return None


def split(op, info, data):
    rank = len(input_shape(op, info, 1))
    if _axes(data, info, op, 0, rank) == [0] and rank > 1:
        return "SPLIT splits the batch dimension", "split along another axis"
    return None


def pack(op, info, data):
    if op.options.get("axis", 0) == 0 and len(output_shape(op, info)) > 1:
        return "PACK packs along the batch dimension", "stack along another axis"
    return None


def concatenation(op, info, data):
    problem = no_fused_activation(op, info, data)
    if problem:
        return problem
    constants = [t for t in op.inputs if t >= 0 and info.tensors[t].is_constant]
    if not constants:
        return None
    values = read_tensor_data(data, info.tensors[constants[0]])
    if len(op.inputs) == 2 and len(constants) == 1 and values is not None and not values.any():
        return None  # zero padding, which Coral allows
    return ("CONCATENATION with a constant input that is not a single all-zero tensor",
            "concatenate activations only (a constant input may only be zero padding)")


def prelu(op, info, data):
    alpha = input_shape(op, info, 1)
    if dims_over_one(alpha) > 1:
        return (f"PRELU alpha {list(alpha)} is not 1-dimensional",
                "share PReLU parameters over height and width (Keras shared_axes=[1, 2])")
    return None


def resize(op, info, data):
    for shape in (input_shape(op, info), output_shape(op, info)):
        if len(shape) > 3 and any(d > 1 for d in shape[:-3]):
            return f"{op.name} input/output is not 3-dimensional", "resize one image at a time (batch 1)"
    return None

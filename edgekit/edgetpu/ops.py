"""What the Edge TPU compiler maps, as Coral publishes it, plus the op versions it can read.

Sources (see devices/coral/README.md for the full list):

- Coral, "TensorFlow models on the Edge TPU" (coral.ai/docs/edgetpu/models-intro), section
  "Supported operations": the operation names and their "Known limitations" below are that
  table's (the same text appears in copies such as Axis' ARTPEC-7 "supported ops" page, whose
  DLPU is an Edge TPU). Ops absent from the table are not mapped.
- Coral, "Edge TPU Compiler" (coral.ai/docs/edgetpu/compiler): one Edge TPU subgraph only,
  "as soon as an unsupported operation occurs, that operation and everything after it
  executes on the CPU", unless the compiler is run with -a (--enable_multiple_subgraphs).
- Op versions: edgetpu_compiler 16.0 (July 2021) is the last release. It stops with "Didn't
  find op for builtin opcode 'CONV_2D' version '6'" on models from TensorFlow 2.9
  (google-coral/edgetpu#631; CONV_2D v6 first appeared in TFLite 2.9.0). `MAX_VERSION` holds,
  per op, the highest version whose minimum TFLite runtime is 2.6.0 or older according to
  TensorFlow's tensorflow/lite/tools/versioning/runtime_version.cc. The 2.6 cut-off is an
  inference from the compiler's date, not a published number: newer versions are predicted
  to stop the compiler, and the compiler's own log has the last word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import limits

ON_CHIP_BYTES = 8 * 1024 * 1024  # "roughly 8 MB of SRAM" (Coral: compiler, parameter caching)
LAST_COMPILER = "16.0"
LAST_KNOWN_TFLITE = "2.6"
# Builtin operator codes up to BROADCAST_ARGS (145) existed in TFLite 2.6; later codes
# (146 RANDOM_STANDARD_NORMAL ... 150 GELU ...) postdate edgetpu_compiler 16.0.
LAST_KNOWN_BUILTIN_CODE = 145


@dataclass(frozen=True)
class OpSupport:
    """One row of Coral's supported-operations table, keyed by the TFLite builtin name."""

    name: str  # TFLite builtin operator, as in the flatbuffer
    coral_name: str  # the name in Coral's table
    limitation: str = ""  # Coral's "Known limitations" text
    # (op, ModelInfo, file bytes) -> (reason, fix) when the op breaks the limitation
    check: Callable | None = None
    note: bool = False  # the limitation is a caveat to show even when the op maps


_TABLE = [
    OpSupport("ADD", "Add"),
    OpSupport("AVERAGE_POOL_2D", "AveragePool2d", "No fused activation function.", limits.no_fused_activation),
    OpSupport(
        "CONCATENATION", "Concatenation",
        "No fused activation function. If any input is a compile-time constant tensor, there "
        "must be only 2 inputs, and this constant tensor must be all zeroes (effectively, a "
        "zero-padding op).", limits.concatenation),
    OpSupport("CONV_2D", "Conv2d", "Must use the same dilation in x and y dimensions.", limits.same_dilation),
    OpSupport("DEPTHWISE_CONV_2D", "DepthwiseConv2d", "Must use the same dilation in x and y dimensions.",
              limits.same_dilation),
    OpSupport("EXPAND_DIMS", "ExpandDims"),
    OpSupport(
        "FULLY_CONNECTED", "FullyConnected",
        "Only the default format is supported for fully-connected weights. Output tensor is "
        "one-dimensional.", limits.fully_connected),
    OpSupport("L2_NORMALIZATION", "L2Normalization"),
    OpSupport("LOGISTIC", "Logistic"),
    OpSupport("UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM", "Unidirectional LSTM only."),
    OpSupport("MAXIMUM", "Maximum"),
    OpSupport("MAX_POOL_2D", "MaxPool2d", "No fused activation function.", limits.no_fused_activation),
    OpSupport(
        "MEAN", "Mean",
        "No reduction in batch dimension. If a z-reduction, the z-dimension must be multiple of 4.", limits.mean),
    OpSupport("MINIMUM", "Minimum"),
    OpSupport("MUL", "Mul"),
    OpSupport("PACK", "Pack", "No packing in batch dimension.", limits.pack),
    OpSupport("PAD", "Pad", "No padding in batch dimension.", limits.pad),
    OpSupport(
        "PRELU", "PReLU",
        "Alpha must be 1-dimensional (only the innermost dimension can be >1 size). If using "
        "Keras PReLU with 4D input (batch, height, width, channels), then shared_axes must be "
        "[1,2] so each filter has only one set of parameters.", limits.prelu),
    OpSupport("QUANTIZE", "Quantize"),
    OpSupport("REDUCE_MAX", "ReduceMax", "Cannot operate on the batch dimension.", limits.no_batch_reduction),
    OpSupport("REDUCE_MIN", "ReduceMin", "Cannot operate on the batch dimension.", limits.no_batch_reduction),
    OpSupport("RELU", "ReLU"),
    OpSupport("RELU6", "ReLU6"),
    OpSupport("RELU_N1_TO_1", "ReLUN1To1"),
    OpSupport("RESHAPE", "Reshape", "Certain reshapes might not be mapped for large tensor sizes."),
    OpSupport(
        "RESIZE_BILINEAR", "ResizeBilinear",
        "Input/output is a 3-dimensional tensor. Depending on input/output size, this "
        "operation may not be mapped to the Edge TPU to avoid loss in precision.", limits.resize, note=True),
    OpSupport(
        "RESIZE_NEAREST_NEIGHBOR", "ResizeNearestNeighbor",
        "Input/output is a 3-dimensional tensor. Depending on input/output size, this "
        "operation may not be mapped to the Edge TPU to avoid loss in precision.", limits.resize, note=True),
    OpSupport("RSQRT", "Rsqrt"),
    OpSupport("SLICE", "Slice"),
    OpSupport("SOFTMAX", "Softmax", "Supports only 1-D input tensor with a max of 16,000 elements.", limits.softmax),
    OpSupport("SPACE_TO_DEPTH", "SpaceToDepth"),
    OpSupport("SPLIT", "Split", "No splitting in batch dimension.", limits.split),
    OpSupport("SQUEEZE", "Squeeze"),
    OpSupport(
        "STRIDED_SLICE", "StridedSlice",
        "Supported only when all strides are equal to 1 (that is, effectively a Stride op), "
        "and with ellipsis-axis-mask == 0, and new-axis-max == 0.", limits.strided_slice),
    OpSupport("SUB", "Sub"),
    OpSupport("SUM", "Sum", "Cannot operate on the batch dimension.", limits.no_batch_reduction),
    OpSupport("SQUARED_DIFFERENCE", "Squared-difference"),
    OpSupport("TANH", "Tanh"),
    OpSupport("TRANSPOSE", "Transpose"),
    OpSupport("TRANSPOSE_CONV", "TransposeConv"),
]
SUPPORTED: dict[str, OpSupport] = {row.name: row for row in _TABLE}

# Highest op version with a minimum TFLite runtime <= 2.6.0 (runtime_version.cc). Ops not
# listed here get no version prediction.
MAX_VERSION: dict[str, int] = {
    "ADD": 4, "AVERAGE_POOL_2D": 3, "CONCATENATION": 3, "CONV_2D": 5, "DEPTHWISE_CONV_2D": 6,
    "EXPAND_DIMS": 1, "FULLY_CONNECTED": 9, "L2_NORMALIZATION": 2, "LOGISTIC": 3,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": 3, "MAXIMUM": 4, "MAX_POOL_2D": 3, "MEAN": 3, "MINIMUM": 4,
    "MUL": 5, "PACK": 3, "PAD": 4, "PRELU": 1, "QUANTIZE": 2, "REDUCE_MAX": 3, "REDUCE_MIN": 3,
    "RELU": 3, "RELU6": 3, "RELU_N1_TO_1": 1, "RESHAPE": 1, "RESIZE_BILINEAR": 4,
    "RESIZE_NEAREST_NEIGHBOR": 4, "RSQRT": 2, "SLICE": 5, "SOFTMAX": 3, "SPACE_TO_DEPTH": 2,
    "SPLIT": 4, "SQUEEZE": 2, "STRIDED_SLICE": 6, "SUB": 5, "SUM": 2, "SQUARED_DIFFERENCE": 2,
    "TANH": 3, "TRANSPOSE": 5, "TRANSPOSE_CONV": 3,
    # common unsupported ops (they run on the CPU, but the compiler must still read them)
    "DEQUANTIZE": 4, "LEAKY_RELU": 2, "HARD_SWISH": 1, "ELU": 1, "CAST": 1, "ARG_MAX": 2,
    "ARG_MIN": 2, "GATHER": 5, "BATCH_MATMUL": 4, "DIV": 2, "EXP": 1, "LOG": 1, "SQRT": 1,
    "SPLIT_V": 2, "TILE": 2, "SHAPE": 1, "SELECT_V2": 1, "POW": 1, "SQUARE": 1, "ABS": 4,
    "NEG": 1, "FLOOR": 1, "FLOOR_DIV": 2, "FLOOR_MOD": 1, "DEPTH_TO_SPACE": 2, "MIRROR_PAD": 2,
    "PADV2": 4, "LOG_SOFTMAX": 2, "REDUCE_PROD": 2, "BATCH_TO_SPACE_ND": 3,
    "SPACE_TO_BATCH_ND": 3, "UNPACK": 4, "GATHER_ND": 3, "ZEROS_LIKE": 1, "FILL": 3,
}

# The edit that keeps a model on the TPU, per unsupported op (the fix shown by the check).
REPLACEMENTS: dict[str, str] = {
    "GELU": "replace GELU by ReLU6 (or ReLU)",
    "HARD_SWISH": "replace hard-swish by ReLU6",
    "LEAKY_RELU": "replace LeakyReLU by ReLU (or PReLU)",
    "ELU": "replace ELU by ReLU",
    "DEQUANTIZE": "keep the whole model integer: convert with --int8 (no float layers in the middle)",
    "SPLIT_V": "split into equal parts (SPLIT) instead of sizes that differ",
    "BATCH_MATMUL": "use a Dense (fully-connected) layer with constant weights instead of a matmul of two activations",
    "DIV": "multiply by a constant reciprocal instead of dividing",
    "ARG_MAX": "take the argmax on the host after the model (drop it from the graph)",
    "ARG_MIN": "take the argmin on the host after the model (drop it from the graph)",
    "CAST": "remove the cast: keep every tensor int8",
    "GATHER": "replace the gather by a slice or a fixed reshape",
    "SHAPE": "use static shapes (fixed batch, --batch 1) so no SHAPE op is needed",
    "CUSTOM": "replace the custom op by builtin layers from Coral's table",
    "LOG_SOFTMAX": "use Softmax, or apply the log on the host",
    "TILE": "replace the tile by a concatenation or a broadcast-free layout",
    "DEPTH_TO_SPACE": "upsample with ResizeNearestNeighbor or TransposeConv instead",
    "MIRROR_PAD": "use zero padding (Pad) instead of reflect/symmetric padding",
}


def replacement_for(name: str) -> str:
    """How to get an unsupported op out of the way of the TPU."""
    return REPLACEMENTS.get(
        name,
        f"replace {name} by layers from Coral's supported-operations table, or move it to "
        "the end of the model so everything before it stays on the Edge TPU",
    )

"""Which engine makes each recipe, and the LiteRT Quantizer side of `convert`.

Keras sources keep the TFLite converter for the recipes it makes: measured on the same model
and data (benchmarks/quantizers.py: the digits CNN trained on 1,347 digits, 200 calibration and
450 held-out digits), LiteRT Quantizer from the converter's float32 .tflite was less accurate
for each of them: SNR against Keras int8 36.7 dB (converter 40.8, top-1 agreement 0.998 vs
1.000), int16x8 37.1 dB (51.3), dynamic 50.3 dB (53.4), float16 77.0 dB (77.8). Weight-only
and blockwise recipes exist in LiteRT Quantizer only: a Keras model gets them from its float32
.tflite.
A float .tflite or PyTorch source has no SavedModel: LiteRT Quantizer makes every quantized
recipe, and its float32 artifact is the float .tflite itself (as given, or from litert-torch).

Every LiteRT Quantizer result is checked to have quantized something (edgekit.quantize.litert)
and to load, allocate and run before it is verified, so a model that fails (the issue's
`conv.cc: zero_point != 0`) is an error saying what to try, and never an artifact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .._native_log import capture_native_stderr
from ..errors import BadInputError, EdgekitError
from ..quantize import litert
from ..quantize.recipes import Recipe
from ..runtime import Model, describe
from .layers import OpNode
from .tflite import ENGINE as CONVERTER

QUANTIZER = litert.ENGINE
KERAS_ENGINES = {"float32": CONVERTER, "dynamic": CONVERTER, "float16": CONVERTER, "int8": CONVERTER,
                 "int16x8": CONVERTER, "qat-int8": CONVERTER}  # the measured choice (module docstring)


def engine_for(recipe: Recipe, source) -> str:
    """The engine that makes `recipe` from `source` (as the manifest records it)."""
    made_by = getattr(source, "made_by", None)
    if made_by is not None:  # a float .tflite or PyTorch source
        return made_by if recipe.name == "float32" else QUANTIZER
    return KERAS_ENGINES.get(recipe.name, QUANTIZER)


@dataclass(frozen=True)
class FloatModel:
    """The float .tflite LiteRT Quantizer starts from, its signature, and calibrated ranges."""

    content: bytes
    signature: str
    input_names: tuple[str, ...]

    @classmethod
    def of(cls, content: bytes) -> "FloatModel":
        signatures = describe(content, "the float model").signatures
        key = next(iter(signatures))
        return cls(content, key, tuple(signatures[key]["inputs"]))


def calibrate(float_model: FloatModel, recipe: Recipe, calibration: np.ndarray | None, batch: int) -> dict | None:
    """LiteRT Quantizer's activation ranges for `recipe` (None for recipes without calibration)."""
    if not recipe.needs_calibration:
        return None
    return litert.calibrate(float_model.content, recipe, [calibration], float_model.input_names,
                            float_model.signature, batch)


def check_runs(recipe: Recipe, content: bytes) -> None:
    """Load, allocate and invoke the model once (zeros in); one line saying what failed and
    what to try if it cannot. (The model comes from a float model that loaded and ran, in a
    child process for a file from elsewhere, so this runs in this process.)"""
    try:
        with capture_native_stderr():
            model = Model.from_bytes(content)
            model.predict([np.zeros(s.shape, s.dtype) for s in model.inputs] if len(model.inputs) > 1
                          else np.zeros(model.inputs[0].shape, model.inputs[0].dtype), raw=True)
    except EdgekitError as exc:
        hint = ("keep the ops that fail in float with `max_drop` or `min_agreement`, or try another recipe"
                if recipe.name == "int8" else "try another recipe (dynamic or weight-only-int8)")
        raise BadInputError(f"{recipe.name}: the model LiteRT Quantizer made does not load and run "
                            f"({exc.message}); nothing was written; {hint}") from exc


def quantize(float_model: FloatModel, recipe: Recipe, qsvs: dict | None, keep_float=()) -> litert.Quantized:
    """One recipe from the float model, checked to quantize something and to run."""
    result = litert.quantize(float_model.content, recipe, qsvs, keep_float)
    check_runs(recipe, result.content)
    return result


def layer_name(op, tensor_name: str) -> str:
    """A readable layer name for an op of a float .tflite: the innermost name scope of its output
    ('dense/Relu' -> 'dense', '...modules.conv.Conv2d_conv1;2' -> 'Conv2d_conv1'), the output name
    itself when it has no scope ('conv2d_21'), else the op and its index ('conv_2d_3')."""
    first = re.sub(r":\d+$", "", tensor_name.split(";")[0])
    scope = first.split("/")[-2] if "/" in first else ("" if "." in first else first)
    scope = scope.rsplit(".", 1)[-1]
    return scope or f"{op.name.lower()}_{op.index}"


def op_graph(content: bytes) -> list[OpNode]:
    """The ops of a float .tflite as the per-layer error ranking reads them (see `layer_name`)."""
    info = describe(content, "the float model")
    nodes = []
    for op in info.ops:
        output = info.tensors[op.outputs[0]].name if op.outputs else ""
        nodes.append(OpNode(op.index, op.name, output, tuple(op.inputs), tuple(op.outputs), (layer_name(op, output),)))
    return nodes

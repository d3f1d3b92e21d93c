"""Keras/SavedModel -> .tflite bytes with the TFLite converter, one recipe at a time.

Device models are restricted to TFLite builtin ops (no Flex / SELECT_TF_OPS): an op the
builtins cannot express is an error naming the op and the layer it came from.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _tf
from ..errors import BadInputError, UsageError
from ..quantize.recipes import Recipe
from .._native_log import capture_native_stderr

ENGINE = "tflite-converter"  # the quantizer behind these recipes, as manifests record it

# Converter attributes a caller may set on top of a recipe (`options=`); anything else is an
# error listing these, never silently dropped.
CONVERTER_OPTIONS = {
    "allow_custom_ops": bool,
    "experimental_new_quantizer": bool,
    "experimental_enable_resource_variables": bool,
    "exclude_conversion_metadata": bool,
}


@dataclass(frozen=True)
class Converted:
    recipe: Recipe
    content: bytes
    seconds: float


def check_options(options: dict | None) -> dict:
    options = dict(options or {})
    for key, value in options.items():
        if key not in CONVERTER_OPTIONS:
            raise UsageError(
                f"unknown converter option {key!r}; allowed: {', '.join(sorted(CONVERTER_OPTIONS))}"
            )
        if not isinstance(value, CONVERTER_OPTIONS[key]):
            raise UsageError(
                f"converter option {key} takes a {CONVERTER_OPTIONS[key].__name__}; received {value!r}"
            )
    return options


def _configure(converter, tf, recipe: Recipe, representative):
    ops = tf.lite.OpsSet
    dtypes = {"float32": tf.float32, "int8": tf.int8, "uint8": tf.uint8, "int16": tf.int16}
    converter.target_spec.supported_ops = [ops.TFLITE_BUILTINS]
    if recipe.name == "float32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if recipe.name == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif recipe.name == "int8":
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [ops.TFLITE_BUILTINS_INT8]
    elif recipe.name == "int16x8":
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [
            ops.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
    elif recipe.name == "qat-int8":
        # Ranges come from the fake-quant ops. TFLITE_BUILTINS_INT8 cannot be asked for here:
        # TF 2.21 validates it (demanding a representative dataset) before it has seen the
        # fake-quant ops; `check_fully_integer` enforces the same result afterwards.
        converter.target_spec.supported_ops = [ops.TFLITE_BUILTINS]
    if recipe.needs_calibration or recipe.needs_training:
        converter.inference_input_type = dtypes[recipe.io]
        converter.inference_output_type = dtypes[recipe.io]


def representative_dataset(input_names, calibration: list[np.ndarray], batch: int):
    """A generator factory feeding calibration samples in model-batch chunks, by input name."""

    def generate():
        n = len(calibration[0]) - len(calibration[0]) % batch
        for start in range(0, n, batch):
            yield {name: x[start : start + batch] for name, x in zip(input_names, calibration)}

    return generate


def convert_saved_model(
    saved_model_dir: Path,
    recipe: Recipe,
    input_names: list[str],
    calibration: list[np.ndarray] | None = None,
    batch: int = 1,
    options: dict | None = None,
    calibrate_only: bool = False,
) -> Converted:
    """Convert a SavedModel (with a static serving signature) to .tflite bytes for `recipe`.

    calibrate_only (int8): stop after calibration and return the float model with the
    recorded activation ranges, for `quantize_calibrated` to quantize (selectively)."""
    tf = _tf.tensorflow()
    options = check_options(options)
    if calibrate_only and recipe.name != "int8":
        raise UsageError(f"calibrate_only applies to the int8 recipe, not {recipe.name}")
    if recipe.needs_calibration and (calibration is None or len(calibration[0]) < batch):
        raise UsageError(
            f"the {recipe.name} recipe needs calibration data: pass `calib` with a folder of "
            "images, a .npy/.npz file or a built-in dataset name such as 'digits'"
        )
    started = time.perf_counter()
    with capture_native_stderr() as log:
        try:
            converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
            rep = representative_dataset(input_names, calibration, batch) if calibration else None
            _configure(converter, tf, recipe, rep)
            for key, value in options.items():
                setattr(converter, key, value)
            # The switch TFLite's QuantizationDebugger uses; there is no public one.
            converter._experimental_calibrate_only = calibrate_only  # noqa: SLF001
            content = converter.convert()
        except Exception as exc:  # ConverterError and friends; explained below
            failure = exc
        else:
            failure = None
    if failure is not None:
        raise BadInputError(explain_failure(recipe, failure, log.text)) from failure
    if recipe.needs_training:
        check_fully_integer(recipe, content)
    return Converted(recipe, bytes(content), time.perf_counter() - started)


def quantize_calibrated(calibrated: bytes, recipe: Recipe, float_nodes=()) -> bytes:
    """Quantize a calibrated model (`calibrate_only=True`) as the int8 converter does, keeping
    the ops whose output tensors are named in `float_nodes` in float.

    This is the converter's own quantizer (`mlir_quantize`, which TFLite's
    QuantizationDebugger also calls for its denylists); TensorFlow has no public entry point
    that takes a list of float nodes."""
    tf = _tf.tensorflow()
    from tensorflow.lite.python import convert as tflite_convert

    io = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}[recipe.io]
    with capture_native_stderr() as log:
        try:
            content = tflite_convert.mlir_quantize(
                calibrated, input_data_type=io, output_data_type=io,
                denylisted_nodes=list(float_nodes) or None,
            )
        except Exception as exc:  # ConverterError and friends
            failure = exc
        else:
            failure = None
    if failure is not None:
        raise BadInputError(explain_failure(recipe, failure, log.text)) from failure
    return bytes(content)


def check_fully_integer(recipe: Recipe, content: bytes) -> None:
    """Every op integer (float32 I/O may add QUANTIZE/DEQUANTIZE at the edges), else an error."""
    from ..runtime import describe

    edges = {"QUANTIZE", "DEQUANTIZE"} if recipe.io == "float32" else set()
    float_ops = [op for op in describe(bytes(content)).float_ops if op not in edges]
    if float_ops:
        raise BadInputError(
            f"{recipe.name}: op(s) {', '.join(float_ops)} stayed float after quantization-aware "
            "training (a layer without fake quantization); use the int8 recipe for this model"
        )


_UNSUPPORTED = re.compile(r"'tf\.(\w+)' op is neither a custom op nor a flex op")
_LOCATION = re.compile(r'fused\["(\w+):", "([^"@]+)')


def explain_failure(recipe: Recipe, exc: Exception, log: str) -> str:
    """One line: which op (and layer) the builtins cannot express, or the converter's reason."""
    text = f"{exc}\n{log}"
    ops = sorted(set(_UNSUPPORTED.findall(text)))
    if ops:
        layers = sorted({_layer_from_path(path) for op, path in _LOCATION.findall(text) if op in ops})
        where = f" in layer(s) {', '.join(layers)}" if layers else ""
        return (
            f"{recipe.name}: the model uses TensorFlow op(s) {', '.join(ops)}{where}, which "
            "TFLite builtin ops cannot express (device models allow no Flex ops); replace that "
            "layer with supported operations"
        )
    lines = [ln.strip() for ln in str(exc).splitlines() if "error" in ln.lower() and ln.strip()]
    reason = (lines[0] if lines else str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    return f"{recipe.name}: the TFLite converter failed: {reason[:300]}"


def _layer_from_path(path: str) -> str:
    """'functional_1_1/weird_1/erfinv/Erfinv' -> 'weird' (Keras adds _N suffixes when tracing)."""
    parts = path.split("/")
    layer = parts[1] if len(parts) > 2 else parts[0]
    return re.sub(r"(_\d+)+$", "", layer)

"""The LiteRT Quantizer engine: a float .tflite -> a quantized .tflite, one named recipe at a time.

No TensorFlow. Recipes are data: each edgekit recipe is a list of LiteRT Quantizer recipe
entries `{regex, operation, algorithm_key, op_config}` (later entries win), and "keep these ops
in float" is one more entry per op (`no_quantize` for the op's scope, its output tensors),
never a private call.

Every result is checked before anyone may write it: a recipe that quantized nothing is an
error naming the ops left in float (`check_quantized`); whether it loads and runs is the
caller's verification (edgekit.convert runs it in a child process first).

    qsvs = calibrate(float_tflite, recipe, [x], ["image"])       # int8 / int16x8 only
    result = quantize(float_tflite, recipe, qsvs)                # bytes, float ops, seconds
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .._native_log import capture_native_stderr
from ..errors import BadInputError, EdgekitError, MissingDependencyError, one_line
from ..runtime import describe
from .recipes import Recipe

ENGINE = "litert-quantizer"  # as manifests record it
MODULE = "litert_quantizer"
EXTRA = "quantize"
WEIGHTED_OPS = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "TRANSPOSE_CONV": 1,
                "CONV_3D": 1, "BATCH_MATMUL": 1, "EMBEDDING_LOOKUP": 1}  # op -> index of its weights
EDGE_OPS = {"QUANTIZE", "DEQUANTIZE"}
BLOCK = 32  # blockwise-int4's block size, along each weight row

_A8 = {"num_bits": 8, "symmetric": False, "granularity": "TENSORWISE", "dtype": "INT"}
_A16 = {"num_bits": 16, "symmetric": True, "granularity": "TENSORWISE", "dtype": "INT"}
_W8 = {"num_bits": 8, "symmetric": True, "granularity": "CHANNELWISE", "dtype": "INT"}
_W4 = {"num_bits": 4, "symmetric": True, "granularity": "CHANNELWISE", "dtype": "INT"}
_W4_BLOCK = {"num_bits": 4, "symmetric": True, "granularity": f"BLOCKWISE_{BLOCK}", "dtype": "INT"}
_F16 = {"num_bits": 16, "dtype": "FLOAT"}


def _config(weights: dict, activations: dict | None = None, compute: str = "INTEGER",
            dequantize: bool = False) -> dict:
    config = {"weight_tensor_config": weights, "compute_precision": compute, "explicit_dequantize": dequantize}
    return {"activation_tensor_config": activations, **config} if activations else config


# recipe name -> (algorithm, op_config) applied to every op LiteRT Quantizer supports
_RECIPES = {
    "dynamic": ("min_max_uniform_quantize", _config(_W8)),
    "float16": ("float_casting", _config(_F16, compute="FLOAT", dequantize=True)),
    "int8": ("min_max_uniform_quantize", _config(_W8, _A8)),
    "int16x8": ("min_max_uniform_quantize", _config(_W8, _A16)),
    "weight-only-int8": ("min_max_uniform_quantize", _config(_W8, compute="FLOAT", dequantize=True)),
    "weight-only-int4": ("min_max_uniform_quantize", _config(_W4, compute="FLOAT", dequantize=True)),
    "blockwise-int4": ("min_max_uniform_quantize", _config(_W4_BLOCK)),
}
SUPPORTED = tuple(_RECIPES)

# What to try when a recipe quantizes nothing, in the words of the ops each one covers.
_COVERS = {
    "blockwise-int4": "fully connected and embedding layers whose input size is a multiple of 32",
    "weight-only-int4": "the weights of convolutions, fully connected, batch-matmul and embedding layers",
}


def quantizer():
    """The litert_quantizer module, or a MissingDependencyError with the pip line."""
    try:
        import litert_quantizer
    except ImportError as exc:
        raise MissingDependencyError(
            f"this needs LiteRT Quantizer (the Python package litert-quantizer), which is not installed "
            f"({exc}); install it with: pip install \"edgekit[{EXTRA}]\""
        ) from exc
    return litert_quantizer


def _entry(regex: str, operation: str, algorithm: str, config: dict | None = None) -> dict:
    entry = {"regex": regex, "operation": operation, "algorithm_key": algorithm}
    return {**entry, "op_config": config} if config is not None else entry


def keep_float_entry(tensor: str) -> dict:
    """The recipe entry that keeps the op whose first output is `tensor` in float (an op's
    scope is its output tensor names joined by ';', with a trailing ';')."""
    return _entry(f"^{re.escape(tensor)};", "*", "no_quantize")


def recipe_entries(recipe: Recipe, keep_float=()) -> list[dict]:
    """`recipe` as LiteRT Quantizer recipe entries; ops whose outputs are `keep_float` stay float."""
    if recipe.name not in _RECIPES:
        raise EdgekitError(f"{recipe.name} is not a LiteRT Quantizer recipe; it has: {', '.join(SUPPORTED)}")
    algorithm, config = _RECIPES[recipe.name]
    entries = [_entry(".*", "*", algorithm, config)]
    if recipe.needs_calibration and recipe.io == "float32":
        entries += [_entry(".*", "INPUT", "no_quantize"), _entry(".*", "OUTPUT", "no_quantize")]
    elif recipe.io == "uint8":
        uint8 = _config(_W8, dict(_A8, dtype="UINT"))
        entries += [_entry(".*", "INPUT", algorithm, uint8), _entry(".*", "OUTPUT", algorithm, uint8)]
    return entries + [keep_float_entry(t) for t in keep_float]


@contextlib.contextmanager
def _quiet():
    """LiteRT Quantizer's progress bars, warnings and native logs, kept off the terminal."""
    with capture_native_stderr() as log, contextlib.redirect_stdout(io.StringIO()) as out, \
            contextlib.redirect_stderr(io.StringIO()) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield log
    log.text += out.getvalue() + err.getvalue()


def _reason(exc: BaseException) -> str:
    return one_line(f"{type(exc).__name__}: {exc}", 240)


def calibrate(float_tflite: bytes, recipe: Recipe, calibration: list[np.ndarray], input_names,
              signature: str, batch: int = 1) -> dict:
    """Activation ranges (LiteRT Quantizer's QSVs) of `recipe` on the calibration inputs, fed
    in model batches by signature input name; non-finite ranges are an error."""
    lq = quantizer()
    n = len(calibration[0]) - len(calibration[0]) % batch
    samples = [{name: x[i:i + batch].astype(np.float32) for name, x in zip(input_names, calibration)}
               for i in range(0, n, batch)]
    try:
        with _quiet():
            engine = lq.Quantizer(bytearray(float_tflite), recipe_entries(recipe))
            qsvs = engine.calibrate({signature: samples}, num_threads=os.cpu_count() or 1)
    except Exception as exc:  # noqa: BLE001 - the quantizer raises many kinds; all mean "cannot calibrate"
        raise BadInputError(f"{recipe.name}: LiteRT Quantizer could not calibrate the model ({_reason(exc)})") from exc
    bad = [name for name, qsv in qsvs.items()
           if any(not np.all(np.isfinite(np.asarray(v, np.float64))) for k, v in (qsv or {}).items() if k in ("min", "max"))]
    if bad:
        raise BadInputError(
            f"{recipe.name}: the float model computes NaN or inf on the calibration data (in {len(bad)} tensor(s), "
            f"first {bad[0]!r}); it cannot be calibrated: check the data and its preprocessing (`scale`, `mean`, "
            "`std`) or the model"
        )
    return qsvs


@dataclass(frozen=True)
class Quantized:
    """One recipe's model from LiteRT Quantizer, checked to have quantized something."""

    recipe: Recipe
    content: bytes = field(repr=False)
    seconds: float
    float_ops: tuple[str, ...] = ()  # ops the recipe covers that stayed float, e.g. ("PRELU x23",)

    @property
    def note(self) -> str | None:
        if not self.float_ops:
            return None
        if self.recipe.needs_calibration:
            return (f"{self.recipe.name}: LiteRT Quantizer left {', '.join(self.float_ops)} in float (no quantized "
                    "kernel for them in this recipe); they run in float between quantize/dequantize ops")
        return (f"{self.recipe.name}: {', '.join(self.float_ops)} kept float32 weights (LiteRT Quantizer's "
                f"{self.recipe.name} does not cover them)")


def quantize(float_tflite: bytes, recipe: Recipe, qsvs: dict | None = None, keep_float=()) -> Quantized:
    """Quantize `float_tflite` with `recipe` (calibrated ranges `qsvs` for int8/int16x8), keeping
    the ops whose outputs are named in `keep_float` in float."""
    lq = quantizer()
    if recipe.needs_calibration and not qsvs:
        raise EdgekitError(f"{recipe.name}: calibrate before quantizing (no activation ranges given)")
    started = time.perf_counter()
    entries = recipe_entries(recipe, (*keep_float, *unblockable(float_tflite, recipe)))
    try:
        with _quiet():
            engine = lq.Quantizer(bytearray(float_tflite), entries)
            content = bytes(engine.quantize(qsvs or None, enable_progress_report=False).quantized_model)
    except Exception as exc:  # noqa: BLE001
        raise BadInputError(
            f"{recipe.name}: LiteRT Quantizer failed ({_reason(exc)}); nothing was written; try another recipe"
        ) from exc
    float_ops = check_quantized(recipe, content, keep_float, float_tflite)
    return Quantized(recipe, content, time.perf_counter() - started, float_ops)


def unblockable(float_tflite: bytes, recipe: Recipe) -> tuple[str, ...]:
    """For blockwise-int4: the outputs of the ops whose weights cannot be cut in blocks of 32
    (LiteRT Quantizer would fail on them); they keep float weights, and the note says so."""
    if recipe.name != "blockwise-int4":
        return ()
    info = describe(float_tflite, "the float model")
    found = []
    for op in info.ops:
        slot = WEIGHTED_OPS.get(op.name)
        if slot is None or len(op.inputs) <= slot or op.inputs[slot] < 0 or not op.outputs:
            continue
        weight = info.tensors[op.inputs[slot]]
        if weight.is_constant and (not weight.shape or weight.shape[-1] % BLOCK):
            found.append(info.tensors[op.outputs[0]].name)
    return tuple(found)


def _counted(names) -> tuple[str, ...]:
    return tuple(f"{name} x{count}" if count > 1 else name for name, count in Counter(names).items())


def _reduced(info, index: int, producers: dict) -> bool:
    """A weight tensor stored smaller than float32: quantized, int4/int8 or float16 (directly,
    or behind the DEQUANTIZE op that weight-only recipes insert)."""
    tensor = info.tensors[index]
    op = producers.get(index)
    if op is not None and op.name == "DEQUANTIZE":
        tensor = info.tensors[op.inputs[0]]
    return tensor.is_constant and tensor.dtype != "float32"


def _weight_ops(info) -> dict[str, tuple[str, bool | None]]:
    """{output tensor name: (op name, weights reduced? None when they are not constant)}."""
    producers = {t: op for op in info.ops for t in op.outputs}
    found = {}
    for op in info.ops:
        slot = WEIGHTED_OPS.get(op.name)
        if slot is None or len(op.inputs) <= slot or op.inputs[slot] < 0 or not op.outputs:
            continue
        weight = op.inputs[slot]
        reduced = _reduced(info, weight, producers)
        constant = reduced or info.tensors[weight].is_constant
        found[info.tensors[op.outputs[0]].name] = (op.name, reduced if constant else None)
    return found


def float_weight_ops(info, before=None) -> tuple[list[str], list[str]]:
    """(ops whose weights the recipe reduced, ops left with constant float32 weights); weights
    already stored small in the float model `before` (float16, say) are not the recipe's doing."""
    was = {name: reduced for name, (_, reduced) in _weight_ops(before).items()} if before is not None else {}
    done, kept = [], []
    for name, (op, reduced) in _weight_ops(info).items():
        if reduced and not was.get(name, False):
            done.append(op)
        elif reduced is False:
            kept.append(op)
    return done, kept


def float_compute_ops(info, keep_float=()) -> tuple[list[str], list[str]]:
    """(integer ops, float ops) of a model, QUANTIZE/DEQUANTIZE and ops kept float on purpose aside."""
    integer, floating = [], []
    for op in info.ops:
        if op.name in EDGE_OPS or not op.outputs:
            continue
        output = info.tensors[op.outputs[0]]
        if output.name in keep_float:
            continue
        (floating if output.dtype in ("float32", "float16") else integer).append(op.name)
    return integer, floating


def check_quantized(recipe: Recipe, content: bytes, keep_float=(), float_tflite: bytes | None = None) -> tuple[str, ...]:
    """The ops `recipe` left in float (counted); a BadInputError when it quantized nothing."""
    info = describe(content, f"the {recipe.name} model")
    if recipe.needs_calibration:
        done, left = float_compute_ops(info, set(keep_float))
    else:
        before = describe(float_tflite, "the float model") if float_tflite is not None else None
        done, left = float_weight_ops(info, before)
    if done:
        return _counted(left)
    what = (f"every op stayed float ({', '.join(_counted(left))})" if left
            else "the model has no op with weights this recipe quantizes")
    covers = _COVERS.get(recipe.name)
    hint = f"{recipe.name} covers {covers}; " if covers else ""
    others = [name for name in ("dynamic", "weight-only-int8", "int8") if name != recipe.name]
    others = f"{', '.join(others[:-1])} or {others[-1]}"
    raise BadInputError(
        f"{recipe.name}: LiteRT Quantizer changed nothing: {what}; nothing was written; {hint}try another recipe "
        f"({others})"
    )

"""A float .tflite as a conversion source, with no TensorFlow.

The file is checked where it enters: an already quantized model is refused with what it is,
custom (and Flex) ops are refused, dynamic input sizes need `input_shape` (a dynamic batch
alone becomes `batch`, 1 by default). Files from elsewhere are then made quantizable without
changing what they compute (see `tflite_edit`: op codes in the current field, a SignatureDef
when there is none, float16 weights widened to float32, static shapes), the edit is checked to
give the same outputs, and the result is loaded once in a child process (a malformed file can
crash the interpreter). Reference outputs come from the float model through edgekit.runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._files import sha256_file, temp_folder
from ..artifact import InputRecord as InputSpec
from ..errors import BadInputError, EdgekitError, UsageError
from ..runtime import Model, describe
from ..runtime.tflite_file import pack_model, read_tflite_file, unpack_model
from . import tflite_edit
from .load import SourceModel, parse_shape

FORMAT = "tflite"
CHECK_SAMPLES = 4


@dataclass
class FloatTfliteSource(SourceModel):
    """A source whose float model is a .tflite: `content` is what LiteRT Quantizer quantizes
    (and the float32 artifact); `made_by` is the engine recorded for that float32 artifact."""

    content: bytes = field(default=b"", repr=False)
    made_by: str = "source"
    convert_s: float = 0.0  # seconds spent making `content` (litert-torch); 0 for a .tflite file


def _no_saved_model(directory) -> None:
    raise EdgekitError("a .tflite source has no SavedModel to export; it is quantized with LiteRT Quantizer")


def quantized_kind(info) -> str | None:
    """What an already quantized model is, in words; None for a float model."""
    io = [t.dtype for t in info.inputs + info.outputs if t.quantized]
    activations = [t.dtype for t in info.tensors if t.quantized and not t.is_constant]
    weights = sorted({t.dtype for t in info.tensors if t.is_constant and t.dtype not in ("int32", "int64")
                      and (t.quantized or t.dtype in ("int4", "int2"))})
    if "int16" in activations:
        return "int16 activations with int8 weights (an int16x8 model)"
    if activations or io:
        kind = (io or activations)[0]
        return f"full integer: {kind} activations and {', '.join(weights) or 'int8'} weights ({kind} I/O)"
    if weights:
        how = "weight-only" if "DEQUANTIZE" in info.op_histogram else "dynamic-range"
        return f"{how}: {', '.join(weights)} weights with float activations"
    return None


def check_float(info, name: str) -> None:
    """Refuse custom/Flex ops and already quantized models, saying what was found."""
    custom = sorted({op.custom_code or "?" for op in info.ops if op.name == "CUSTOM"})
    flex = [c for c in custom if c.startswith("Flex")]
    if flex:
        raise BadInputError(
            f"{name} uses TensorFlow (Flex) op(s) {', '.join(flex)}, which device interpreters do not have; "
            "re-export the model with TFLite builtin ops only"
        )
    if custom:
        raise BadInputError(
            f"{name} uses custom op(s) {', '.join(custom)}, whose kernels only the application that made "
            "it registers; edgekit can neither run nor quantize it: pass a model with builtin ops only"
        )
    kind = quantized_kind(info)
    if kind is not None:
        raise BadInputError(
            f"{name} is already quantized ({kind}); quantizing it again would stack a second rounding on "
            "the first and nothing could verify it against the float model: pass the float .tflite it was "
            "made from"
        )


def _fits(signature: tuple, shape: tuple) -> bool:
    return len(signature) == len(shape) and all(s in (-1, d) for s, d in zip(signature, shape))


def wanted_shapes(info, name: str, batch: int | None, input_shape: str | None) -> list[tuple] | None:
    """The static input shapes to give the model, or None when it has them already."""
    signatures = [tuple(t.shape_signature) for t in info.inputs]
    stored = [tuple(t.shape) for t in info.inputs]
    if input_shape:
        shapes = parse_shape(input_shape)
        if len(shapes) != len(signatures) or not all(_fits(s, d) for s, d in zip(signatures, shapes)):
            raise UsageError(
                f"`input_shape` {input_shape} does not fit {name}'s input shape(s) "
                f"{[list(s) for s in signatures]} (-1 = any size); match them"
            )
        return None if shapes == stored and not info.dynamic_shapes else shapes
    for tensor, signature in zip(info.inputs, signatures):
        if -1 in signature[1:]:
            raise BadInputError(
                f"{name} input '{tensor.name}' has dynamic shape {list(signature)} (-1 = any size); device "
                f"models need static shapes: pass `input_shape`, e.g. {'x'.join(str(abs(d)) for d in tensor.shape)}"
            )
    if not any(s and s[0] == -1 for s in signatures):
        if batch is not None and any(s and s[0] != batch for s in stored):
            raise UsageError(f"`batch` {batch}: {name} has a fixed batch of {stored[0][0]}; leave `batch` out")
        return stored if info.dynamic_shapes else None
    return [((batch or 1), *s[1:]) for s in stored]


def _static_shapes(content: bytes, shapes: list[tuple]) -> dict[int, tuple]:
    """Every tensor's shape (subgraph 0) once the inputs are resized to `shapes`."""
    from ..runtime.interpreter import make_interpreter

    interpreter, _ = make_interpreter(content, backend="litert")
    for detail, shape in zip(interpreter.get_input_details(), shapes):
        interpreter.resize_tensor_input(detail["index"], list(shape), strict=False)
    interpreter.allocate_tensors()
    return {int(d["index"]): tuple(int(v) for v in d["shape"]) for d in interpreter.get_tensor_details()}


def make_quantizable(content: bytes, name: str, shapes: list[tuple] | None) -> tuple[bytes, list[str]]:
    """The edited model and what was changed (empty: the bytes as given)."""
    model = unpack_model(content, name)
    changes = []
    if tflite_edit.normalize_opcodes(model):
        changes.append("op codes written in the current schema field")
    if tflite_edit.add_signature(model):
        changes.append("a signature added (it had none)")
    widened = tflite_edit.widen_float16(model)
    if widened:
        changes.append(f"{widened} float16 weight tensor(s) widened to float32 (exact)")
    if shapes is not None:
        tflite_edit.set_shapes(model, _static_shapes(content, shapes))
        changes.append(f"static input shape(s) {', '.join('x'.join(map(str, s)) for s in shapes)}")
    return (pack_model(model), changes) if changes else (content, [])


def _same_outputs(original: bytes, edited: bytes, name: str) -> None:
    """The edit must not change what the model computes (checked on fixed-seed inputs)."""
    before, after = Model.from_bytes(original), Model.from_bytes(edited)
    rng = np.random.default_rng(0)
    x = [rng.random(s.shape, dtype=np.float32).astype(s.dtype) for s in before.inputs]
    a, b = before.predict(x if len(x) > 1 else x[0]), after.predict(x if len(x) > 1 else x[0])
    a, b = (list(a.values()) if isinstance(a, dict) else [a]), (list(b.values()) if isinstance(b, dict) else [b])
    for u, v in zip(a, b):
        if not np.allclose(u, v, rtol=1e-5, atol=1e-6, equal_nan=True):
            raise EdgekitError(f"{name}: preparing the model for quantization changed its outputs (an edgekit bug)")


def _probe(content: bytes, name: str) -> None:
    """Load, allocate and invoke once in a child process (crashes become a BadInputError)."""
    from ..runtime.probe import probe_model

    with temp_folder("edgekit-tflite-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        probe_model(path, data=content)


def float_tflite_source(content: bytes, path: Path, sha256: str, kind: str, notes: list, made_by: str, *,
                        fmt: str = FORMAT, predict=None, cls=FloatTfliteSource, **extra) -> FloatTfliteSource:
    """A FloatTfliteSource (or subclass `cls`) over float .tflite bytes; its input specs are the
    .tflite's, and `predict` (inputs in that order -> outputs) defaults to running the bytes."""
    model = Model.from_bytes(content)
    specs = tuple(InputSpec(s.name, tuple(int(d) for d in s.shape), s.dtype) for s in model.inputs)

    def run(xs):
        out = model.predict(dict(zip((s.name for s in specs), xs)) if len(xs) > 1 else xs[0])
        return [np.asarray(o) for o in (out.values() if isinstance(out, dict) else [out])]

    return cls(path, fmt, kind, sha256, specs, predict or run, _no_saved_model, notes=notes, content=content,
               made_by=made_by, **extra)


def load_tflite_source(path: str | Path, *, batch: int | None = None, input_shape: str | None = None) -> FloatTfliteSource:
    """A float .tflite, checked and made quantizable (see the module docstring)."""
    path = Path(path)
    data = read_tflite_file(path)
    info = describe(data, path.name)
    check_float(info, path.name)
    shapes = wanted_shapes(info, path.name, batch, input_shape)
    _probe(data, path.name)
    content, changes = make_quantizable(data, path.name, shapes)
    if changes and shapes is None:
        _same_outputs(data, content, path.name)
    notes = [f"{path.name}: {'; '.join(changes)}; the artifacts carry these edits"] if changes else []
    widened = any("float16" in c for c in changes)
    return float_tflite_source(content, path, sha256_file(path), "float16 weights" if widened else "float32",
                               notes, "source")

"""Loading Keras models (.keras, legacy .h5) and SavedModel directories into one shape.

A `SourceModel` knows its fixed input specs (batch included), runs reference predictions and
exports a SavedModel with a static signature that the TFLite converter reads. TensorFlow and
Keras are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._files import sha256_file
from ..artifact import InputRecord as InputSpec  # name, static shape (batch first), dtype
from .scan import scan_model_file
from .. import _tf
from ..errors import BadInputError, UsageError, one_line

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
MAX_INPUT_ELEMENTS = 1 << 26  # 64 Mi values per input (a 1 x 4096 x 4096 x 4 image): far beyond a device's


@dataclass
class SourceModel:
    """A loaded model: what it is, where it came from, and how to run and export it."""

    path: Path
    format: str  # "keras" | "h5" | "savedmodel"
    kind: str  # "sequential" | "functional" | "subclassed" | "savedmodel"
    sha256: str
    inputs: tuple[InputSpec, ...]
    _predict: Callable[[list[np.ndarray]], list[np.ndarray]] = field(repr=False)
    _export: Callable[[Path], None] = field(repr=False)
    keras_model: Any = field(default=None, repr=False)
    notes: list = field(default_factory=list)

    @property
    def batch(self) -> int:
        return self.inputs[0].shape[0]

    def predict(self, inputs: list[np.ndarray], chunk: int = 8) -> list[np.ndarray]:
        """Reference outputs (float32 as the model computes), in output order. Inputs go in
        fixed-size chunks (the last one zero-padded, its padding dropped): one traced graph,
        and memory bounded by the chunk, not by the data (MobileNetV2 at 224 px: ~1 GB
        resident with chunks of 8, ~3.6 GB when 32 images go through eagerly)."""
        n = len(inputs[0])
        parts = []
        for i in range(0, n, chunk):
            batch = [_pad(x[i:i + chunk], chunk) for x in inputs]
            parts.append([o[: min(chunk, n - i)] for o in self._predict(batch)])
        return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]

    def export_saved_model(self, directory: Path) -> None:
        """Write a SavedModel whose serving signature has the static input specs."""
        self._export(Path(directory))

    def describe(self) -> dict:
        return {
            "file": self.path.name,
            "sha256": self.sha256,
            "format": self.format,
            "kind": self.kind,
            "inputs": [{"name": s.name, "shape": list(s.shape), "dtype": s.dtype} for s in self.inputs],
        }


def _pad(x: np.ndarray, size: int) -> np.ndarray:
    if len(x) == size:
        return x
    return np.concatenate([x, np.zeros((size - len(x), *x.shape[1:]), x.dtype)])


def parse_shape(text: str) -> list[tuple[int, ...]]:
    """'1x32x32x3' or '1x8x8x1,1x4' -> [(1, 32, 32, 3)] / [(1, 8, 8, 1), (1, 4)]."""
    shapes = []
    for part in text.split(","):
        try:
            dims = tuple(int(d) for d in part.strip().lower().split("x"))
        except ValueError:
            dims = ()
        if dims and all(d > 0 for d in dims) and np.prod(dims, dtype=object) > MAX_INPUT_ELEMENTS:
            raise UsageError(
                f"`input_shape` {text!r} asks for {np.prod(dims, dtype=object):,} values per input; edgekit "
                f"converts models for devices, up to {MAX_INPUT_ELEMENTS:,} values (e.g. 1x1024x1024x3)"
            )
        if not dims or any(d <= 0 for d in dims):
            raise UsageError(
                f"`input_shape` {text!r} is not a shape; write positive sizes joined by 'x', "
                "batch first, e.g. 1x32x32x3 (several inputs: 1x8x8x1,1x4)"
            )
        shapes.append(dims)
    return shapes


def load_custom_objects(path: str | Path | None) -> dict:
    """Public classes and functions defined in the module file at `path`, by name."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file() or path.suffix != ".py":
        raise BadInputError(
            f"`custom_objects` {path}: expected an existing Python file (.py) that defines "
            "the model's custom layers"
        )
    name = "edgekit_custom_objects_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # the user's module failed to import (or tried to exit): say where
        del sys.modules[name]
        what = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
        raise BadInputError(
            f"`custom_objects` {path} failed to import: {one_line(what, 300)}; a custom-objects module "
            "must only define classes and functions"
        ) from exc
    return {
        key: value
        for key, value in vars(module).items()
        if not key.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    }


def model_format(path: Path) -> str:
    """"keras", "h5" or "savedmodel" from the file itself (no TensorFlow); BadInputError else."""
    path = Path(path)
    if not path.exists():
        raise BadInputError(f"model not found: {path}; check the path")
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return "savedmodel"
        raise BadInputError(
            f"{path} is a folder without saved_model.pb; pass a .keras or .h5 file or a "
            "SavedModel folder"
        )
    if not path.is_file():
        raise BadInputError(f"{path} is not a regular file (a FIFO, device or socket); pass a model file")
    suffix = path.suffix.lower()
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise BadInputError(f"cannot read model file {path}: {exc.strerror or exc}") from exc
    if suffix == ".keras":
        if not zipfile.is_zipfile(path):
            raise BadInputError(
                f"{path} is not a valid .keras file (not a complete zip archive: truncated or "
                "not a Keras model); re-save it with model.save('model.keras')"
            )
        return "keras"
    if suffix in (".h5", ".hdf5"):
        if head != b"\x89HDF\r\n\x1a\n":
            raise BadInputError(f"{path} is not an HDF5 file (bad signature); pass a legacy Keras .h5 model")
        return "h5"
    raise BadInputError(
        f"unsupported model file {path.name!r} (extension {suffix or 'none'}); allowed: "
        ".keras, .h5/.hdf5, or a SavedModel folder"
    )


def load_model(
    path: str | Path,
    *,
    batch: int | None = None,
    input_shape: str | None = None,
    custom_objects: str | Path | None = None,
    trust: bool = False,
) -> SourceModel:
    """Load a model file or SavedModel folder with static input shapes (batch 1 by default).

    .keras/.h5 files are scanned statically first (edgekit.models.scan) and refused when they
    carry code or reach for files, unless `trust` is set. A SavedModel is a TensorFlow graph
    that cannot be scanned: it is loaded as trusted, and `notes` says so."""
    path = Path(path)
    fmt = model_format(path)
    shapes = parse_shape(input_shape) if input_shape else None
    if batch is not None and batch <= 0:
        raise UsageError(f"`batch` must be a positive integer; received {batch}")
    if shapes and batch is not None and any(s[0] != batch for s in shapes):
        raise UsageError(
            f"`batch` {batch} conflicts with `input_shape` {input_shape} (its first size is "
            "the batch); pass one of them"
        )
    batch = batch or 1
    if fmt == "savedmodel":
        if custom_objects:
            raise UsageError("`custom_objects` applies to .keras/.h5 files, not SavedModels")
        source = _load_savedmodel(path, batch, shapes)
        source.notes.append(
            f"{path.name} is a SavedModel (a TensorFlow graph that edgekit cannot scan): loaded as "
            f"trusted (sha256 {source.sha256})"
        )
        return source
    custom = load_custom_objects(custom_objects)
    if trust:
        note = f"`trust_model`: {path.name} loaded without the safety scan (sha256 {sha256_file(path)})"
    else:
        scan_model_file(path, fmt, set(custom))
        note = None
    source = _load_keras(path, fmt, batch, shapes, custom, safe_mode=not trust)
    if note:
        source.notes.append(note)
    return source


def _load_keras(path: Path, fmt: str, batch: int, shapes, custom: dict, safe_mode: bool = True) -> SourceModel:
    """Keras' own safe_mode stays on unless the user vouched for this one file (per call,
    never process-wide)."""
    keras = _tf.keras()
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=safe_mode, custom_objects=custom)
    except Exception as exc:  # Keras raises many types for bad files; all mean "cannot load"
        reason = one_line(str(exc), 400)
        raise BadInputError(
            f"cannot load {path.name} as a Keras model: {type(exc).__name__}: {reason}"
        ) from exc
    if not isinstance(model, keras.Model):
        raise BadInputError(f"{path.name} holds a {type(model).__name__}, not a Keras model")
    kind = _keras_kind(model, keras)
    specs = _keras_input_specs(model, kind, batch, shapes, path)
    return _keras_source(model, path, fmt, kind, specs)


def _keras_kind(model, keras) -> str:
    if isinstance(model, keras.Sequential):
        return "sequential"
    if isinstance(model, keras.Model) and type(model).__name__ == "Functional":
        return "functional"
    return "subclassed"


def _keras_input_specs(model, kind, batch, shapes, path) -> tuple[InputSpec, ...]:
    """Static input specs: recorded shapes with the batch fixed, or --input-shape."""
    recorded = None
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        recorded = [tuple(t.shape) for t in inputs]
        names = [_clean_name(t.name, i) for i, t in enumerate(inputs)]
        dtypes = [str(getattr(t.dtype, "name", t.dtype)) for t in inputs]
    else:
        build = model.get_build_config() if hasattr(model, "get_build_config") else None
        shape = (build or {}).get("input_shape")
        if shape is not None and all(isinstance(d, (int, type(None))) for d in shape):
            recorded = [tuple(shape)]
        names, dtypes = ["input"], ["float32"]
        if shapes:
            names = [f"input_{i}" if len(shapes) > 1 else "input" for i in range(len(shapes))]
            dtypes = ["float32"] * len(shapes)
    if shapes:
        if recorded and (len(recorded) != len(shapes) or any(
            len(r) != len(s) or any(a is not None and a != b for a, b in zip(r[1:], s[1:]))
            for r, s in zip(recorded, shapes)
        )):
            raise UsageError(
                f"`input_shape` {'x'.join(map(str, shapes[0]))} does not fit the model's "
                f"recorded input shape(s) {recorded}; leave it out or match them"
            )
        final = shapes
    elif recorded is None:
        raise BadInputError(
            f"{path.name} is a {kind} model with no recorded input shape; pass it with "
            "`input_shape`, batch first, e.g. 1x32x32x3"
        )
    else:
        if any(d is None for r in recorded for d in r[1:]):
            raise BadInputError(
                f"{path.name} has input shape(s) {recorded} with unknown sizes; device models "
                "need static shapes: pass `input_shape`, e.g. 1x224x224x3"
            )
        final = [(batch, *r[1:]) for r in recorded]
    specs = tuple(InputSpec(n, tuple(int(d) for d in s), d) for n, s, d in zip(names, final, dtypes))
    _check_numeric(specs, path)
    if kind == "subclassed" and not getattr(model, "built", True):
        model(*[np.zeros(s.shape, s.dtype) for s in specs])
    return specs


NUMERIC_DTYPES = ("float32", "float16", "float64", "bfloat16", "int8", "uint8", "int16", "int32", "int64", "bool")


def _check_numeric(specs, path: Path) -> None:
    """Device models take numbers: a string (or other) input is refused by name."""
    for spec in specs:
        if spec.dtype not in NUMERIC_DTYPES:
            raise BadInputError(
                f"{path.name}: input {spec.name!r} takes {spec.dtype} values; edgekit converts models with "
                "numeric inputs (move text processing such as tokenization out of the model)"
            )


def _clean_name(name: str, index: int) -> str:
    name = name.split(":")[0].replace("/", "_")
    return name or f"input_{index}"


def _keras_source(model, path, fmt, kind, specs) -> SourceModel:
    tf = _tf.tensorflow()

    # A traced call: eager Keras keeps per-call buffers that grow resident memory several times.
    call = tf.function(lambda *xs: model(xs[0] if len(xs) == 1 else list(xs), training=False), reduce_retracing=True)

    def predict(xs):
        out = call(*[tf.constant(x, dtype=s.dtype) for x, s in zip(xs, specs)])
        outs = list(out.values()) if isinstance(out, dict) else out
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        return [np.asarray(o) for o in outs]

    def export(directory):
        signature = [tf.TensorSpec(s.shape, s.dtype, name=s.name) for s in specs]
        model.export(
            str(directory),
            format="tf_saved_model",
            input_signature=signature if len(signature) == 1 else [signature],
            verbose=False,
        )

    return SourceModel(path, fmt, kind, sha256_file(path), specs, predict, export, model)


def _tree_sha256(directory: Path) -> str:
    """SHA-256 over a folder's files (relative names and contents), in sorted order."""
    digest = hashlib.sha256()
    for file in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(directory)).encode() + b"\0")
        digest.update(bytes.fromhex(sha256_file(file)))
    return digest.hexdigest()


def _load_savedmodel(path: Path, batch: int, shapes) -> SourceModel:
    tf = _tf.tensorflow()
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:
        reason = one_line(str(exc), 300)
        raise BadInputError(f"cannot load SavedModel {path}: {type(exc).__name__}: {reason}") from exc
    signatures = dict(getattr(loaded, "signatures", {}))
    if not signatures:
        raise BadInputError(f"SavedModel {path} has no serving signature; export one with a signature")
    key = "serving_default" if "serving_default" in signatures else sorted(signatures)[0]
    fn = signatures[key]
    arg_specs = fn.structured_input_signature[1]
    names = sorted(arg_specs)
    recorded = [tuple(arg_specs[n].shape.as_list()) for n in names]
    if shapes and len(shapes) != len(names):
        raise UsageError(f"`input_shape` gives {len(shapes)} shapes; the SavedModel has {len(names)} inputs ({', '.join(names)})")
    final = shapes or [(batch, *r[1:]) for r in recorded]
    if any(d is None for s in final for d in s):
        raise BadInputError(
            f"SavedModel {path} has input shape(s) {recorded} with unknown sizes; pass "
            "`input_shape`, e.g. 1x224x224x3"
        )
    specs = tuple(
        InputSpec(n, tuple(int(d) for d in s), arg_specs[n].dtype.name) for n, s in zip(names, final)
    )
    _check_numeric(specs, path)
    output_keys = list(fn.structured_outputs)

    def predict(xs):
        out = fn(**{s.name: tf.constant(x, dtype=s.dtype) for s, x in zip(specs, xs)})
        return [out[k].numpy() for k in output_keys]

    def export(directory):
        module = tf.Module()
        module.loaded = loaded
        tensor_specs = [tf.TensorSpec(s.shape, s.dtype, name=s.name) for s in specs]

        @tf.function(input_signature=tensor_specs)
        def serve(*args):
            out = fn(**{s.name: a for s, a in zip(specs, args)})
            return {k: out[k] for k in output_keys}

        module.serve = serve
        tf.saved_model.save(module, str(directory), signatures={"serving_default": serve})

    return SourceModel(path, "savedmodel", "savedmodel", _tree_sha256(path), specs, predict, export)

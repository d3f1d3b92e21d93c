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
from .scan import scan_model_file
from .. import _tf
from ..errors import BadInputError, UsageError

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True)
class InputSpec:
    """One model input: its signature name, static shape (batch first) and dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


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

    def predict(self, inputs: list[np.ndarray], chunk: int = 256) -> list[np.ndarray]:
        """Reference outputs (float64-free: float32 as the model computes), in output order."""
        n = len(inputs[0])
        parts = [self._predict([x[i : i + chunk] for x in inputs]) for i in range(0, n, chunk)]
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
            "inputs": [spec.to_dict() for spec in self.inputs],
        }


def parse_shape(text: str) -> list[tuple[int, ...]]:
    """'1x32x32x3' or '1x8x8x1,1x4' -> [(1, 32, 32, 3)] / [(1, 8, 8, 1), (1, 4)]."""
    shapes = []
    for part in text.split(","):
        try:
            dims = tuple(int(d) for d in part.strip().lower().split("x"))
        except ValueError:
            dims = ()
        if not dims or any(d <= 0 for d in dims):
            raise UsageError(
                f"--input-shape {text!r} is not a shape; write positive sizes joined by 'x', "
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
            f"--custom-objects {path}: expected an existing Python file (.py) that defines "
            "the model's custom layers"
        )
    name = "edgekit_custom_objects_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module failed to import: say where
        del sys.modules[name]
        raise BadInputError(
            f"--custom-objects {path} failed to import: {type(exc).__name__}: {exc}"
        ) from None
    return {
        key: value
        for key, value in vars(module).items()
        if not key.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    }


def _file_format(path: Path) -> str:
    if not path.exists():
        raise BadInputError(f"model not found: {path}; check the path")
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return "savedmodel"
        raise BadInputError(
            f"{path} is a folder without saved_model.pb; pass a .keras or .h5 file or a "
            "SavedModel folder"
        )
    suffix = path.suffix.lower()
    if suffix == ".keras":
        if not zipfile.is_zipfile(path):
            raise BadInputError(
                f"{path} is not a valid .keras file (not a complete zip archive: truncated or "
                "not a Keras model); re-save it with model.save('model.keras')"
            )
        return "keras"
    if suffix in (".h5", ".hdf5"):
        with open(path, "rb") as handle:
            if handle.read(8) != b"\x89HDF\r\n\x1a\n":
                raise BadInputError(
                    f"{path} is not an HDF5 file (bad signature); pass a legacy Keras .h5 model"
                )
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
    fmt = _file_format(path)
    shapes = parse_shape(input_shape) if input_shape else None
    if batch is not None and batch <= 0:
        raise UsageError(f"--batch must be a positive integer; received {batch}")
    if shapes and batch is not None and any(s[0] != batch for s in shapes):
        raise UsageError(
            f"--batch {batch} conflicts with --input-shape {input_shape} (its first size is "
            "the batch); pass one of them"
        )
    batch = batch or 1
    if fmt == "savedmodel":
        if custom_objects:
            raise UsageError("--custom-objects applies to .keras/.h5 files, not SavedModels")
        source = _load_savedmodel(path, batch, shapes)
        source.notes.append(
            f"{path.name} is a SavedModel (a TensorFlow graph that edgekit cannot scan): loaded as "
            f"trusted (sha256 {source.sha256})"
        )
        return source
    custom = load_custom_objects(custom_objects)
    if trust:
        note = f"--trust-model: {path.name} loaded without the safety scan (sha256 {sha256_file(path)})"
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
        reason = " ".join(str(exc).split())[:400]
        raise BadInputError(
            f"cannot load {path.name} as a Keras model: {type(exc).__name__}: {reason}"
        ) from None
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
                f"--input-shape {'x'.join(map(str, shapes[0]))} does not fit the model's "
                f"recorded input shape(s) {recorded}; leave it out or match them"
            )
        final = shapes
    elif recorded is None:
        raise BadInputError(
            f"{path.name} is a {kind} model with no recorded input shape; pass it with "
            "--input-shape, batch first, e.g. --input-shape 1x32x32x3"
        )
    else:
        if any(d is None for r in recorded for d in r[1:]):
            raise BadInputError(
                f"{path.name} has input shape(s) {recorded} with unknown sizes; device models "
                "need static shapes: pass --input-shape, e.g. --input-shape 1x224x224x3"
            )
        final = [(batch, *r[1:]) for r in recorded]
    specs = tuple(InputSpec(n, tuple(int(d) for d in s), d) for n, s, d in zip(names, final, dtypes))
    if kind == "subclassed" and not getattr(model, "built", True):
        model(*[np.zeros(s.shape, s.dtype) for s in specs])
    return specs


def _clean_name(name: str, index: int) -> str:
    name = name.split(":")[0].replace("/", "_")
    return name or f"input_{index}"


def _keras_source(model, path, fmt, kind, specs) -> SourceModel:
    tf = _tf.tensorflow()

    def predict(xs):
        out = model(xs[0] if len(xs) == 1 else list(xs), training=False)
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
        reason = " ".join(str(exc).split())[:300]
        raise BadInputError(f"cannot load SavedModel {path}: {type(exc).__name__}: {reason}") from None
    signatures = dict(getattr(loaded, "signatures", {}))
    if not signatures:
        raise BadInputError(f"SavedModel {path} has no serving signature; export one with a signature")
    key = "serving_default" if "serving_default" in signatures else sorted(signatures)[0]
    fn = signatures[key]
    arg_specs = fn.structured_input_signature[1]
    names = sorted(arg_specs)
    recorded = [tuple(arg_specs[n].shape.as_list()) for n in names]
    if shapes and len(shapes) != len(names):
        raise UsageError(f"--input-shape gives {len(shapes)} shapes; the SavedModel has {len(names)} inputs ({', '.join(names)})")
    final = shapes or [(batch, *r[1:]) for r in recorded]
    if any(d is None for s in final for d in s):
        raise BadInputError(
            f"SavedModel {path} has input shape(s) {recorded} with unknown sizes; pass "
            "--input-shape, e.g. --input-shape 1x224x224x3"
        )
    specs = tuple(
        InputSpec(n, tuple(int(d) for d in s), arg_specs[n].dtype.name) for n, s in zip(names, final)
    )
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

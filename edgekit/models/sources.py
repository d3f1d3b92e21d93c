"""Every kind of model `convert` takes, told apart by the file alone, and loaded the one way.

    keras / h5 / savedmodel   Keras or TensorFlow: the TFLite converter (edgekit[convert])
    tflite                    a float .tflite: LiteRT Quantizer, no TensorFlow (edgekit[quantize])
    pt2 / pickle              PyTorch: litert-torch, then LiteRT Quantizer (edgekit[torch])
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import BadInputError, MissingDependencyError, UsageError
from ..runtime.tflite_file import read_tflite_file
from .load import SourceModel, load_model, model_format
from .tflite_source import load_tflite_source
from .torch_source import PICKLE_SUFFIXES, check_layout, load_torch_source, refuse_pickle

FLOAT_TFLITE_FORMATS = ("tflite", "pt2", "pickle")
ALLOWED = ".keras, .h5/.hdf5, a SavedModel folder, a float .tflite, or a torch.export .pt2"
# format -> (modules that must be importable, extra that installs them, what they are)
_NEEDS = {
    "tflite": (("litert_quantizer",), "quantize", "LiteRT Quantizer (litert-quantizer)"),
    "pt2": (("torch", "litert_torch", "litert_quantizer"), "torch", "torch, litert-torch and litert-quantizer"),
    "keras": (("tensorflow", "keras"), "convert", "TensorFlow and Keras"),
}


def source_format(path: Path) -> str:
    """'keras', 'h5', 'savedmodel', 'tflite', 'pt2' or 'pickle', checked without importing any
    converter; BadInputError for anything else."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        read_tflite_file(path)  # exists, a regular file, readable, a TFLite flatbuffer
        return "tflite"
    if suffix in (".pt2", *PICKLE_SUFFIXES):
        if not path.is_file():
            raise BadInputError(f"model not found: {path}; check the path" if not path.exists()
                                else f"{path} is not a regular file; pass a model file")
        return "pt2" if suffix == ".pt2" else "pickle"
    try:
        return model_format(path)
    except BadInputError as exc:
        if "unsupported model file" in exc.message:
            raise BadInputError(f"unsupported model file {path.name!r} (extension {suffix or 'none'}); "
                                f"allowed: {ALLOWED}") from exc
        raise


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_extras(fmt: str, recipes, name: str) -> None:
    """The packages `fmt` needs for `recipes` are installed, else the exact pip line (exit 2).
    A float .tflite converted to float32 only needs nothing more."""
    key = {"h5": "keras", "savedmodel": "keras", "pickle": "pt2"}.get(fmt, fmt)
    modules, extra, what = _NEEDS[key]
    if key == "tflite" and all(r.name == "float32" for r in recipes):
        modules = ()
    if key == "keras" and any(r.quantizer_only for r in recipes):
        modules += ("litert_quantizer",)
        what, extra = f"{what}, and LiteRT Quantizer (litert-quantizer) for the weight-only recipes", "convert,quantize"
    missing = [m for m in modules if not _installed(m)]
    if missing:
        raise MissingDependencyError(
            f"converting {name} needs {what}; not installed: {', '.join(missing)}; install with: "
            f"pip install \"edgekit[{extra}]\""
        )


def check_source_options(fmt: str, name: str, *, layout: str | None, trust: bool, input_shape: str | None,
                         custom_objects=None) -> None:
    """Options that apply to some kinds of model only, and pickled PyTorch files (refused
    before torch is imported)."""
    if layout is not None:
        if fmt not in ("pt2", "pickle"):
            raise UsageError(f"`layout` applies to PyTorch models (.pt2), whose image inputs are NCHW; {name} is not one")
        check_layout(layout)
    if custom_objects is not None and fmt in FLOAT_TFLITE_FORMATS:
        raise UsageError(f"`custom_objects` applies to Keras models (.keras, .h5); {name} is not one")
    if fmt == "pickle":
        refuse_pickle(Path(name), trust, input_shape)


def load_source_model(path: Path, *, batch: int | None = None, input_shape: str | None = None,
                      custom_objects=None, trust: bool = False, layout: str | None = None) -> SourceModel:
    """Any model `convert` takes, as a SourceModel (a FloatTfliteSource for .tflite and PyTorch)."""
    fmt = source_format(path)
    if fmt == "tflite":
        return load_tflite_source(path, batch=batch, input_shape=input_shape)
    if fmt in ("pt2", "pickle"):
        return load_torch_source(path, layout=layout, batch=batch, input_shape=input_shape, trust=trust)
    return load_model(path, batch=batch, input_shape=input_shape, custom_objects=custom_objects, trust=trust)

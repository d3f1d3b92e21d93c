"""Reference outputs for benchmarks, computed on the host: a float Keras model (needs the
converter stack), a float .tflite, or an .npz saved earlier. The device side reads only the
last two (edgekit.bench.reference); this module adds Keras."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..artifact import ReferenceInfo
from ..bench.reference import read_saved_reference, tflite_reference
from ..bench.run import ReferenceOutputs
from ..errors import BadInputError
from .load import MODEL_SUFFIXES, load_model


def reference_outputs(spec: str | Path, x: np.ndarray, *, threads=None) -> ReferenceOutputs:
    """The outputs of the reference `spec` on inputs x, and where they came from."""
    path = Path(spec)
    if not path.exists():
        raise BadInputError(
            f"reference not found: {path}; pass a float .keras/.h5 model, a float .tflite or a saved .npz"
        )
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return read_saved_reference(path, x)
    if suffix == ".tflite":
        return tflite_reference(path, x, threads=threads)
    if suffix in MODEL_SUFFIXES or path.is_dir():
        source = load_model(path)
        outputs = np.asarray(source.predict([x])[0], np.float32)
        return ReferenceOutputs(outputs, ReferenceInfo(kind="keras", path=str(path)))
    raise BadInputError(
        f"unsupported reference {path.name}; allowed: .keras, .h5, a SavedModel folder, .tflite, "
        "or an .npz saved with `save_reference_to`"
    )

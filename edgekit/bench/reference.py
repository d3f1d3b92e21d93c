"""Reference outputs for accuracy comparisons: a float .keras/.h5/SavedModel (host, needs the
converter stack), a float .tflite (runtime), or an .npz saved earlier with --save-reference,
so that a device without TensorFlow can compare."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes
from ..errors import BadInputError
from ..runtime import load

REFERENCE_FORMAT = "edgekit.reference/1"


def data_fingerprint(x: np.ndarray) -> str:
    """SHA-256 of the evaluation inputs (dtype, shape and bytes): ties a saved reference to them."""
    digest = hashlib.sha256(f"{x.dtype}{x.shape}".encode())
    digest.update(np.ascontiguousarray(x).tobytes())
    return digest.hexdigest()


def _single(out):
    if isinstance(out, dict):
        return next(iter(out.values()))
    return out


def reference_outputs(spec: str | Path, x: np.ndarray, *, threads=None) -> tuple[np.ndarray, dict]:
    """(outputs, info) of the reference model `spec` on inputs x."""
    path = Path(spec)
    if not path.exists():
        raise BadInputError(f"reference not found: {path}; pass a float .keras/.h5 model, a float .tflite or a saved .npz")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _from_npz(path, x)
    if suffix == ".tflite":
        model = load(path, threads=threads)
        return np.asarray(_single(model.predict(x)), np.float32), {"kind": "tflite", "path": str(path)}
    if suffix in (".keras", ".h5", ".hdf5") or path.is_dir():
        from ..models import load_model

        source = load_model(path)
        return np.asarray(source.predict([x])[0], np.float32), {"kind": "keras", "path": str(path)}
    raise BadInputError(
        f"unsupported reference {path.name}; allowed: .keras, .h5, a SavedModel folder, .tflite, "
        "or an .npz written by --save-reference"
    )


def _from_npz(path: Path, x: np.ndarray) -> tuple[np.ndarray, dict]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "format" not in archive or str(archive["format"]) != REFERENCE_FORMAT:
                raise BadInputError(
                    f"{path} is not a reference saved by edgekit (--save-reference); save one "
                    "with: edgekit bench ... --reference model.keras --save-reference ref.npz"
                )
            outputs, fingerprint = archive["outputs"], str(archive["data_sha256"])
            source = str(archive["source"]) if "source" in archive else None
    except (OSError, ValueError, KeyError) as exc:
        raise BadInputError(f"cannot read reference {path}: {exc}") from None
    if fingerprint != data_fingerprint(x):
        raise BadInputError(
            f"reference {path.name} was computed on different data than --data; recompute it "
            "with --save-reference on the same data"
        )
    return outputs, {"kind": "npz", "path": str(path), "source": source}


def save_reference(path: str | Path, outputs: np.ndarray, x: np.ndarray, source: str) -> Path:
    """Write outputs + data fingerprint as an .npz (atomically)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise BadInputError(f"--save-reference {path}: use a .npz file name")
    buffer = io.BytesIO()
    np.savez(buffer, format=np.array(REFERENCE_FORMAT), outputs=outputs,
             data_sha256=np.array(data_fingerprint(x)), source=np.array(source))
    return atomic_write_bytes(path, buffer.getvalue())

"""Reference outputs a device can read: a float .tflite run through the runtime, or an .npz
saved earlier (`save_reference`) on the host, tied to its data by a SHA-256 of the inputs.

A Keras reference needs the converter stack, so it is computed on the host
(`edgekit.models.outputs.reference_outputs`) and reaches `run_benchmark` as arrays.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes
from ..artifact import ReferenceInfo
from ..errors import BadInputError
from ..runtime import load
from .run import ReferenceOutputs, model_outputs

REFERENCE_FORMAT = "edgekit.reference/1"


def data_fingerprint(x: np.ndarray) -> str:
    """SHA-256 of the evaluation inputs (dtype, shape and bytes): ties a saved reference to them."""
    digest = hashlib.sha256(f"{x.dtype}{x.shape}".encode())
    digest.update(np.ascontiguousarray(x).tobytes())
    return digest.hexdigest()


def tflite_reference(path: Path, x: np.ndarray, *, threads=None) -> ReferenceOutputs:
    """A float .tflite's outputs on x (loaded after a crash-isolating probe: it is a file
    from elsewhere like the models)."""
    model = load(path, threads=threads, isolate=True)
    return ReferenceOutputs(model_outputs(model, x), ReferenceInfo(kind="tflite", path=str(path)))


def read_saved_reference(path: Path, x: np.ndarray) -> ReferenceOutputs:
    """The outputs in an .npz written by `save_reference`, checked against the data x."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "format" not in archive or str(archive["format"]) != REFERENCE_FORMAT:
                raise BadInputError(
                    f"{path} is not a reference saved by edgekit; save one with: edgekit bench ... "
                    "--reference model.keras --save-reference ref.npz"
                )
            outputs, fingerprint = archive["outputs"], str(archive["data_sha256"])
            source = str(archive["source"]) if "source" in archive else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise BadInputError(f"cannot read reference {path}: {exc}") from exc
    if fingerprint != data_fingerprint(x):
        raise BadInputError(
            f"reference {path.name} was computed on different data than the benchmark's; "
            "save it again (`save_reference_to`) on the same data"
        )
    if outputs.dtype.kind != "f" or outputs.ndim < 1 or len(outputs) != len(x):
        raise BadInputError(f"reference {path.name} holds {outputs.dtype} outputs of shape {outputs.shape} "
                            f"for {len(x)} samples; save it again (`save_reference_to`)")
    return ReferenceOutputs(outputs.astype(np.float32), ReferenceInfo(kind="npz", path=str(path), source=source))


def save_reference(path: str | Path, reference: ReferenceOutputs, x: np.ndarray) -> Path:
    """Write the outputs + the data's fingerprint as an .npz (atomically)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise BadInputError(f"a saved reference is an .npz file; received {path.name}")
    buffer = io.BytesIO()
    np.savez(buffer, format=np.array(REFERENCE_FORMAT), outputs=reference.outputs,
             data_sha256=np.array(data_fingerprint(x)), source=np.array(reference.info.path))
    return atomic_write_bytes(path, buffer.getvalue())

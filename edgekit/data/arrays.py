"""Model-ready arrays from .npy and .npz files.

Arrays are taken as the model's input, as they are: no scaling, no reshaping. Integer
arrays (for example uint8 images saved with np.save) become float32 with the same values,
so they must already be in the range the model expects. A .npy holds x only; a .npz holds
`x`, optionally `y` (1-D integer class labels >= 0) and `class_names` (1-D strings).
Files are read with allow_pickle=False, so object arrays are refused.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import BadInputError, one_line
from .dataset import Dataset

NPZ_KEYS = ("x", "y", "class_names")
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"
_LOAD_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, MemoryError)


def load_npy(path: Path, sample_shape, input_shape, role: str) -> Dataset:
    """x from a .npy file, checked against the model's sample shape."""
    array = _np_load(path, role)
    if not isinstance(array, np.ndarray):
        array.close()
        raise BadInputError(
            f"{role} data {path} is a .npz archive, not a .npy array; rename it to .npz"
        )
    x = check_x(array, path, sample_shape, input_shape, role)
    return Dataset(x=x, y=None, source=str(path), kind="npy")


def load_npz(path: Path, sample_shape, input_shape, role: str) -> Dataset:
    """x (and optional y, class_names) from a .npz file, each checked."""
    archive = _np_load(path, role)
    if isinstance(archive, np.ndarray):
        raise BadInputError(
            f"{role} data {path} is a single .npy array, not a .npz archive; rename it to .npy"
        )
    with archive:
        keys = sorted(archive.files)
        _check_keys(keys, path, role)
        arrays = {key: _read_member(archive, key, path, role) for key in keys}
    x = check_x(arrays["x"], path, sample_shape, input_shape, role)
    y = check_labels(arrays["y"], len(x), path, role) if "y" in arrays else None
    names = _check_names(arrays["class_names"], path, role) if "class_names" in arrays else None
    if names is not None and y is None:
        raise BadInputError(
            f"{role} data {path} has class_names but no labels y; add y or drop class_names"
        )
    if names is not None and len(y) and int(y.max()) >= len(names):
        raise BadInputError(
            f"{role} data {path} has labels up to {int(y.max())} but only {len(names)} "
            "class_names; give one name per class"
        )
    return Dataset(x=x, y=y, source=str(path), kind="npz", class_names=names)


def check_x(array: np.ndarray, path, sample_shape, input_shape, role: str) -> np.ndarray:
    """A numeric, non-empty, finite array of shape (n, *sample_shape) -> float32."""
    if array.dtype.kind not in "fiu":
        raise BadInputError(
            f"{role} data {path} has dtype {array.dtype}; model inputs must be float or "
            "integer numbers; save a numeric array (e.g. x.astype('float32'))"
        )
    if array.ndim == 0 or array.shape[0] == 0:
        raise BadInputError(
            f"{role} data {path} has 0 samples (shape {array.shape}); it needs at least one "
            f"sample of shape {tuple(sample_shape)}"
        )
    if tuple(array.shape[1:]) != tuple(sample_shape):
        raise BadInputError(_shape_message(array, path, sample_shape, input_shape, role))
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported below
        x = array.astype(np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.flatnonzero(bad.reshape(len(x), -1).any(axis=1))[0])
        raise BadInputError(
            f"{role} data {path} has {int(bad.sum())} NaN or inf values (first in sample "
            f"{first}{', after conversion to float32' if array.dtype != x.dtype else ''}); "
            "model inputs must be finite numbers"
        )
    return x


def check_labels(array: np.ndarray, n: int, path, role: str) -> np.ndarray:
    """1-D labels, one per sample, whole numbers >= 0 -> int64."""
    if array.ndim != 1 or len(array) != n:
        raise BadInputError(
            f"{role} data {path} has labels y of shape {array.shape} for {n} samples; "
            f"y must be 1-D class indices of shape ({n},) (not one-hot: use y.argmax(axis=1))"
        )
    if array.dtype.kind == "f":
        if not (np.isfinite(array).all() and np.array_equal(array, np.round(array))):
            raise BadInputError(
                f"{role} data {path} has labels y that are not whole numbers; "
                "y must hold integer class indices"
            )
    elif array.dtype.kind not in "iu":
        raise BadInputError(
            f"{role} data {path} has labels y of dtype {array.dtype}; y must hold integer "
            "class indices"
        )
    if n and array.min() < 0:
        raise BadInputError(
            f"{role} data {path} has negative labels (smallest {array.min()}); "
            "y must hold class indices >= 0"
        )
    return array.astype(np.int64)


def _np_load(path: Path, role: str):
    _check_signature(path, role)
    _check_claimed_sizes(path, role)
    try:
        return np.load(path, allow_pickle=False)
    except _LOAD_ERRORS as exc:
        raise BadInputError(
            f"cannot read {role} data {path}: {_one_line(exc)}; save it with np.save / "
            "np.savez from numeric arrays (object arrays are not allowed)"
        ) from exc


def _claimed_bytes(handle) -> tuple[tuple, int] | None:
    """(shape, data bytes) an .npy header claims, read without reading the data."""
    try:
        version = np.lib.format.read_magic(handle)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = reader(handle)
    except (ValueError, OSError, EOFError, SyntaxError):
        return None  # numpy's own reader reports a malformed header
    if dtype.hasobject:
        return None
    return shape, int(np.prod(shape, dtype=object)) * dtype.itemsize


def _check_claimed_sizes(path: Path, role: str) -> None:
    """Refuse a header that claims more data than the file holds (a 10^12-sample header on a
    small file), before numpy tries to allocate it."""
    members = []
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    with archive.open(info) as handle:
                        members.append((info.filename, _claimed_bytes(handle), info.file_size))
        else:
            with open(path, "rb") as handle:
                members.append((path.name, _claimed_bytes(handle), path.stat().st_size))
    except (OSError, zipfile.BadZipFile, EOFError):
        return  # unreadable: np.load says so in its own words
    for name, claim, size in members:
        if claim is not None and claim[1] > size:
            raise BadInputError(
                f"{role} data {path}: {name} claims an array of shape {claim[0]} ({claim[1]:,} bytes) but holds "
                f"{size:,} bytes; the file is truncated or not what it says; save it again with np.save/np.savez"
            )


def _check_signature(path: Path, role: str) -> None:
    """Refuse files that are neither .npy nor zip (.npz) before numpy guesses "pickle"."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(6)
    except OSError as exc:
        raise BadInputError(
            f"cannot read {role} data {path}: {exc.strerror or exc}; check that it is readable"
        ) from exc
    if head != NPY_MAGIC and not head.startswith(ZIP_MAGIC):
        raise BadInputError(
            f"{role} data {path} is not a NumPy file (no .npy or .npz signature); "
            "save arrays with np.save or np.savez"
        )


def _read_member(archive, key: str, path: Path, role: str) -> np.ndarray:
    try:
        return archive[key]
    except _LOAD_ERRORS as exc:
        raise BadInputError(
            f"cannot read array {key!r} of {role} data {path}: {_one_line(exc)}; save "
            "numeric arrays with np.savez (object arrays are not allowed)"
        ) from exc


def _check_keys(keys, path: Path, role: str) -> None:
    if "x" not in keys:
        raise BadInputError(
            f"{role} data {path} has no array 'x' (found: {', '.join(keys) or 'none'}); "
            "save it as np.savez(path, x=inputs, y=labels)"
        )
    unknown = [k for k in keys if k not in NPZ_KEYS]
    if unknown:
        raise BadInputError(
            f"{role} data {path} has unexpected arrays {', '.join(unknown)}; a .npz may hold "
            f"only {', '.join(NPZ_KEYS)}; save just those"
        )


def _check_names(array: np.ndarray, path: Path, role: str) -> tuple[str, ...]:
    if array.ndim != 1 or array.dtype.kind not in "US":
        raise BadInputError(
            f"{role} data {path} has class_names of dtype {array.dtype} and shape "
            f"{array.shape}; class_names must be a 1-D array of strings"
        )
    return tuple(str(v) for v in array.tolist())


def _shape_message(array, path, sample_shape, input_shape, role: str) -> str:
    got, want = tuple(array.shape[1:]), tuple(sample_shape)
    message = (
        f"{role} data {path} has samples of shape {got} but the model input is "
        f"{tuple(input_shape)} -> expects (n, {', '.join(str(d) for d in want)})"
    )
    if tuple(array.shape) == want:
        return message + "; it looks like one sample without the batch axis: save x[None]"
    if np.prod(got, dtype=np.int64) == np.prod(want, dtype=np.int64):
        return message + f"; the sizes match: save x.reshape(-1, {', '.join(map(str, want))})"
    return message + "; resize or reshape the data to the model input before saving"


def _one_line(exc: BaseException) -> str:
    return one_line(str(exc)) or type(exc).__name__

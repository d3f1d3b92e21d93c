"""`load_data`: one entry point for calibration and evaluation data.

A spec is one of:

- a built-in set name (BUILTIN_DATASETS, e.g. "digits"), reshaped to the model input when
  that is a plain reshape (digits: (8, 8, 1), (8, 8) or (64,));
- a .npy file: model-ready inputs x of shape (n, *sample_shape), no labels;
- a .npz file: x, optional y (class indices) and class_names; see `edgekit.data.arrays`.
  Arrays are used as they are (integers become float32 without scaling);
- a folder of images, flat or one subfolder per class; see `edgekit.data.images`.
  scale / mean / std apply to image folders only: arrays must already be model-ready.

A name that is both a built-in set and an existing path is refused as ambiguous
(write ./digits for the folder). Every problem raises a one-line BadInputError that names
the path.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import BadInputError
from ..runtime.preprocess import DEFAULT_MEAN, DEFAULT_SCALE, DEFAULT_STD
from .arrays import load_npy, load_npz
from .builtin import BUILTIN_DATASETS, fit_builtin, load_builtin
from .dataset import Dataset
from .images import IMAGE_EXTENSIONS, image_preprocessing, list_images, load_image_folder

ARRAY_SUFFIXES = (".npy", ".npz")


def check_spec(spec, role: str = "calibration") -> None:
    """The checks of `load_data` that need no model: a built-in name, an existing folder, or
    an existing .npy/.npz regular file (so a mistake is reported before any model loads)."""
    if isinstance(spec, str) and spec in BUILTIN_DATASETS:
        return
    path = Path(os.fspath(spec))
    if path.is_dir():
        return
    if not path.exists():
        raise BadInputError(
            f"{role} data not found: {path}; pass an image folder, a .npy or .npz file, "
            f"or a built-in set ({', '.join(BUILTIN_DATASETS)})"
        )
    if not path.is_file():
        raise BadInputError(f"{role} data {path} is not a regular file (a FIFO, device or socket); pass a file")
    suffix = path.suffix.lower()
    if suffix not in ARRAY_SUFFIXES:
        raise BadInputError(
            f"{role} data {path} has an unsupported type {suffix or '(no extension)'!r}; "
            f"allowed: an image folder, a .npy or .npz file, or a built-in set "
            f"({', '.join(BUILTIN_DATASETS)}); for single images put them in a folder"
        )


def load_data(spec, input_shape, *, scale=DEFAULT_SCALE, mean=DEFAULT_MEAN, std=DEFAULT_STD,
              max_samples: int | None = None, role: str = "calibration", name: str | None = None) -> Dataset:
    """Load `spec` as model-ready data for a model whose input shape is `input_shape`.

    input_shape includes the batch axis, e.g. (1, 28, 28, 1) or (1, 64); the returned x has
    shape (n, *input_shape[1:]). max_samples keeps an evenly spread, deterministic subset
    (in sorted order; for class folders that spreads it across the classes). role
    ("calibration", "evaluation", ...) names the data in error messages. `name` is what the
    result's `source` says (and so manifests and results) instead of the spec: for data that
    lives in a temporary file, e.g. "the test split of photos/".
    """
    dataset = _load(spec, input_shape, scale, mean, std, max_samples, role)
    return dataset if name is None else replace(dataset, source=name)


def _load(spec, input_shape, scale, mean, std, max_samples, role) -> Dataset:
    sample_shape = check_input_shape(input_shape)
    check_max_samples(max_samples)
    if isinstance(spec, str) and spec in BUILTIN_DATASETS:
        return _load_builtin(spec, sample_shape, input_shape, max_samples, role)
    path = Path(os.fspath(spec))
    if path.is_dir():
        return _load_folder(path, input_shape, scale, mean, std, max_samples, role)
    check_spec(path, role)
    loader = load_npy if path.suffix.lower() == ".npy" else load_npz
    return subset(loader(path, sample_shape, input_shape, role), max_samples)


def check_input_shape(input_shape) -> tuple[int, ...]:
    """The sample shape (input_shape without its batch axis), all dimensions known."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if not shape or len(shape) < 2 or not all(_is_size(d) for d in shape[1:]):
        raise BadInputError(
            f"the model input shape must be (batch, ...) with known sizes after the batch "
            f"axis; received {input_shape!r}; give the model a fixed input shape"
        )
    return tuple(int(d) for d in shape[1:])


def check_max_samples(max_samples) -> None:
    """None or a positive integer."""
    if max_samples is not None and not _is_size(max_samples):
        raise BadInputError(
            f"max_samples must be a positive integer or None; received {max_samples!r}"
        )


def spread_indices(n: int, k: int | None) -> np.ndarray:
    """k indices evenly spread over range(n), ascending (all of them when k is None or >= n)."""
    if k is None or k >= n:
        return np.arange(n)
    return np.floor(np.arange(k) * (n / k)).astype(np.int64)


def subset(ds: Dataset, max_samples: int | None) -> Dataset:
    """`ds` cut to at most max_samples samples with `spread_indices`."""
    if max_samples is None or max_samples >= len(ds):
        return ds
    return ds.take(spread_indices(len(ds), max_samples))


def _load_builtin(name, sample_shape, input_shape, max_samples, role) -> Dataset:
    if Path(name).exists():
        raise BadInputError(
            f"{role} data {name!r} is both a built-in set and a path in the current folder; "
            f"write ./{name} for the path, or run from another folder for the built-in set"
        )
    ds = fit_builtin(load_builtin(name), sample_shape, input_shape, role)
    return subset(ds, max_samples)


def _load_folder(path, input_shape, scale, mean, std, max_samples, role) -> Dataset:
    preprocess = image_preprocessing(path, input_shape, scale, mean, std, role)
    files, labels, class_names = list_images(path, role)
    keep = spread_indices(len(files), max_samples)
    files = [files[i] for i in keep]
    labels = None if labels is None else labels[keep]
    return load_image_folder(path, files, labels, class_names, input_shape, preprocess, role)


def _is_size(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


__all__ = ["check_spec", "load_data", "IMAGE_EXTENSIONS", "ARRAY_SUFFIXES"]

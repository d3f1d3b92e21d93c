"""Built-in datasets that ship inside an installed package: nothing is downloaded.

`digits` is scikit-learn's copy of the UCI handwritten digits: 1,797 real 8x8 grayscale
images of the digits 0-9 with pixel values 0..16, given here as x = pixels / 16 (float32,
shape (n, 8, 8, 1), values in [0, 1]) and y = the digit (int64).
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError, require
from .dataset import Dataset

BUILTIN_DATASETS = ("digits", "digits-train", "digits-test")
# The train/test split of the built-in sets: the one the demo and `edgekit train` use, so
# that calibration with `digits` never verifies on images such a model was trained on.
SPLIT = {"seed": 0, "test_fraction": 0.25}
DIGITS_SHAPE = (8, 8, 1)
# Input shapes (without batch) that the 8x8x1 digits can fill by a plain reshape.
DIGITS_FITS = ((8, 8, 1), (8, 8), (64,))


def load_builtin(name: str) -> Dataset:
    """Load the built-in dataset `name` (one of BUILTIN_DATASETS) in its own shape;
    `NAME-train` / `NAME-test` are its standard split (SPLIT)."""
    if name == "digits":
        return load_digits()
    if name in ("digits-train", "digits-test"):
        train, test = digits_split(**SPLIT)
        part = train if name.endswith("-train") else test
        return Dataset(x=part.x, y=part.y, source=name, kind="builtin", class_names=part.class_names)
    raise BadInputError(
        f"unknown built-in dataset {name!r}; the built-in sets are: {', '.join(BUILTIN_DATASETS)}"
    )


def load_digits() -> Dataset:
    """The 1,797 scikit-learn digits: x (n, 8, 8, 1) float32 in [0, 1], y int64 0..9."""
    datasets = require("sklearn.datasets", "convert")
    bunch = datasets.load_digits()
    x = (np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0))[..., None]
    y = np.asarray(bunch.target, dtype=np.int64)
    names = tuple(str(int(t)) for t in bunch.target_names)
    return Dataset(x=x, y=y, source="digits", kind="builtin", class_names=names)


def digits_split(seed: int = 0, test_fraction: float = 0.25):
    """(train, test) Datasets of the digits, split per class so both keep the class mix.

    Within each class the samples are shuffled with `default_rng(seed)` and
    round(test_fraction * count) of them go to test. Both parts are in original order.
    """
    if not 0.0 < float(test_fraction) < 1.0:
        raise BadInputError(
            f"test_fraction must be between 0 and 1 (exclusive); received {test_fraction!r}"
        )
    ds = load_digits()
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(ds.y):
        members = np.flatnonzero(ds.y == label)
        n_test = int(round(test_fraction * len(members)))
        test.extend(rng.permutation(members)[:n_test])
    is_test = np.zeros(len(ds), dtype=bool)
    is_test[np.asarray(test, dtype=np.int64)] = True
    return ds.take(np.flatnonzero(~is_test)), ds.take(np.flatnonzero(is_test))


def fit_builtin(ds: Dataset, sample_shape: tuple[int, ...], input_shape, role: str) -> Dataset:
    """Reshape a built-in set to the model's sample shape, or explain why it cannot fit."""
    if ds.source.startswith("digits") and sample_shape in DIGITS_FITS:
        return Dataset(
            x=ds.x.reshape((len(ds),) + sample_shape),
            y=ds.y,
            source=ds.source,
            kind=ds.kind,
            class_names=ds.class_names,
        )
    raise BadInputError(
        f"{role} data: the built-in '{ds.source}' set is 8x8x1 grayscale; the model input is "
        f"{tuple(input_shape)}, which needs samples of shape {sample_shape}; digits fit inputs "
        "of shape (1, 8, 8, 1), (1, 8, 8) or (1, 64); use an image folder, .npy or .npz instead"
    )

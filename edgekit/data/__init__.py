"""Calibration and evaluation data: image folders, .npy/.npz arrays and built-in sets.

    from edgekit.data import load_data, split_holdout
    ds = load_data("photos/", (1, 224, 224, 3), role="calibration")
    calib, holdout = split_holdout(ds, n_calib=200)

Everything returns a `Dataset` (model-ready float32 x, optional int64 labels y) and raises
`BadInputError` with a one-line message. scikit-learn (built-in sets) and Pillow (images)
are imported only when used.
"""

from .builtin import BUILTIN_DATASETS, digits_split, load_builtin
from .dataset import Dataset, split_holdout
from .load import load_data

__all__ = [
    "BUILTIN_DATASETS",
    "Dataset",
    "digits_split",
    "load_builtin",
    "load_data",
    "split_holdout",
]

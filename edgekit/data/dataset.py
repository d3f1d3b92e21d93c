"""The `Dataset` every loader returns, and the calibration / hold-out split.

A Dataset is model-ready: `x` is float32 with shape (n, *sample_shape), exactly what the
model's input takes one sample at a time; `y` holds integer class labels or is None.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..artifact import DataSummary, Preprocessing
from ..errors import BadInputError

KINDS = ("images", "npy", "npz", "builtin")
HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True, eq=False)
class Dataset:
    """Model-ready samples plus where they came from.

    x: float32 array (n, *sample_shape). y: int64 array (n,) of labels >= 0, or None.
    source: what was loaded (a path or a built-in name). kind: one of KINDS.
    preprocessing: for image folders, the Preprocessing applied; otherwise None.
    class_names: label names indexed by label, or None.
    """

    x: np.ndarray
    y: np.ndarray | None
    source: str
    kind: str
    preprocessing: Preprocessing | None = None
    class_names: tuple[str, ...] | None = None

    def __post_init__(self):
        _check_x(self.x, self.source)
        if self.kind not in KINDS:
            raise BadInputError(
                f"Dataset kind must be one of {', '.join(KINDS)}; received {self.kind!r}"
            )
        if self.y is not None:
            _check_y(self.y, len(self.x), self.source)
        if self.class_names is not None:
            object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
            _check_class_names(self.y, self.class_names, self.source)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample, without the leading n."""
        return tuple(int(d) for d in self.x.shape[1:])

    def take(self, indices) -> "Dataset":
        """A new Dataset with the samples at `indices` (in that order)."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        y = None if self.y is None else self.y[indices]
        return replace(self, x=self.x[indices], y=y)

    def to_summary(self) -> DataSummary:
        """What this data set is, without its arrays (for manifests and results)."""
        return DataSummary(
            source=self.source, kind=self.kind, n=len(self), shape=tuple(int(d) for d in self.x.shape),
            has_labels=self.y is not None, preprocessing=self.preprocessing, class_names=self.class_names,
        )


def split_holdout(ds: Dataset, n_calib: int, seed: int = 0, max_holdout: int | None = None):
    """Split `ds` into (calib, holdout) after a deterministic shuffle (`default_rng(seed)`).

    calib gets the first `n_calib` shuffled samples and holdout the rest, capped at
    `max_holdout`. When `ds` has no more than `n_calib` samples, 20% of them (at least 1
    when n >= 2) are held out anyway and calib gets the remainder, so that there is always
    evaluation data when n >= 2. With n == 1 the holdout is empty.
    """
    _check_count("n_calib", n_calib, minimum=1)
    if max_holdout is not None:
        _check_count("max_holdout", max_holdout, minimum=0)
    n = len(ds)
    order = np.random.default_rng(seed).permutation(n)
    if n > n_calib:
        n_keep = n_calib
    else:
        n_hold = max(1, int(round(HOLDOUT_FRACTION * n))) if n >= 2 else 0
        n_keep = n - n_hold
    holdout = order[n_keep:]
    if max_holdout is not None:
        holdout = holdout[:max_holdout]
    return ds.take(order[:n_keep]), ds.take(holdout)


def _check_count(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise BadInputError(f"{name} must be an integer >= {minimum}; received {value!r}")


def _check_x(x, source: str) -> None:
    if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim < 1:
        got = f"{type(x).__name__} {getattr(x, 'dtype', '')} {getattr(x, 'shape', '')}"
        raise BadInputError(
            f"Dataset x from {source} must be a float32 array of shape (n, ...); "
            f"received {got.strip()}"
        )


def _check_y(y, n: int, source: str) -> None:
    if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.shape != (n,):
        got = f"{type(y).__name__} {getattr(y, 'dtype', '')} {getattr(y, 'shape', '')}"
        raise BadInputError(
            f"Dataset y from {source} must be None or an int64 array of shape ({n},); "
            f"received {got.strip()}"
        )
    if n and y.min() < 0:
        raise BadInputError(f"Dataset y from {source} has negative labels; labels must be >= 0")


def _check_class_names(y, class_names: tuple[str, ...], source: str) -> None:
    if y is not None and len(y) and int(y.max()) >= len(class_names):
        raise BadInputError(
            f"labels of {source} go up to {int(y.max())} but there are only "
            f"{len(class_names)} class names; give one name per class"
        )

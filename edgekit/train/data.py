"""Labelled data for training: where it is, what it holds, and how it is split.

A source is a folder with one subfolder per class (png, jpg, bmp, gif (first frame), tiff,
webp; nested folders inside a class count for that class), an `.npz` with `x` (model-ready
arrays, NHWC), `y` (class indices) and optional `class_names`, or a built-in set (`digits`).

The split is stratified: within each class the samples are shuffled with the seed and cut
into test, validation and training parts, so every part keeps the class mix; each class
keeps at least one training sample and gives one to the test and validation parts when it
has enough. The names of the samples in each part are recorded (file names relative to the
folder, or indices into x) so that calibration and evaluation never see a test image.

Image headers are read here with Pillow (mode and size: no decoding); decoding happens once,
in `edgekit.train.stream`. numpy + Pillow only.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..data import BUILTIN_DATASETS, load_builtin
from ..data.arrays import check_labels, check_x
from ..data.images import list_images
from ..data.load import check_spec
from ..errors import BadInputError
from .record import BadFile

GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
IMBALANCE_NOTE = 3.0  # largest / smallest class above which the report warns


@dataclass(frozen=True, eq=False)
class Source:
    """Labelled samples: image files (`files`, relative to `root`) or model-ready arrays (`x`)."""

    spec: str
    kind: str  # "images" | "arrays"
    class_names: tuple[str, ...]
    labels: np.ndarray  # int64, one per sample
    root: Path | None = None
    files: tuple[Path, ...] = ()
    x: np.ndarray | None = None
    index: np.ndarray | None = None  # arrays: each sample's index in the original x

    def __post_init__(self):
        if self.kind == "arrays" and self.index is None:
            object.__setattr__(self, "index", np.arange(len(self.labels), dtype=np.int64))

    def __len__(self) -> int:
        return int(len(self.labels))

    def names(self, indices) -> tuple[str, ...]:
        if self.kind == "arrays":
            return tuple(str(int(self.index[i])) for i in indices)
        return tuple(self.files[i].relative_to(self.root).as_posix() for i in indices)

    def take(self, indices) -> "Source":
        indices = np.asarray(indices, dtype=np.int64)
        if self.kind == "arrays":
            return replace(self, labels=self.labels[indices], x=self.x[indices], index=self.index[indices])
        return replace(self, labels=self.labels[indices], files=tuple(self.files[i] for i in indices))

    def counts(self) -> tuple[int, ...]:
        return tuple(int(c) for c in np.bincount(self.labels, minlength=len(self.class_names)))


def read_source(spec, role: str) -> Source:
    """The labelled source `spec` (a class folder, an .npz, or a built-in name)."""
    if isinstance(spec, str) and spec in BUILTIN_DATASETS and not Path(spec).exists():
        ds = load_builtin(spec)
        return Source(spec, "arrays", ds.class_names, ds.y, x=ds.x)
    path = Path(os.fspath(spec))
    check_spec(path, role)
    if path.is_dir():
        files, labels, class_names = list_images(path, role)
        if labels is None:
            raise BadInputError(
                f"{role} data {path} holds images but no class folders; put the images of each class in its own "
                f"subfolder ({path.name}/cat/1.jpg, {path.name}/dog/2.jpg): the folder names are the labels")
        return Source(str(path), "images", class_names, labels, root=path, files=tuple(files))
    if path.suffix.lower() == ".npy":
        raise BadInputError(f"{role} data {path} is a .npy array without labels; save an .npz with x, y (and "
                            "class_names) instead")
    return _read_npz(path, role)


def _read_npz(path: Path, role: str) -> Source:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError) as exc:
        raise BadInputError(f"cannot read {role} data {path}: {exc}; save it with np.savez(path, x=..., y=...)") from exc
    if "x" not in arrays or "y" not in arrays:
        raise BadInputError(f"{role} data {path} needs arrays x and y (found: {', '.join(sorted(arrays)) or 'none'}); "
                            "save it with np.savez(path, x=images, y=labels, class_names=names)")
    raw = arrays["x"]
    if raw.ndim != 4 or raw.shape[-1] not in (1, 3):
        hint = " (add the channel axis: x[..., None])" if raw.ndim == 3 else ""
        raise BadInputError(f"{role} data {path} has x of shape {raw.shape}; training needs images as (n, height, "
                            f"width, channels) with 1 or 3 channels{hint}")
    x = check_x(raw, path, raw.shape[1:], (None, *raw.shape[1:]), role)
    y = check_labels(arrays["y"], len(x), path, role)
    names = arrays.get("class_names")
    if names is not None:
        if names.ndim != 1 or names.dtype.kind not in "US":
            raise BadInputError(f"{role} data {path} has class_names of shape {names.shape}; give a 1-D array of "
                                "strings, one per class")
        class_names = tuple(str(n) for n in names.tolist())
        if len(y) and int(y.max()) >= len(class_names):
            raise BadInputError(f"{role} data {path} has labels up to {int(y.max())} but {len(class_names)} "
                                "class_names; give one name per class")
    else:
        class_names = tuple(str(i) for i in range(int(y.max()) + 1 if len(y) else 0))
    return Source(str(path), "arrays", class_names, y, x=x)


def check_classes(source: Source, role: str) -> None:
    """At least two classes, each with at least two samples."""
    counts = source.counts()
    present = [i for i, c in enumerate(counts) if c]
    if len(present) < 2:
        only = f"one class ({source.class_names[present[0]]!r}, {counts[present[0]]} samples)" if present else "no samples"
        raise BadInputError(f"{role} data {source.spec} has {only}; a classifier needs at least 2 classes: add a "
                            "folder (or labels) per class")
    few = [(source.class_names[i], c) for i, c in enumerate(counts) if c < 2]
    if few:
        listed = ", ".join(f"{name!r} ({c})" for name, c in few[:5])
        raise BadInputError(f"{role} data {source.spec}: {len(few)} class(es) with fewer than 2 samples: {listed}; "
                            "every class needs at least 2 (one to train on, one to test): add images or remove "
                            "the class")


def same_classes(main: Source, other: Source, role: str) -> None:
    if other.class_names != main.class_names:
        raise BadInputError(
            f"{role} data {other.spec} has classes {list(other.class_names)[:10]} but the training data has "
            f"{list(main.class_names)[:10]}; labels would not line up: use the same class folders (or class_names)")


# ---------------------------------------------------------------------------------------
# Splitting


def split_indices(labels: np.ndarray, classes: int, val: float, test: float, seed: int):
    """(train, val, test) index arrays, stratified per class, shuffled with `seed`."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    for label in range(classes):
        members = rng.permutation(np.flatnonzero(labels == label))
        n = len(members)
        n_test = min(n - 1, max(1, round(test * n))) if test > 0 and n >= 2 else 0
        n_val = min(n - n_test - 1, max(1, round(val * n))) if val > 0 and n - n_test >= 2 else 0
        parts[2].extend(members[:n_test])
        parts[1].extend(members[n_test:n_test + n_val])
        parts[0].extend(members[n_test + n_val:])
    return tuple(rng.permutation(np.asarray(p, dtype=np.int64)) for p in parts)


def imbalance(counts) -> float | None:
    counts = [c for c in counts if c]
    return round(max(counts) / min(counts), 2) if counts else None


def imbalance_note(names, counts) -> str | None:
    ratio = imbalance(counts)
    if ratio is None or ratio < IMBALANCE_NOTE:
        return None
    big, small = int(np.argmax(counts)), int(np.argmin([c if c else 10**12 for c in counts]))
    return (f"class imbalance: {names[big]!r} has {counts[big]} training samples, {names[small]!r} {counts[small]} "
            f"({ratio:g}x); accuracy favours the large classes: check the per-class recall (and add data to "
            "the small ones)")


# ---------------------------------------------------------------------------------------
# Image headers


@dataclass(frozen=True)
class Headers:
    """Modes and sizes of readable images (by index), and the files that cannot be opened."""

    modes: dict[int, str]
    sizes: dict[int, tuple[int, int]]  # (width, height)
    bad: dict[int, str]


def read_headers(files, step=None, every: int = 2000) -> Headers:
    """Open each image (header only: no decoding) for its mode and size."""
    from PIL import Image

    modes, sizes, bad = {}, {}, {}
    for i, path in enumerate(files):
        try:
            with Image.open(path) as image:
                modes[i], sizes[i] = image.mode, image.size
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for a broken file
            bad[i] = _reason(exc)
        if step is not None and i and i % every == 0:
            step(f"reading image headers: {i}/{len(files)}")
    return Headers(modes, sizes, bad)


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def choose_channels(modes, channels: int | None, weights: str) -> int:
    """`channels`, else 3 for ImageNet weights, else 1 when every image is grayscale, else 3."""
    if channels is not None:
        return channels
    if weights == "imagenet":
        return 3
    return 1 if modes and all(m in GRAY_MODES for m in modes) else 3


def conversions(modes, channels: int) -> dict[str, int]:
    """{original mode: count} of the images that are converted to the model's colour mode."""
    target = "L" if channels == 1 else "RGB"
    return dict(sorted(Counter(m for m in modes if m != target).items()))


def conversion_note(converted: dict[str, int], channels: int, total: int) -> str | None:
    if not converted:
        return None
    target = "grayscale (L)" if channels == 1 else "RGB"
    parts = ", ".join(f"{count} {mode}" for mode, count in converted.items())
    return f"{sum(converted.values())} of {total} images converted to {target} ({parts}), as the device will"


def default_side(sizes, least: int, cap: int = 96) -> int:
    """The median image side (the longer one), at most `cap`, at least `least`."""
    if not sizes:
        return cap
    median = int(np.median([max(w, h) for w, h in sizes]))
    return max(least, min(cap, median))


def bad_error(bad: list[BadFile]) -> BadInputError:
    first = bad[0]
    return BadInputError(
        f"{len(bad)} image(s) cannot be read; the first: {first.path} ({first.reason}); fix or remove them, or pass "
        "`skip_bad` to train without them (they are listed in the training record)")


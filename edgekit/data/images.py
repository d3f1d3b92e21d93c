"""Image folders: flat (no labels) or one subfolder per class (labels from sorted names).

Layouts:

    flat/            a.png b.jpg ...            -> x only
    by_class/cat/    1.png ...                  -> y = index of the class folder in the
    by_class/dog/    2.png ...                     sorted folder names; class_names = names

Files are taken by extension (IMAGE_EXTENSIONS, any case); other files and hidden entries
(names starting with '.') are ignored. Class folders are searched recursively; an empty class
folder keeps its place in class_names (so labels stay aligned with the folder names).
Symlinked subfolders inside a class folder are not followed (class folders themselves may be
symlinks).
Each image is converted to the model's color mode (so grayscale images feed an RGB model),
resized bilinearly to the model's height x width, and preprocessed as (p * scale - mean) / std,
with the same code the device runtime uses (`edgekit.runtime.preprocess`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import BadInputError
from ..artifact import Preprocessing
from ..runtime.preprocess import apply_preprocessing, load_image, make_preprocessing
from .dataset import Dataset

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def list_images(folder: Path, role: str):
    """(files, labels or None, class_names or None) for an image folder, in sorted order."""
    entries = _visible_entries(folder, role)
    class_dirs = [e for e in entries if e.is_dir()]
    images = [e for e in entries if e.is_file() and is_image(e)]
    if class_dirs and images:
        raise BadInputError(
            f"{role} data {folder} has both images ({images[0].name}, ...) and class folders "
            f"({class_dirs[0].name}, ...); put every image in a class folder, or use a "
            "folder of images only (no labels)"
        )
    if not class_dirs:
        if not images:
            raise _no_images(folder, role)
        return images, None, None
    files, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        found = _images_below(class_dir, role)
        files.extend(found)
        labels.extend([label] * len(found))
    if not files:
        raise _no_images(folder, role)
    return files, np.asarray(labels, dtype=np.int64), tuple(d.name for d in class_dirs)


def load_image_folder(folder: Path, files, labels, class_names, input_shape, preprocess: Preprocessing,
                      role: str) -> Dataset:
    """Read `files` into a Dataset shaped for an NHWC `input_shape`."""
    height, width = int(input_shape[1]), int(input_shape[2])
    pixels = np.empty((len(files), height, width, int(input_shape[3])), dtype=np.uint8)
    for i, path in enumerate(files):
        try:
            pixels[i] = load_image(path, height, width, preprocess.color)
        except BadInputError as exc:
            raise BadInputError(f"{role} data: {exc.message}") from exc
    x = apply_preprocessing(pixels, preprocess).astype(np.float32, copy=False)
    return Dataset(x=x, y=labels, source=str(folder), kind="images", preprocessing=preprocess,
                   class_names=class_names)


def image_preprocessing(folder: Path, input_shape, scale, mean, std, role: str) -> Preprocessing:
    """The Preprocessing for an NHWC model input, or a clear error for other inputs."""
    if len(input_shape) != 4:
        raise BadInputError(
            f"{role} data {folder} is an image folder, but the model input {tuple(input_shape)} "
            "is not an image (batch, height, width, channels); pass model-ready arrays as "
            ".npy or .npz instead"
        )
    return make_preprocessing(int(input_shape[3]), scale=scale, mean=mean, std=std)


def is_image(path) -> bool:
    """True for a file name with one of IMAGE_EXTENSIONS (any case)."""
    return os.path.splitext(path.name)[1].lower() in IMAGE_EXTENSIONS


def _visible_entries(folder: Path, role: str) -> list[Path]:
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise BadInputError(
            f"cannot list {role} data folder {folder}: {exc.strerror or exc}; "
            "check that it is readable"
        ) from exc
    return [folder / name for name in names if not name.startswith(".")]


MAX_DEPTH = 32  # class folders may have subfolders; deeper than this is not a data set


def _images_below(folder: Path, role: str) -> list[Path]:
    """The images in `folder` and its subfolders (links not followed), in sorted order."""
    found, pending = [], [(folder, 0)]
    while pending:
        current, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise BadInputError(f"{role} data folder {folder} nests subfolders more than {MAX_DEPTH} levels deep "
                                f"(at {current}); put each class's images at most a few levels down")
        for entry in _visible_entries(current, role):
            if entry.is_dir() and not entry.is_symlink():
                pending.append((entry, depth + 1))
            elif entry.is_file() and is_image(entry):
                found.append(entry)
    return sorted(found)


def _no_images(folder: Path, role: str) -> BadInputError:
    return BadInputError(
        f"{role} data folder {folder} has no images; put {', '.join(IMAGE_EXTENSIONS)} files "
        "in it (or one subfolder per class)"
    )

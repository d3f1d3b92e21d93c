"""Image preprocessing shared by calibration data (host) and `Model.classify` (device).

Pillow is imported lazily so that `import edgekit.runtime` stays light. The preprocessing
recorded in a manifest is a plain dict:

    {"scale": 1/255, "mean": [0.0], "std": [1.0], "color": "RGB", "resize": "bilinear",
     "layout": "NHWC"}

and a pixel value p becomes (p * scale - mean) / std, per channel.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import BadInputError, MissingDependencyError

DEFAULT_SCALE = 1.0 / 255.0
DEFAULT_MEAN = (0.0,)
DEFAULT_STD = (1.0,)
_COLOR_FOR_CHANNELS = {1: "L", 3: "RGB", 4: "RGBA"}


def color_mode(channels: int) -> str:
    """Pillow mode for a model input with `channels` channels (1 -> L, 3 -> RGB, 4 -> RGBA)."""
    try:
        return _COLOR_FOR_CHANNELS[channels]
    except KeyError:
        raise BadInputError(
            f"images can feed inputs with 1, 3 or 4 channels; the model input has {channels}; "
            "pass model-ready arrays as .npy or .npz instead"
        ) from None


def make_preprocessing(channels: int, scale=DEFAULT_SCALE, mean=DEFAULT_MEAN, std=DEFAULT_STD):
    """A validated preprocessing dict for an NHWC image input with `channels` channels."""
    mean = [float(v) for v in np.atleast_1d(mean)]
    std = [float(v) for v in np.atleast_1d(std)]
    for name, values in (("mean", mean), ("std", std)):
        if len(values) not in (1, channels):
            raise BadInputError(
                f"--{name} has {len(values)} values; the model input has {channels} channels; "
                f"give 1 value or {channels}"
            )
    if any(v == 0 for v in std):
        raise BadInputError("--std must not contain 0 (the pixels are divided by it)")
    if not np.isfinite(scale) or scale <= 0:
        raise BadInputError(f"--scale must be a positive number; received {scale}")
    return {
        "scale": float(scale),
        "mean": mean,
        "std": std,
        "color": color_mode(channels),
        "resize": "bilinear",
        "layout": "NHWC",
    }


def load_image(path: str | os.PathLike, height: int, width: int, color: str) -> np.ndarray:
    """Read one image file as a (height, width, channels) uint8 array, resized bilinearly."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise MissingDependencyError(
            "reading images needs Pillow; install it with: pip install pillow"
        ) from None
    try:
        with Image.open(path) as image:
            image = image.convert(color)
            if image.size != (width, height):
                image = image.resize((width, height), Image.BILINEAR)
            array = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadInputError(
            f"cannot read image {path}: {exc}; use a PNG, JPEG, BMP, GIF, TIFF or WebP file"
        ) from None
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def apply_preprocessing(pixels: np.ndarray, preprocessing: dict) -> np.ndarray:
    """uint8 pixels (..., H, W, C) -> float32 model input, as the preprocessing dict says."""
    x = pixels.astype(np.float32) * np.float32(preprocessing["scale"])
    x -= np.asarray(preprocessing["mean"], dtype=np.float32)
    x /= np.asarray(preprocessing["std"], dtype=np.float32)
    return x

"""Image preprocessing shared by calibration data (host) and `Model.classify` (device).

Pillow is imported lazily so that `import edgekit.runtime` stays light. The preprocessing
recorded in a manifest is an `edgekit.artifact.Preprocessing`: a pixel value p becomes
(p * scale - mean) / std, per channel, after the image is converted to `color` and resized.
"""

from __future__ import annotations

import os

import numpy as np

from ..artifact import Preprocessing, TensorSpec
from ..errors import BadInputError, MissingDependencyError
from .imaging import fit_image

DEFAULT_SCALE = 1.0 / 255.0
DEFAULT_MEAN = (0.0,)
DEFAULT_STD = (1.0,)
_COLOR_FOR_CHANNELS = {1: "L", 3: "RGB", 4: "RGBA"}


def color_mode(channels: int) -> str:
    """Pillow mode for a model input with `channels` channels (1 -> L, 3 -> RGB, 4 -> RGBA)."""
    try:
        return _COLOR_FOR_CHANNELS[channels]
    except KeyError as exc:
        raise BadInputError(
            f"images can feed inputs with 1, 3 or 4 channels; the model input has {channels}; "
            "pass model-ready arrays as .npy or .npz instead"
        ) from exc


def make_preprocessing(channels: int, scale=DEFAULT_SCALE, mean=DEFAULT_MEAN, std=DEFAULT_STD) -> Preprocessing:
    """A validated Preprocessing for an NHWC image input with `channels` channels."""
    return Preprocessing(
        scale=float(scale), mean=tuple(float(v) for v in np.atleast_1d(mean)),
        std=tuple(float(v) for v in np.atleast_1d(std)), color=color_mode(channels),
    )


def eight_bit(image):
    """A 16-bit or 32-bit grayscale image (PNG "I;16", TIFF "I"/"F") scaled to 8 bits over
    its type's full range. Pillow's own conversion clips such images to 255 (all white)."""
    if image.mode not in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return image
    from PIL import Image

    values = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) <= 65535 else float(values.max())
    return Image.fromarray(np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8), "L")


def load_image(path: str | os.PathLike, height: int, width: int, color: str,
               fit: str = "stretch", pad_value: int = 0) -> np.ndarray:
    """Read one image file as a (height, width, channels) uint8 array, resized bilinearly
    (fit "stretch"), or "letterbox": aspect ratio kept, the rest padded with `pad_value`."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:
        raise MissingDependencyError(
            "reading images needs Pillow; install it with: pip install pillow"
        ) from exc
    try:
        with Image.open(path) as image:
            image = eight_bit(image).convert(color)
            if fit == "letterbox":
                return fit_image(image, height, width, fit, pad_value)[0]
            if image.size != (width, height):
                image = image.resize((width, height), Image.BILINEAR)
            array = np.asarray(image, dtype=np.uint8)
    except Image.DecompressionBombError as exc:
        raise BadInputError(f"image {path} is too large to decode safely ({exc}); resize it first") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadInputError(
            f"cannot read image {path}: {exc}; use a PNG, JPEG, BMP, GIF, TIFF or WebP file"
        ) from exc
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def apply_preprocessing(pixels: np.ndarray, preprocessing: Preprocessing) -> np.ndarray:
    """uint8 pixels (..., H, W, C) -> float32 model input, as `preprocessing` says."""
    x = pixels.astype(np.float32) * np.float32(preprocessing.scale)
    x -= np.asarray(preprocessing.mean, dtype=np.float32)
    x /= np.asarray(preprocessing.std, dtype=np.float32)
    return x


def image_to_input(image, spec: TensorSpec, preprocessing: Preprocessing) -> np.ndarray:
    """One image (a file path, or a uint8 array already of the input's H x W x C) as one
    float32 input sample of `spec` (an NHWC image input), preprocessed."""
    if preprocessing.layout != "NHWC":
        raise BadInputError(
            f"the manifest's preprocessing layout is {preprocessing.layout}; images are fed as NHWC"
        )
    _, height, width, channels = spec.shape
    if isinstance(image, (str, os.PathLike)):
        pixels = load_image(image, height, width, preprocessing.color, preprocessing.fit, preprocessing.pad_value)
    else:
        pixels = np.asarray(image)
        if pixels.ndim == 2 and channels == 1:
            pixels = pixels[:, :, None]
        if pixels.dtype != np.uint8 or pixels.shape != (height, width, channels):
            raise BadInputError(
                f"an image is a file path or a uint8 array of shape ({height}, {width}, "
                f"{channels}); received {pixels.dtype} with shape {tuple(pixels.shape)}; resize "
                "the image or pass its path"
            )
    return apply_preprocessing(pixels, preprocessing)

"""Images in, model input out, and the way back: decode, convert, resize (stretch or
letterbox) and the geometry that maps model-input pixels to the original image's pixels.

Pillow is imported when an image is first handled, so `import edgekit.runtime` stays light.
Coordinates are continuous pixel coordinates: (0, 0) is the top-left corner of the image
and (width, height) its bottom-right corner, so a box maps through a resize exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..artifact import TensorSpec
from ..errors import BadInputError, MissingDependencyError

# Pillow modes with more than 8 bits per channel: converting them to RGB clips or wraps
# values, so they are refused with a way to convert them instead.
DEEP_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N", "I;32", "I;32L", "I;32B"})
_ARRAY_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def pil():
    """The PIL.Image module, or a MissingDependencyError naming the install command."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise MissingDependencyError("reading images needs Pillow; install it with: pip install pillow") from exc
    return Image


@dataclass(frozen=True)
class Geometry:
    """How an image of source_width x source_height became the model's input_width x
    input_height: input = source * scale + pad, per axis (fit "stretch": pad 0; fit
    "letterbox": one scale for both axes, padding centred)."""

    source_width: int
    source_height: int
    input_width: int
    input_height: int
    scale_x: float
    scale_y: float
    pad_x: int = 0
    pad_y: int = 0
    fit: str = "stretch"

    def to_source(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (..., 4) as x_min, y_min, x_max, y_max in input pixels -> the same in
        source pixels, clipped to the image."""
        boxes = np.asarray(boxes, dtype=np.float64)
        out = np.empty_like(boxes)
        out[..., 0::2] = (boxes[..., 0::2] - self.pad_x) / self.scale_x
        out[..., 1::2] = (boxes[..., 1::2] - self.pad_y) / self.scale_y
        np.clip(out[..., 0::2], 0.0, self.source_width, out=out[..., 0::2])
        np.clip(out[..., 1::2], 0.0, self.source_height, out=out[..., 1::2])
        return out

    def source_pixel_centres_in_input(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y): where the centre of each source column and row lands in the input."""
        x = (np.arange(self.source_width) + 0.5) * self.scale_x + self.pad_x
        y = (np.arange(self.source_height) + 0.5) * self.scale_y + self.pad_y
        return x, y


def make_geometry(width: int, height: int, input_width: int, input_height: int, fit: str) -> Geometry:
    """The Geometry of fitting a width x height image into the input (stretch or letterbox)."""
    if fit == "letterbox":
        scale = min(input_width / width, input_height / height)
        new_w = min(input_width, max(1, round(width * scale)))
        new_h = min(input_height, max(1, round(height * scale)))
        return Geometry(width, height, input_width, input_height, new_w / width, new_h / height,
                        (input_width - new_w) // 2, (input_height - new_h) // 2, "letterbox")
    return Geometry(width, height, input_width, input_height, input_width / width, input_height / height)


# ---------------------------------------------------------------------------------------
# Decoding


def open_image(image, what: str | None = None):
    """(PIL image, its mode as received) from a file path, a PIL image or a uint8 array
    (H x W, H x W x 1, 3 or 4: grey, RGB or RGBA; arrays are taken as RGB, not OpenCV's BGR).
    Files are decoded completely here (a truncated file fails now, not later) and turned
    upright as their EXIF orientation says."""
    Image = pil()
    if isinstance(image, (str, os.PathLike)):
        return _open_file(Image, image)
    if isinstance(image, Image.Image):
        return image, image.mode
    return _from_array(Image, image, what or "the image")


def _open_file(Image, path):
    from PIL import ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            mode = opened.mode
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            upright.load()
    except FileNotFoundError as exc:
        raise BadInputError(f"image not found: {path}") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BadInputError(
            f"cannot read image {path}: {exc}; use a PNG, JPEG, BMP, GIF, TIFF or WebP file"
        ) from exc
    return upright, mode


def _from_array(Image, image, what: str):
    pixels = np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    mode = "L" if pixels.ndim == 2 else _ARRAY_MODES.get(pixels.shape[2]) if pixels.ndim == 3 else None
    if pixels.dtype != np.uint8 or mode is None or min(pixels.shape[:2]) < 1:
        raise BadInputError(
            f"{what} must be a file path, a PIL image or a uint8 array of shape (H, W), (H, W, 1), "
            f"(H, W, 3) (RGB) or (H, W, 4) (RGBA); received {pixels.dtype} with shape "
            f"{tuple(pixels.shape)}; for float pixels in 0..1 pass (x * 255).round().astype(np.uint8)"
        )
    return Image.fromarray(np.ascontiguousarray(pixels), mode), mode


def convert_mode(image, color: str, what: str):
    """`image` in the Pillow mode `color` (L, RGB, RGBA). 8-bit modes (grey, palette, CMYK,
    RGBA, YCbCr...) are converted, dropping alpha for RGB; deeper modes are refused."""
    if image.mode == color:
        return image
    if image.mode in DEEP_MODES:
        raise BadInputError(
            f"{what} has more than 8 bits per pixel (Pillow mode {image.mode}); edgekit converts 8-bit "
            f"images to {color} but not this one: save it as an 8-bit PNG or JPEG first"
        )
    if image.mode in ("P", "PA") and "transparency" in image.info:
        image = image.convert("RGBA")  # Pillow warns when palette transparency goes straight to RGB
    return image.convert(color)


def fit_image(image, height: int, width: int, fit: str = "stretch", pad_value: int = 0,
              resize: str = "bilinear") -> tuple[np.ndarray, Geometry]:
    """(uint8 pixels height x width x channels, Geometry): `image` (a PIL image) resized to
    the input: fit "stretch" ignores the aspect ratio, "letterbox" keeps it and pads the
    rest with `pad_value` (centred); `resize` is the filter ("bilinear" or "nearest")."""
    Image = pil()
    source_w, source_h = image.size
    geometry = make_geometry(source_w, source_h, width, height, fit)
    resample = Image.NEAREST if resize == "nearest" else Image.BILINEAR
    if geometry.fit == "letterbox":
        new_size = (round(geometry.scale_x * source_w), round(geometry.scale_y * source_h))
        resized = image if image.size == new_size else image.resize(new_size, resample)
        bands = len(image.getbands())
        canvas = Image.new(image.mode, (width, height), (pad_value,) * bands if bands > 1 else pad_value)
        canvas.paste(resized, (geometry.pad_x, geometry.pad_y))
        resized = canvas
    else:
        resized = image if image.size == (width, height) else image.resize((width, height), resample)
    pixels = np.asarray(resized, dtype=np.uint8)
    return (pixels[:, :, None] if pixels.ndim == 2 else pixels), geometry


def image_size(spec: TensorSpec, layout: str = "NHWC") -> tuple[int, int, int]:
    """(height, width, channels) of a 4-d image input in `layout` (NHWC or NCHW)."""
    _, a, b, c = spec.shape
    return (b, c, a) if layout == "NCHW" else (a, b, c)


def image_input(inputs: tuple[TensorSpec, ...], doing: str, layout: str | None = None) -> TensorSpec:
    """The model's one image input (1, H, W, C), or (1, C, H, W) for `layout` NCHW (None:
    either), or a BadInputError saying what `doing` needs."""
    spec = inputs[0] if len(inputs) == 1 else None
    layouts = [layout] if layout else ["NHWC", "NCHW"]
    ok = spec is not None and len(spec.shape) == 4 and any(
        image_size(spec, name)[2] in _ARRAY_MODES and min(image_size(spec, name)[:2]) >= 1 for name in layouts)
    if not ok:
        shape = "(1, C, H, W)" if layout == "NCHW" else "(1, H, W, C)"
        raise BadInputError(
            f"{doing} needs a model with one image input of shape {shape} with C 1, 3 or 4; this "
            f"one has {[s.describe() for s in inputs] or 'no inputs'}; use predict() with model-ready arrays instead"
        )
    return spec

"""The small typed records that manifests and benchmark results are made of.

Pure standard library + numpy-free: they validate themselves in `__post_init__` (in the
words of their own parameters) and travel as JSON through `edgekit.artifact.codec`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..errors import BadInputError

QUANTIZED_DTYPES = ("int8", "uint8", "int16")
COLOR_CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4}


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output as the interpreter sees it (real = (q - zero_point) * scale)."""

    name: str
    index: int
    shape: tuple[int, ...]
    dtype: str
    scale: float | None = None
    zero_point: int | None = None

    @property
    def quantized(self) -> bool:
        """True for an int8/uint8/int16 tensor with a scale."""
        return self.scale is not None and self.dtype in QUANTIZED_DTYPES

    def describe(self) -> str:
        """`name: int8[1, 224, 224, 3] (scale 0.0078, zero point -1)` for messages."""
        text = f"{self.name}: {self.dtype}[{', '.join(str(d) for d in self.shape)}]"
        if self.scale is not None:
            text += f" (scale {self.scale:.6g}, zero point {self.zero_point})"
        return text


@dataclass(frozen=True)
class InputRecord:
    """A source model's input: its signature name, static shape (batch first) and dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"


@dataclass(frozen=True)
class Preprocessing:
    """How raw pixels become the model's input: x = (p * scale - mean) / std, per channel.

    color: the Pillow mode the image is converted to (L, RGB, RGBA); resize: the filter;
    fit: "stretch" (resize to the input size) or "letterbox" (keep the aspect ratio, pad with
    `pad_value`); layout: NHWC (or NCHW for models that take channels first)."""

    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    color: Literal["L", "RGB", "RGBA"] = "RGB"
    resize: Literal["bilinear", "nearest"] = "bilinear"
    layout: Literal["NHWC", "NCHW"] = "NHWC"
    fit: Literal["stretch", "letterbox"] = "stretch"
    pad_value: int = 0

    def __post_init__(self):
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        channels = COLOR_CHANNELS.get(self.color)
        if channels is None:
            raise BadInputError(f"`color` must be one of {', '.join(COLOR_CHANNELS)}; received {self.color!r}")
        if not (isinstance(self.scale, (int, float)) and math.isfinite(self.scale) and self.scale > 0):
            raise BadInputError(f"`scale` must be a positive number; received {self.scale!r}")
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, channels):
                raise BadInputError(
                    f"`{name}` has {len(values)} values; the input has {channels} channel(s) "
                    f"({self.color}); give 1 value or {channels}"
                )
            if not all(math.isfinite(v) for v in values):
                raise BadInputError(f"`{name}` must hold finite numbers; received {list(values)}")
        if any(v == 0 for v in self.std):
            raise BadInputError(f"`std` must not contain 0 (pixels are divided by it); received {list(self.std)}")
        if not 0 <= self.pad_value <= 255:
            raise BadInputError(f"`pad_value` is a pixel value from 0 to 255; received {self.pad_value!r}")

    @property
    def channels(self) -> int:
        return COLOR_CHANNELS[self.color]


@dataclass(frozen=True)
class DataSummary:
    """What a data set was (no arrays): where it came from, how many samples, labels."""

    source: str
    kind: str
    n: int
    shape: tuple[int, ...]
    has_labels: bool
    preprocessing: Preprocessing | None = None
    class_names: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Comparison:
    """A model's outputs against a reference's on the same inputs (and labels, if any).

    Fractions are fractions (0.97, not 97). snr_db is +inf for identical outputs."""

    samples: int
    max_abs_error: float
    rmse: float
    snr_db: float
    cosine: float
    top1_agreement: float | None = None
    accuracy: float | None = None
    reference_accuracy: float | None = None
    top5_accuracy: float | None = None


@dataclass(frozen=True)
class RecipeRecord:
    """The recipe an artifact was made with, as the manifest records it (names may be newer
    than this edgekit's recipe table, so this is a plain record, not a Recipe)."""

    name: str
    io: str
    weights: str = ""
    activations: str = ""
    engine: str | None = None  # which quantizer made it (tflite-converter, ...)


DETECTION_LAYOUTS = ("postprocess", "yolov5", "yolov8", "ssd")


def _positive_numbers(name: str, values, whole: bool = False) -> None:
    kind = "whole numbers" if whole else "numbers"
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
             and (not whole or float(v).is_integer()) for v in values)
    if not values or not ok:
        raise BadInputError(f"`{name}` must hold positive {kind}; received {list(values)!r}")


@dataclass(frozen=True)
class AnchorSpec:
    """SSD anchors, generated like MediaPipe's SsdAnchorsCalculator (the same option names, so a
    graph's options can be copied over: `AnchorSpec(**options)`).

    One layer per stride; each cell of a layer's feature map gets one anchor per aspect ratio
    (plus one at the interpolated scale), centred at ((x + anchor_offset_x) / width, (y +
    anchor_offset_y) / height). Anchors are normalized to the input (0..1), as (x_center,
    y_center, width, height)."""

    input_size_height: int
    input_size_width: int
    strides: tuple[int, ...]
    min_scale: float
    max_scale: float
    aspect_ratios: tuple[float, ...] = (1.0,)
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5
    interpolated_scale_aspect_ratio: float = 1.0
    reduce_boxes_in_lowest_layer: bool = False
    fixed_anchor_size: bool = False
    feature_map_height: tuple[int, ...] = ()
    feature_map_width: tuple[int, ...] = ()
    num_layers: int | None = None

    def __post_init__(self):
        for name in ("strides", "aspect_ratios", "feature_map_height", "feature_map_width"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        _positive_numbers("input_size_height", (self.input_size_height,), whole=True)
        _positive_numbers("input_size_width", (self.input_size_width,), whole=True)
        _positive_numbers("strides", self.strides, whole=True)
        _positive_numbers("aspect_ratios", self.aspect_ratios)
        _positive_numbers("min_scale", (self.min_scale,))
        _positive_numbers("max_scale", (self.max_scale,))
        if self.min_scale > self.max_scale:
            raise BadInputError(
                f"`min_scale` must not exceed `max_scale`; received "
                f"{self.min_scale!r} and {self.max_scale!r}"
            )
        if self.num_layers is not None and self.num_layers != len(self.strides):
            raise BadInputError(
                f"`num_layers` is {self.num_layers} but `strides` lists {len(self.strides)} layers; "
                "give one stride per layer"
            )
        maps = (self.feature_map_height, self.feature_map_width)
        if any(maps) and not all(len(m) == len(self.strides) for m in maps):
            raise BadInputError(
                f"`feature_map_height` and `feature_map_width` need one value per layer "
                f"({len(self.strides)}); received {list(maps[0])} and {list(maps[1])}"
            )
        if any(maps):
            _positive_numbers("feature_map_height", maps[0], whole=True)
            _positive_numbers("feature_map_width", maps[1], whole=True)


@dataclass(frozen=True)
class DetectionSpec:
    """How a detection model's outputs are read (the manifest's `detection` section).

    layout: one of DETECTION_LAYOUTS, or None to recognise it from the output shapes.
    normalized: box coordinates are fractions of the input (True) or input pixels (False);
    None: YOLO outputs are recognised from their values, the others are normalized.
    Raw SSD outputs (layout "ssd") only: anchors; box_order, the order of the four box
    regressor values ("yxhw": y_center, x_center, height, width as TF Object Detection and
    MediaPipe write them by default; "xywh" for MediaPipe's reverse_output_order);
    box_scale, the divisors of those four values (in box_order's order); exponential_size,
    whether sizes are exp(value / scale) * anchor size (else value / scale * anchor size);
    score_activation, what turns a class logit into a score; background_class, whether
    class 0 of the scores is a background class to leave out."""

    layout: Literal["postprocess", "yolov5", "yolov8", "ssd"] | None = None
    normalized: bool | None = None
    anchors: AnchorSpec | None = None
    box_order: Literal["yxhw", "xywh"] = "yxhw"
    box_scale: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
    exponential_size: bool = True
    score_activation: Literal["sigmoid", "softmax", "none"] = "sigmoid"
    background_class: bool = False

    def __post_init__(self):
        if self.layout is not None and self.layout not in DETECTION_LAYOUTS:
            raise BadInputError(
                f"`layout` must be one of {', '.join(DETECTION_LAYOUTS)} (or None to recognise it); "
                f"received {self.layout!r}"
            )
        object.__setattr__(self, "box_scale", tuple(self.box_scale))
        if len(self.box_scale) != 4:
            raise BadInputError(f"`box_scale` needs 4 values (in box_order); received {list(self.box_scale)}")
        _positive_numbers("box_scale", self.box_scale)
        if self.box_order not in ("yxhw", "xywh"):
            raise BadInputError(f"`box_order` must be 'yxhw' or 'xywh'; received {self.box_order!r}")
        if self.score_activation not in ("sigmoid", "softmax", "none"):
            raise BadInputError(
                f"`score_activation` must be 'sigmoid', 'softmax' or 'none'; received {self.score_activation!r}"
            )
        if self.anchors is not None and not isinstance(self.anchors, AnchorSpec):
            raise BadInputError(f"`anchors` must be an AnchorSpec; received {type(self.anchors).__name__}")

"""Semantic segmentation on the device: one class id per pixel of the original image.

    result = runtime.load("deeplab.tflite").segment("room.jpg")
    result.mask            # (height, width) class ids at the image's own size
    result.fractions()     # {label: share of the image's pixels}

Outputs read: scores [1, H, W, C] (argmax over C; C = 1 is one class's probability,
foreground where it is >= 0.5), or class ids [1, H, W] / [1, H, W, 1] (integer outputs).
Each pixel of the original image takes the class of the output cell its centre falls in,
through the same stretch or letterbox the preprocessing used (nearest neighbour; the
letterbox padding is never sampled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..artifact import Preprocessing
from ..errors import BadInputError
from .vision import ImageTask, PreparedImage, cached_task


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """mask: (image_height, image_width) class ids (uint8, or int32 beyond 256 classes);
    labels: one per class id 0..len(labels)-1."""

    mask: np.ndarray
    labels: tuple[str, ...]
    image_width: int
    image_height: int
    fit: str = "stretch"

    def pixel_counts(self) -> dict[int, int]:
        """{class id: pixels} for the classes present, in class id order."""
        counts = np.bincount(self.mask.reshape(-1), minlength=len(self.labels))
        return {int(i): int(c) for i, c in enumerate(counts) if c}

    def fractions(self) -> dict[str, float]:
        """{label: fraction of the image} for the classes present."""
        total = self.mask.size
        return {self.label(i): c / total for i, c in self.pixel_counts().items()}

    def label(self, class_id: int) -> str:
        return self.labels[class_id] if 0 <= class_id < len(self.labels) else str(class_id)

    def to_json(self) -> dict:
        """Image size and per-class pixel counts (the mask itself is not included)."""
        total = self.mask.size
        return {"schema": "edgekit.segmentation/1", "image_width": self.image_width,
                "image_height": self.image_height, "fit": self.fit, "class_count": len(self.labels),
                "classes": [{"class_id": i, "label": self.label(i), "pixels": c, "fraction": c / total}
                            for i, c in self.pixel_counts().items()]}


def _output_kind(spec) -> str:
    """"scores" ([1, H, W, C>1]), "probability" ([1, H, W, 1] real values) or "ids"."""
    shape, integer = spec.shape, spec.dtype.startswith(("int", "uint")) and not spec.quantized
    if len(shape) == 4 and shape[0] == 1 and min(shape[1:]) >= 1:
        if shape[3] > 1:
            return "scores"
        return "ids" if integer else "probability"
    if len(shape) == 3 and shape[0] == 1 and min(shape[1:]) >= 1:
        return "ids"
    raise BadInputError(
        f"segment needs a model output of shape [1, H, W, C] (class scores) or [1, H, W] (class ids); "
        f"this one has {spec.describe()}"
    )


class Segmenter(ImageTask):
    """`Segmenter(model)(image)` -> SegmentationResult; `preprocessing` replaces the manifest's."""

    name = "segment"

    def __init__(self, model, preprocessing: Preprocessing | None = None):
        super().__init__(model, preprocessing)
        if len(model.outputs) != 1:
            raise BadInputError(
                f"segment needs a model with one output; this one has {[s.describe() for s in model.outputs]}"
            )
        self.output = model.outputs[0]
        self.kind = _output_kind(self.output)
        (out_h, out_w), (in_h, in_w) = self.output.shape[1:3], (self.height, self.width)
        if abs(out_h / out_w - in_h / in_w) > 0.05 * in_h / in_w:
            raise BadInputError(
                f"segment needs an output shaped like the image (H x W in the input's proportions, "
                f"{in_h} x {in_w}); this one has {self.output.describe()}: is it a segmentation model?"
            )
        manifest_labels = model.manifest.labels if model.manifest is not None else None
        if self.kind == "scores":
            self.labels = tuple(model.labels(self.output.shape[3]))
        elif self.kind == "probability":
            self.labels = tuple(model.labels(2))
        else:
            self.labels = tuple(manifest_labels) if manifest_labels else ()

    def class_map(self, outputs) -> np.ndarray:
        """(H, W) class ids at the output's resolution."""
        out = np.asarray(outputs)[0]
        if self.kind == "scores":
            return out.argmax(axis=-1)
        if self.kind == "probability":
            return (out[..., 0] >= 0.5).astype(np.int64)
        ids = np.round(out.reshape(out.shape[0], out.shape[1])).astype(np.int64)
        if ids.size and ids.min() < 0:
            raise BadInputError(f"the model's class-id output {self.output.name} holds negative ids ({int(ids.min())})")
        return ids

    def decode(self, outputs, prepared: PreparedImage) -> SegmentationResult:
        classes = self.class_map(outputs)
        g = prepared.geometry
        x, y = g.source_pixel_centres_in_input()
        rows = np.clip((y * classes.shape[0] / g.input_height).astype(np.int64), 0, classes.shape[0] - 1)
        cols = np.clip((x * classes.shape[1] / g.input_width).astype(np.int64), 0, classes.shape[1] - 1)
        mask = classes[rows[:, None], cols[None, :]]
        count = max(len(self.labels), int(mask.max()) + 1 if mask.size else 0)
        labels = self.labels + tuple(str(i) for i in range(len(self.labels), count))
        mask = mask.astype(np.uint8 if count <= 256 else np.int32)
        return SegmentationResult(mask, labels, g.source_width, g.source_height, g.fit)


def segmenter_for(model, **options) -> Segmenter:
    """The model's Segmenter for these options (made once, then reused)."""
    return cached_task(model, Segmenter, options)

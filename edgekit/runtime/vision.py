"""What the image tasks share: one image in, a model input and its Geometry out, and a typed
result back. `ImageTask` is split into `prepare` (decode, convert, resize, normalize: no
interpreter), the model's `predict`, and `decode` (numpy only), so that a frame pipeline can
run the three in different threads while only one thread touches the interpreter.

`Classifier` (top-k classes) lives here; `Detector` (detect.py) and `Segmenter`
(segment.py) are the other tasks.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass

import numpy as np

from ..artifact import Preprocessing, TensorSpec
from ..errors import BadInputError
from .imaging import Geometry, convert_mode, fit_image, image_input, image_size, open_image
from .preprocess import apply_preprocessing


@dataclass(frozen=True, eq=False)
class PreparedImage:
    """One image made ready for the model: x (1, H, W, C) float32, how it was fitted
    (Geometry), and the image's Pillow mode as received (RGB, L, RGBA, P, CMYK...)."""

    x: np.ndarray
    geometry: Geometry
    mode: str


def prepare_image(image, spec: TensorSpec, preprocessing: Preprocessing, what: str | None = None) -> PreparedImage:
    """`image` (a path, PIL image or uint8 array of any size) as the input of `spec`: resized
    as the preprocessing says, then normalized (float32), or raw pixels for an unquantized
    uint8 input (no scale can apply to it); channels first for layout NCHW."""
    height, width, channels = image_size(spec, preprocessing.layout)
    name = what or (str(image) if isinstance(image, (str, os.PathLike)) else "the image")
    opened, mode = open_image(image, name)
    converted = convert_mode(opened, preprocessing.color, name)
    pixels, geometry = fit_image(converted, height, width, preprocessing.fit, preprocessing.pad_value,
                                 preprocessing.resize)
    if pixels.shape[2] != channels:
        raise BadInputError(
            f"the preprocessing color {preprocessing.color} gives {pixels.shape[2]} channel(s) but the model "
            f"input has {channels} ({spec.describe()}); fix the manifest's preprocessing color"
        )
    raw = spec.dtype == "uint8" and not spec.quantized
    x = pixels[None] if raw else apply_preprocessing(pixels[None], preprocessing)
    if preprocessing.layout == "NCHW":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return PreparedImage(x, geometry, mode)


def check_fraction(name: str, value) -> float:
    """A threshold in [0, 1], or a BadInputError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise BadInputError(f"`{name}` must be a number from 0 to 1; received {value!r}")
    return float(value)


def check_count(name: str, value) -> int:
    """A positive whole number, or a BadInputError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise BadInputError(f"`{name}` must be a positive whole number; received {value!r}")
    return int(value)


def recorded_preprocessing(model, doing: str) -> Preprocessing:
    """The manifest's preprocessing, or a BadInputError that says how to give one."""
    manifest = model.manifest
    if manifest is not None and manifest.preprocessing is not None:
        return manifest.preprocessing
    why = f" (its manifest was not used: {model.manifest_problem})" if model.manifest_problem else ""
    raise BadInputError(
        f"{doing} needs to know how pixels become the model's input, and the model's manifest records "
        f"no preprocessing{why}; pass `preprocessing` (for example scale 1/255, RGB)"
    )


class ImageTask:
    """One model, one image -> one typed result: `task(image)`, or `prepare` / `model.predict`
    / `decode` separately (each thread-safe on its own; the model is not, see FramePipeline).

    `preprocessing` (an edgekit.artifact.Preprocessing) replaces the manifest's."""

    name = "image"

    def __init__(self, model, preprocessing: Preprocessing | None = None):
        self.model = model
        image_input(model.inputs, self.name)
        if preprocessing is not None and not isinstance(preprocessing, Preprocessing):
            raise BadInputError(
                f"`preprocessing` must be an edgekit.artifact.Preprocessing; received {type(preprocessing).__name__}"
            )
        self.preprocessing = preprocessing or recorded_preprocessing(model, self.name)
        self.input = image_input(model.inputs, self.name, self.preprocessing.layout)
        self.height, self.width, _ = image_size(self.input, self.preprocessing.layout)

    def prepare(self, image, what: str | None = None) -> PreparedImage:
        return prepare_image(image, self.input, self.preprocessing, what)

    def decode(self, outputs, prepared: PreparedImage):
        raise NotImplementedError

    def __call__(self, image, what: str | None = None):
        prepared = self.prepare(image, what)
        return self.decode(self.model.predict(prepared.x), prepared)


# ---------------------------------------------------------------------------------------
# Classification


@dataclass(frozen=True)
class ClassScore:
    class_id: int
    label: str
    score: float


@dataclass(frozen=True)
class Classification:
    """The top-k classes of one image, best first."""

    classes: tuple[ClassScore, ...]
    image_width: int
    image_height: int

    @property
    def top(self) -> ClassScore:
        return self.classes[0]

    def to_json(self) -> dict:
        return {"schema": "edgekit.classification/1", "image_width": self.image_width,
                "image_height": self.image_height,
                "classes": [{"class_id": c.class_id, "label": c.label, "score": c.score} for c in self.classes]}


class Classifier(ImageTask):
    """Top-k classes of a model with one score output [1, C] (or [C])."""

    name = "classify"

    def __init__(self, model, top_k: int = 5, preprocessing: Preprocessing | None = None):
        self.top_k = check_count("top_k", top_k)
        super().__init__(model, preprocessing)
        if len(model.outputs) != 1 or int(np.prod(model.outputs[0].shape)) < 1:
            raise BadInputError(
                f"classify needs a model with one score output [1, C]; this one has "
                f"{[s.describe() for s in model.outputs]}"
            )
        self.labels = model.labels(int(np.prod(model.outputs[0].shape[1:] or (1,))))

    def decode(self, outputs, prepared: PreparedImage) -> Classification:
        scores = np.asarray(outputs, dtype=np.float64).reshape(-1)
        order = np.argsort(-scores, kind="stable")[: self.top_k]
        classes = tuple(ClassScore(int(i), self.labels[i], float(scores[i])) for i in order)
        g = prepared.geometry
        return Classification(classes, g.source_width, g.source_height)


# ---------------------------------------------------------------------------------------
# One task per model and options, kept for the next call


_KEPT_PER_MODEL = 8


def cached_task(model, make, options: dict):
    """`make(model, **options)`, remembered per model for these options (the last few), so
    that repeated calls skip working out the layout, anchors and labels again."""
    try:
        key = (make, tuple(sorted(options.items())))
        hash(key)
    except TypeError:  # an unhashable option: the task's own checks will say what is wrong
        return make(model, **options)
    # Kept on the model itself (a weak-keyed table would keep it alive: each task holds it).
    kept = vars(model).setdefault("_edgekit_tasks", {})
    task = kept.get(key)
    if task is None:
        task = make(model, **options)
        if len(kept) >= _KEPT_PER_MODEL:
            kept.pop(next(iter(kept)))
        kept[key] = task
    return task

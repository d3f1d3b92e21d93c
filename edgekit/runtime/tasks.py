"""Which task a model does (classify, detect, segment), and predictions over image files:
the library side of `edgekit predict`.

    result = predict_images("detector.tflite", ["photos/"], score_threshold=0.5)
    for item in result.items:
        print(item.path, [d.label for d in item.result])
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from ..artifact import Preprocessing
from ..errors import BadInputError
from .detect import LAYOUTS, Detector, DetectionResult, recognise_layout
from .imaging import image_input, image_size
from .segment import SegmentationResult, Segmenter
from .vision import Classification, Classifier, ImageTask, check_count, check_fraction

TASKS = ("classify", "detect", "segment")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
SCHEMA = "edgekit.predict/1"


def _mask_like(model) -> bool:
    """One output shaped like a class map of the input: [1, H, W, C], or [1, H, W] in the
    input's aspect ratio and no larger than it."""
    if len(model.outputs) != 1 or len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        return False
    shape, (_, in_h, in_w, _) = model.outputs[0].shape, model.inputs[0].shape
    if len(shape) == 4 and shape[0] == 1 and min(shape[1:3]) > 1:
        return True
    return (len(shape) == 3 and shape[0] == 1 and 1 < shape[1] <= in_h and 1 < shape[2] <= in_w
            and abs(shape[1] / shape[2] - in_h / in_w) < 0.05)


def guess_task(model) -> str:
    """classify, detect or segment, from the manifest's detection section and the outputs."""
    if model.manifest is not None and model.manifest.detection is not None:
        return "detect"
    if _mask_like(model):
        return "segment"
    try:
        recognise_layout(model.outputs)
        return "detect"
    except BadInputError:
        pass
    if len(model.outputs) == 1 and len(model.outputs[0].shape) <= 2:
        return "classify"
    outputs = ", ".join(s.describe() for s in model.outputs)
    raise BadInputError(
        f"cannot tell which task the model does from its outputs ({outputs}): classify takes one output "
        "[1, C], segment one [1, H, W, C] or [1, H, W], detect one of the layouts (`layout`: "
        f"{', '.join(LAYOUTS)}); name the task with `task`"
    )


def make_task(model, task: str = "auto", *, top_k: int = 5, score_threshold: float = 0.25,
              iou_threshold: float = 0.45, max_detections: int = 100, layout: str | None = None,
              anchors=None, detection=None, preprocessing: Preprocessing | None = None) -> ImageTask:
    """A Classifier, Detector or Segmenter for `model` (`task` "auto" guesses which; the
    options of the other tasks are checked and ignored)."""
    if task not in ("auto",) + TASKS:
        raise BadInputError(f"`task` must be auto, {', '.join(TASKS)}; received {task!r}")
    # Every option is checked, also those the model's task will not use: a wrong value is a mistake.
    check_count("top_k", top_k)
    check_fraction("score_threshold", score_threshold)
    check_fraction("iou_threshold", iou_threshold)
    check_count("max_detections", max_detections)
    if task == "auto":
        image_input(model.inputs, "predicting on images")  # the first thing a model needs here
        named = layout is not None or anchors is not None or detection is not None
        task = "detect" if named else guess_task(model)
    if task == "classify":
        return Classifier(model, top_k, preprocessing)
    if task == "segment":
        return Segmenter(model, preprocessing)
    return Detector(model, score_threshold=score_threshold, iou_threshold=iou_threshold,
                    max_detections=max_detections, layout=layout, anchors=anchors, detection=detection,
                    preprocessing=preprocessing)


# ---------------------------------------------------------------------------------------
# Predictions over files


@dataclass(frozen=True, eq=False)
class ImagePrediction:
    """One image's result: a Classification, DetectionResult or SegmentationResult."""

    path: Path
    mode: str  # the image's Pillow mode as read (RGB, L, RGBA, P...); converted for the model
    result: Classification | DetectionResult | SegmentationResult
    latency_ms: float  # the model's predict() for this image

    def to_json(self) -> dict:
        return {"path": str(self.path), "mode": self.mode, "latency_ms": self.latency_ms,
                **{k: v for k, v in self.result.to_json().items() if k != "schema"}}


@dataclass(frozen=True, eq=False)
class PredictResult:
    model: str
    task: str
    backend: str
    items: tuple[ImagePrediction, ...]
    layout: str | None = None  # detection layout
    delegate: str | None = None
    color: str = "RGB"  # the Pillow mode images were converted to for the model

    def converted(self) -> list[ImagePrediction]:
        """The images that were not already in the model's colour mode."""
        return [item for item in self.items if item.mode != self.color]

    def to_json(self) -> dict:
        return {"schema": SCHEMA, "model": self.model, "task": self.task, "layout": self.layout,
                "backend": self.backend, "delegate": self.delegate, "color": self.color,
                "images": [item.to_json() for item in self.items]}


def expand_inputs(inputs) -> list[Path]:
    """Image files from files and folders (a folder: its image files by name, not recursive)."""
    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise BadInputError(
                    f"folder {item} has no image files ({', '.join(sorted(IMAGE_SUFFIXES))}); give image files or "
                    "a folder that holds them"
                )
            paths += found
        elif item.exists():
            paths.append(item)
        else:
            raise BadInputError(f"input not found: {item}; give image files or folders")
    if not paths:
        raise BadInputError("no input images; give one or more image files or folders")
    return paths


def resolve_preprocessing(model, preprocessing: Preprocessing | None = None, *, scale: float | None = None,
                          mean=None, std=None, fit: str | None = None) -> Preprocessing | None:
    """`preprocessing` (default: the manifest's; else scale 1/255, mean 0, std 1 in the
    input's colour) with the fields given here replaced; None when nothing is given (the
    manifest's is used, or its absence reported)."""
    if scale is None and mean is None and std is None and fit is None:
        return preprocessing
    from .preprocess import make_preprocessing

    spec = image_input(model.inputs, "predicting on images")
    base = preprocessing or (model.manifest.preprocessing if model.manifest is not None else None)
    if base is None:
        layout = "NHWC" if spec.shape[3] in (1, 3, 4) else "NCHW"
        base = dataclasses.replace(make_preprocessing(image_size(spec, layout)[2]), layout=layout)
    if fit is not None and fit not in ("stretch", "letterbox"):
        raise BadInputError(f"`fit` must be stretch or letterbox; received {fit!r}")
    changes = {k: v for k, v in (("scale", scale), ("mean", mean), ("std", std), ("fit", fit)) if v is not None}
    return dataclasses.replace(base, **changes)


def predict_images(model_path, inputs, *, task: str = "auto", top_k: int = 5, score_threshold: float = 0.25,
                   iou_threshold: float = 0.45, max_detections: int = 100, layout: str | None = None,
                   preprocessing: Preprocessing | None = None, scale: float | None = None, mean=None, std=None,
                   fit: str | None = None, backend: str = "auto", threads: int | None = None,
                   delegate: str | None = None, device: str | None = None, isolate: bool = False) -> PredictResult:
    """Run a model on image files (or folders of them): every image is decoded and predicted
    before anything is returned, so a bad image raises before any output is written.

    scale/mean/std/fit replace those fields of `preprocessing` (default: the manifest's);
    isolate=True probes the model in a child process first (see edgekit.runtime.load)."""
    from .model import load

    paths = expand_inputs(inputs)
    model = load(model_path, backend=backend, threads=threads, delegate=delegate, device=device, isolate=isolate)
    preprocessing = resolve_preprocessing(model, preprocessing, scale=scale, mean=mean, std=std, fit=fit)
    runner = make_task(model, task, top_k=top_k, score_threshold=score_threshold, iou_threshold=iou_threshold,
                       max_detections=max_detections, layout=layout, preprocessing=preprocessing)
    items = []
    for path in paths:
        prepared = runner.prepare(path)
        started = time.perf_counter()
        outputs = model.predict(prepared.x)
        latency = (time.perf_counter() - started) * 1e3
        items.append(ImagePrediction(path, prepared.mode, runner.decode(outputs, prepared), latency))
    return PredictResult(str(model_path), runner.name, model.backend, tuple(items),
                         getattr(runner, "layout", None), model.delegate, runner.preprocessing.color)


"""Object detection on the device: the output layouts detection models have, decoded to boxes
in the original image's pixels, with per-class non-maximum suppression in numpy.

    from edgekit import runtime
    model = runtime.load("detector.tflite")
    for d in model.detect("street.jpg", score_threshold=0.4):
        print(d.label, round(d.score, 2), d.box)          # box: x_min, y_min, x_max, y_max

Layouts (`LAYOUTS`), recognised from the output shapes (or named: `layout=`, or the
manifest's `detection.layout`):

- postprocess: the TFLite_Detection_PostProcess op's outputs (SSD MobileNet, EfficientDet-Lite):
  boxes [1, N, 4] (y_min, x_min, y_max, x_max, normalized), classes [1, N], scores [1, N],
  count [1]. The op has already suppressed overlaps; no NMS is run again.
- yolov5: one output [1, N, 5 + C]: cx, cy, w, h, objectness, C class scores (score =
  objectness x class score).
- yolov8: one output [1, 4 + C, N]: cx, cy, w, h, C class scores.
- ssd: raw box regressors [1, N, 4 (+ keypoints)] and class scores [1, N, C], decoded
  against anchors generated from an AnchorSpec (anchors.py).

YOLO boxes may be in input pixels or normalized (recognised from the values unless
`DetectionSpec.normalized` says). Boxes are mapped back through the preprocessing actually
used (stretch, or letterbox with its padding) and clipped to the image; a box that lies
wholly in the letterbox padding is dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..artifact import Preprocessing, TensorSpec
from ..artifact.records import AnchorSpec, DetectionSpec
from ..errors import BadInputError, EdgekitError
from .anchors import decode_boxes, generate_anchors
from .tflite_file import describe, flatbuffer_schema, read_tflite_file
from .vision import ImageTask, PreparedImage, cached_task, check_count, check_fraction

LAYOUTS = {
    "postprocess": "TFLite_Detection_PostProcess: boxes [1, N, 4], classes [1, N], scores [1, N], count [1]",
    "yolov5": "one output [1, N, 5 + C]",
    "yolov8": "one output [1, 4 + C, N]",
    "ssd": "box regressors [1, N, 4+] and class scores [1, N, C], with anchors",
}
POSTPROCESS_OP = "TFLite_Detection_PostProcess"
MAX_CANDIDATES = 30000  # boxes kept for NMS after the score threshold, best first


@dataclass(frozen=True)
class Detection:
    """One object: a box in the original image's pixels (x to the right, y down; (0, 0) the
    top-left corner of the image), its score, class id and label."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float
    score: float
    class_id: int
    label: str

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x_min, self.y_min, self.x_max, self.y_max)

    @property
    def width(self) -> float:
        return self.x_max - self.x_min

    @property
    def height(self) -> float:
        return self.y_max - self.y_min

    def to_json(self) -> dict:
        return {"box": list(self.box), "score": self.score, "class_id": self.class_id, "label": self.label}


@dataclass(frozen=True)
class DetectionResult:
    """The detections of one image, best score first (iterable, indexable, len())."""

    detections: tuple[Detection, ...]
    image_width: int
    image_height: int
    layout: str
    fit: str = "stretch"

    def __iter__(self):
        return iter(self.detections)

    def __len__(self) -> int:
        return len(self.detections)

    def __getitem__(self, index):
        return self.detections[index]

    def to_json(self) -> dict:
        return {"schema": "edgekit.detections/1", "image_width": self.image_width,
                "image_height": self.image_height, "layout": self.layout, "fit": self.fit,
                "detections": [d.to_json() for d in self.detections]}


# ---------------------------------------------------------------------------------------
# Non-maximum suppression


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one x_min, y_min, x_max, y_max box with each of `boxes`."""
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = w * h
    area = max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    union = area + areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float,
        max_detections: int) -> np.ndarray:
    """Indices of the boxes kept by greedy per-class NMS, best score first: a box is dropped
    when its IoU with a better box of the same class is above `iou_threshold`."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    # Shift each class into its own region, so that one pass never compares two classes.
    span = float(np.abs(boxes).max()) * 2 + 1
    shifted = boxes + (np.asarray(classes, dtype=np.float64) * span)[:, None]
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep = []
    while order.size and len(keep) < max_detections:
        best, order = order[0], order[1:]
        keep.append(best)
        if order.size:
            order = order[iou_one_to_many(shifted[best], shifted[order]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


# ---------------------------------------------------------------------------------------
# Layouts


@dataclass(frozen=True)
class OutputRoles:
    """Which model output (by position) holds what, for a layout."""

    layout: str
    boxes: int
    scores: int | None = None
    classes: int | None = None
    count: int | None = None


def _describe_outputs(outputs: tuple[TensorSpec, ...]) -> str:
    return ", ".join(f"{s.name} [{', '.join(str(d) for d in s.shape)}]" for s in outputs) or "none"


def layouts_text() -> str:
    return "; ".join(f"{name} ({text})" for name, text in LAYOUTS.items())


def _named(outputs, positions, words) -> int | None:
    found = [p for p in positions if any(w in outputs[p].name.lower() for w in words)]
    return found[0] if len(found) == 1 else None


def _postprocess_roles(outputs, op_outputs) -> OutputRoles | None:
    shapes = [tuple(s.shape) for s in outputs]
    if len(outputs) != 4:
        return None
    if op_outputs is not None and sorted(op_outputs) == sorted(s.index for s in outputs):
        where = {s.index: i for i, s in enumerate(outputs)}
        boxes, classes, scores, count = (where[t] for t in op_outputs)
        return OutputRoles("postprocess", boxes, scores, classes, count)
    boxes = [i for i, s in enumerate(shapes) if len(s) == 3 and s[0] == 1 and s[2] == 4]
    count = [i for i, s in enumerate(shapes) if int(np.prod(s)) == 1 and len(s) <= 2]
    if len(boxes) != 1 or len(count) != 1:
        return None
    n = shapes[boxes[0]][1]
    pair = [i for i, s in enumerate(shapes) if s == (1, n) and i not in count]
    if len(pair) != 2:
        return None
    classes = _named(outputs, pair, ("class",))
    scores = _named(outputs, pair, ("score",))
    if classes is None or scores is None or classes == scores:
        classes, scores = None, None  # told apart by their values at each call
    return OutputRoles("postprocess", boxes[0], scores, classes, count[0])


def _ssd_roles(outputs) -> OutputRoles | None:
    shapes = [tuple(s.shape) for s in outputs]
    if len(outputs) != 2 or any(len(s) != 3 or s[0] != 1 for s in shapes) or shapes[0][1] != shapes[1][1]:
        return None
    fours = [i for i in (0, 1) if shapes[i][2] == 4]
    boxes = fours[0] if len(fours) == 1 else _named(outputs, (0, 1), ("box", "regress", "loc")) or 0
    return OutputRoles("ssd", boxes, scores=1 - boxes)


def _yolo_roles(outputs, layout: str | None) -> OutputRoles | None:
    if len(outputs) != 1 or len(outputs[0].shape) != 3 or outputs[0].shape[0] != 1:
        return None
    _, a, b = outputs[0].shape
    if layout is None:
        layout = "yolov5" if a > b else "yolov8" if a < b else None
    if layout == "yolov5" and b >= 6 or layout == "yolov8" and a >= 5:
        return OutputRoles(layout, 0)
    return None


def recognise_layout(outputs: tuple[TensorSpec, ...], layout: str | None = None,
                     op_outputs: tuple[int, ...] | None = None) -> OutputRoles:
    """The layout of a detection model's outputs (named, or recognised from their shapes).

    `op_outputs`: the tensor indices of the TFLite_Detection_PostProcess op's outputs
    (boxes, classes, scores, count) when the file has that op."""
    if layout is not None and layout not in LAYOUTS:
        raise BadInputError(f"unknown detection `layout` {layout!r}; the layouts are: {layouts_text()}")
    found = {
        "postprocess": lambda: _postprocess_roles(outputs, op_outputs),
        "ssd": lambda: _ssd_roles(outputs),
        "yolov5": lambda: _yolo_roles(outputs, "yolov5" if layout else None),
        "yolov8": lambda: _yolo_roles(outputs, "yolov8"),
    }
    names = [layout] if layout else ["postprocess", "ssd", "yolov5"]
    for name in names:
        roles = found[name]()
        if roles is not None:
            return roles
    if layout:
        raise BadInputError(
            f"the model's outputs ({_describe_outputs(outputs)}) do not fit the `layout` {layout!r} "
            f"({LAYOUTS[layout]}); the layouts are: {layouts_text()}"
        )
    raise BadInputError(
        f"cannot recognise a detection layout in the model's outputs ({_describe_outputs(outputs)}); "
        f"the layouts are: {layouts_text()}; name one with `layout` if the shapes are one of these"
    )


def regular_nms_postprocess(data: bytes) -> bool:
    """Whether a .tflite holds a TFLite_Detection_PostProcess op that runs regular (per-class)
    NMS. LiteRT's kernel drops the last class when the interpreter has exactly 2 threads
    (tensorflow/tensorflow#56058; reproduced with ai-edge-litert 2.3.0 by tests/runtime/test_detect.py)."""
    if POSTPROCESS_OP.encode() not in data:
        return False
    from flatbuffers import flexbuffers

    try:
        model = flatbuffer_schema().Model.GetRootAs(data, 0)
        graph, found = model.Subgraphs(0), False
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex()).CustomCode()
            if code == POSTPROCESS_OP.encode() and not op.CustomOptionsIsNone():
                found = found or bool(flexbuffers.Loads(op.CustomOptionsAsNumpy().tobytes()).get("use_regular_nms"))
        return found
    except Exception:  # noqa: BLE001 - unreadable here: the interpreter reports the file's problem
        return False


def threads_for(data: bytes, threads: int | None) -> int | None:
    """`threads` for loading `data`: unchanged, except that a default that would be 2 threads
    becomes 1 for a model with regular-NMS post-processing (see regular_nms_postprocess)."""
    from .cpu import default_threads

    if threads is None and default_threads(None) == 2 and regular_nms_postprocess(data):
        return 1
    return threads


def postprocess_op_outputs(model) -> tuple[int, ...] | None:
    """Tensor indices of the TFLite_Detection_PostProcess op's 4 outputs, read from the
    model's file (None without a file or without the op)."""
    if getattr(model, "path", None) is None:
        return None

    try:
        info = describe(read_tflite_file(model.path), str(model.path))
    except EdgekitError:  # unreadable now, or no flatbuffer schema (tflite-runtime only): guess instead
        return None
    ops = [op for op in info.ops if op.custom_code == POSTPROCESS_OP and len(op.outputs) == 4]
    return tuple(ops[0].outputs) if len(ops) == 1 else None


# ---------------------------------------------------------------------------------------
# Decoding


def _activate(scores: np.ndarray, activation: str) -> np.ndarray:
    if activation == "sigmoid":
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-scores))
    if activation == "softmax":
        shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    return scores


def _best_class(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    classes = scores.argmax(axis=1)
    return scores[np.arange(len(scores)), classes], classes


def _cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    return np.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], axis=1)


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


class Detector(ImageTask):
    """Detections for one image at a time: `Detector(model, ...)(image)` -> DetectionResult.

    Made once per model and options (Model.detect keeps one), so that the layout, anchors
    and labels are worked out once. score_threshold, iou_threshold: 0..1; max_detections:
    the most boxes returned; layout: a name from LAYOUTS (default: the manifest's, else
    recognised); anchors: an AnchorSpec for raw SSD outputs (default: the manifest's);
    detection: a whole DetectionSpec replacing the manifest's; preprocessing: replaces the
    manifest's."""

    name = "detect"

    def __init__(self, model, *, score_threshold: float = 0.25, iou_threshold: float = 0.45,
                 max_detections: int = 100, layout: str | None = None, anchors: AnchorSpec | None = None,
                 detection: DetectionSpec | None = None, preprocessing: Preprocessing | None = None):
        self.score_threshold = check_fraction("score_threshold", score_threshold)
        self.iou_threshold = check_fraction("iou_threshold", iou_threshold)
        self.max_detections = check_count("max_detections", max_detections)
        super().__init__(model, preprocessing)
        self.spec = self._spec(model, layout, anchors, detection)
        reads_op = len(model.outputs) == 4 and self.spec.layout in (None, "postprocess")
        op_outputs = postprocess_op_outputs(model) if reads_op else None
        self.roles = recognise_layout(model.outputs, self.spec.layout, op_outputs)
        self.layout = self.roles.layout
        self.anchors = self._anchors(model.outputs) if self.layout == "ssd" else None
        self.labels = self._labels(model)
        if op_outputs is not None and model.threads == 2 and regular_nms_postprocess(read_tflite_file(model.path)):
            raise BadInputError(
                "this model's TFLite_Detection_PostProcess op runs per-class NMS, which drops the last class "
                "when the interpreter has exactly 2 threads (a LiteRT bug, tensorflow/tensorflow#56058); "
                "load it with `threads` 1, or 3 or more"
            )

    @staticmethod
    def _spec(model, layout, anchors, detection) -> DetectionSpec:
        if layout is not None and layout not in LAYOUTS:
            raise BadInputError(f"unknown detection `layout` {layout!r}; the layouts are: {layouts_text()}")
        if detection is not None and not isinstance(detection, DetectionSpec):
            raise BadInputError(f"`detection` must be a DetectionSpec; received {type(detection).__name__}")
        recorded = model.manifest.detection if model.manifest is not None else None
        spec = detection or recorded or DetectionSpec()
        changes = {k: v for k, v in (("layout", layout), ("anchors", anchors)) if v is not None}
        return dataclasses.replace(spec, **changes) if changes else spec

    def _anchors(self, outputs) -> np.ndarray:
        if self.spec.anchors is None:
            raise BadInputError(
                "raw SSD outputs are decoded against anchors, and none were given: pass `anchors` (an "
                "AnchorSpec with the model's anchor options) or record them in the manifest's detection section"
            )
        anchors = generate_anchors(self.spec.anchors)
        boxes = outputs[self.roles.boxes].shape[1]
        if len(anchors) != boxes:
            raise BadInputError(
                f"the anchor specification makes {len(anchors)} anchors but the model's box regressor output "
                f"{outputs[self.roles.boxes].name} has {boxes} boxes; check `anchors` (input size, strides, "
                "aspect ratios, feature map sizes) against the model's training configuration"
            )
        return anchors

    def _class_count(self, outputs) -> int | None:
        shape = outputs[self.roles.scores if self.layout == "ssd" else 0].shape
        count = {"yolov5": shape[-1] - 5, "yolov8": shape[1] - 4, "ssd": shape[-1]}.get(self.layout)
        if count is not None and self.layout == "ssd" and self.spec.background_class:
            count -= 1
        return count

    def _labels(self, model) -> tuple[str, ...] | None:
        labels = model.manifest.labels if model.manifest is not None else None
        count = self._class_count(model.outputs)
        if not labels or count is None:
            return tuple(labels) if labels else None
        if len(labels) == count + 1 and self.spec.background_class:
            return tuple(labels[1:])
        return tuple(model.labels(count))

    def label(self, class_id: int) -> str:
        if self.labels is not None and 0 <= class_id < len(self.labels):
            return self.labels[class_id]
        return str(class_id)

    # -- outputs -> candidates in input pixels -------------------------------------------

    def _arrays(self, outputs) -> list[np.ndarray]:
        if isinstance(outputs, dict):
            return [np.asarray(outputs[s.name]) for s in self.model.outputs]
        return [np.asarray(outputs)]

    def candidates(self, outputs) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """(boxes (n, 4) x_min, y_min, x_max, y_max in input pixels, scores, class ids,
        whether NMS is still to run) from the model's outputs for one image."""
        arrays = self._arrays(outputs)
        size = np.array([self.width, self.height, self.width, self.height], dtype=np.float64)
        if self.layout == "postprocess":
            boxes, scores, classes = self._postprocess(arrays)
            normalized = self.spec.normalized is not False
            return (boxes * size if normalized else boxes), scores, classes, False
        if self.layout == "ssd":
            boxes = decode_boxes(arrays[self.roles.boxes][0], self.anchors, self.spec) * size
            scores = _activate(arrays[self.roles.scores][0].astype(np.float64), self.spec.score_activation)
            scores, classes = _best_class(scores[:, 1:] if self.spec.background_class else scores)
            return boxes, scores, classes, True
        rows = arrays[0][0].astype(np.float64)
        rows = rows.T if self.layout == "yolov8" else rows
        head = 5 if self.layout == "yolov5" else 4
        scores, classes = _best_class(rows[:, head:])
        if self.layout == "yolov5":
            scores = scores * rows[:, 4]
        normalized = self.spec.normalized
        if normalized is None:
            normalized = bool(len(rows) == 0 or np.abs(rows[:, :4]).max() <= 2.0)
        boxes = _cxcywh_to_xyxy(rows[:, :4])
        return (boxes * size if normalized else boxes), scores, classes, True

    def _postprocess(self, arrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r = self.roles
        boxes = arrays[r.boxes][0].astype(np.float64)
        count = int(np.clip(np.nan_to_num(arrays[r.count].reshape(-1)[0]), 0, len(boxes)))
        classes, scores = r.classes, r.scores
        if classes is None:  # no op or names to go by: the class ids are the whole numbers
            a, b = [i for i in range(4) if i not in (r.boxes, r.count)]
            a_whole, b_whole = (_integral(arrays[i].reshape(-1)[:count]) for i in (a, b))
            classes, scores = (b, a) if b_whole and not a_whole else (a, b)
        boxes = boxes[:count][:, [1, 0, 3, 2]]  # y_min, x_min, y_max, x_max -> x, y order
        return (boxes, arrays[scores].reshape(-1)[:count].astype(np.float64),
                np.round(arrays[classes].reshape(-1)[:count]).astype(np.int64))

    # -- candidates -> detections in source pixels -----------------------------------------

    def decode(self, outputs, prepared: PreparedImage) -> DetectionResult:
        """The model's outputs for `prepared` -> detections in the original image's pixels."""
        boxes, scores, classes, suppress = self.candidates(outputs)
        good = np.flatnonzero(np.isfinite(scores) & (scores >= self.score_threshold) & np.isfinite(boxes).all(axis=1))
        if len(good) > MAX_CANDIDATES:
            good = good[np.argsort(-scores[good], kind="stable")[:MAX_CANDIDATES]]
        if suppress:
            keep = good[nms(boxes[good], scores[good], classes[good], self.iou_threshold, self.max_detections)]
        else:
            keep = good[np.argsort(-scores[good], kind="stable")[: self.max_detections]]
        g = prepared.geometry
        mapped = g.to_source(boxes[keep]) if len(keep) else np.zeros((0, 4))
        found = tuple(
            Detection(float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(scores[i]), int(classes[i]),
                      self.label(int(classes[i])))
            for b, i in zip(mapped, keep) if b[2] > b[0] and b[3] > b[1]
        )
        return DetectionResult(found, g.source_width, g.source_height, self.layout, g.fit)


def detector_for(model, **options) -> Detector:
    """The model's Detector for these options (made once, then reused)."""
    return cached_task(model, Detector, options)

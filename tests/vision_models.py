"""Tiny vision models with known outputs, built with Keras and converted by edgekit (so they need
edgekit[convert]; tests using them are marked `convert`). Shared by tests/runtime and tests/cli.

Detection models (input 32 x 32 RGB, classes cat/dog/bird) output constants: a Dense layer with
a zero kernel after a global average pool, whose bias holds the boxes, so every output value is
exact in float32. In input pixels, each carries:

    A  box (8, 8)-(24, 16)   dog  0.9
    B  box (9, 8)-(25, 16)   dog  0.8    overlaps A (IoU 0.88): NMS must drop it
    C  box (8, 8)-(24, 16)   bird 0.7    same box as A, another class: kept
    D  box (4, 0)-(12, 6)    cat  0.6    inside the letterbox padding of a 2:1 image
    E  box (0, 20)-(8, 28)   cat  0.1    below the default score threshold

A 64 x 32 source image maps these to known pixels: stretch scales x by 2 (A -> (16, 8)-(48,
16)); letterbox scales both by 2 after removing 8 rows of padding (A -> (16, 0)-(48, 16)) and
drops D.

The segmentation model (input 8 x 8) outputs its input: scores = the RGB channels, so the class
of a pixel is its strongest colour (0 red, 1 green, 2 blue).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

LABELS = ("cat", "dog", "bird")
SIZE = 32
# x_min, y_min, x_max, y_max (input pixels), class, score
BOXES = [
    ((8, 8, 24, 16), 1, 0.9),
    ((9, 8, 25, 16), 1, 0.8),
    ((8, 8, 24, 16), 2, 0.7),
    ((4, 0, 12, 6), 0, 0.6),
    ((0, 20, 8, 28), 0, 0.1),
]
ROWS = 12  # boxes per YOLO output (the rest score 0)

# What a 64 x 32 image gives with the default thresholds (0.25, 0.45).
EXPECTED_STRETCH = [((16, 8, 48, 16), "dog", 0.9), ((16, 8, 48, 16), "bird", 0.7), ((8, 0, 24, 6), "cat", 0.6)]
EXPECTED_LETTERBOX = [((16, 0, 48, 16), "dog", 0.9), ((16, 0, 48, 16), "bird", 0.7)]

# BlazeFace-style anchors for the raw SSD model: 2 x 2 cells of stride 16 and 1 cell of
# stride 32, 2 anchors each (aspect 1 and the interpolated one) = 10 anchors, all of size 1.
SSD_ANCHORS = dict(input_size_height=SIZE, input_size_width=SIZE, strides=(16, 32), min_scale=0.2, max_scale=0.8,
                   fixed_anchor_size=True)
SSD_CODING = dict(box_order="xywh", box_scale=(32.0, 32.0, 32.0, 32.0), exponential_size=False,
                  score_activation="sigmoid")


def _keras():
    import keras

    return keras


def _constant_model(values: np.ndarray, shape: tuple, name: str = "out"):
    """Input (32, 32, 3) -> a constant of `shape` (float32 `values`), exact after conversion."""
    keras = _keras()
    flat = np.asarray(values, np.float32).reshape(-1)
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    dense = keras.layers.Dense(flat.size, kernel_initializer="zeros",
                               bias_initializer=keras.initializers.Constant(flat))(pooled)
    return keras.layers.Reshape(shape, name=name)(dense), inputs


def yolo_rows(normalized: bool, objectness: bool) -> np.ndarray:
    """(ROWS, 4 + [1] + 3) rows: cx, cy, w, h, (objectness,) class scores."""
    rows = np.zeros((ROWS, 8 if objectness else 7), np.float32)
    for i, ((x0, y0, x1, y1), cls, score) in enumerate(BOXES):
        box = np.array([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], np.float32)
        rows[i, :4] = box / SIZE if normalized else box
        if objectness:
            rows[i, 4], rows[i, 5 + cls] = score, 1.0
        else:
            rows[i, 4 + cls] = score
    return rows


def ssd_outputs() -> tuple[np.ndarray, np.ndarray]:
    """(regressors (10, 4), class logits (10, 3)): box i of BOXES on anchor i."""
    from edgekit.artifact.records import AnchorSpec
    from edgekit.runtime.anchors import generate_anchors

    anchors = generate_anchors(AnchorSpec(**SSD_ANCHORS))
    regressors = np.zeros((len(anchors), 4), np.float32)
    logits = np.full((len(anchors), 3), -20.0, np.float32)
    for i, ((x0, y0, x1, y1), cls, score) in enumerate(BOXES):
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) - anchors[i, :2] * SIZE
        regressors[i] = [centre[0], centre[1], x1 - x0, y1 - y0]
        logits[i, cls] = math.log(score / (1 - score))
    return regressors, logits


class VisionModels:
    """Builds each model the first time it is asked for, in `folder`; returns .tflite paths."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._built: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._built:
            self._built[name] = getattr(self, f"_build_{name}")()
        return self._built[name]

    def _convert(self, model, name: str, recipe: str = "float32", calib=None, trust: bool = False) -> Path:
        from edgekit.convert import convert
        from edgekit.quantize import Recipe

        path = self.folder / f"{name}.keras"
        model.save(path)
        options = {"calib": str(calib), "calib_samples": 16} if calib is not None else {}
        result = convert(path, [Recipe(recipe)], trust_model=trust, force=True,
                         options={"allow_custom_ops": True} if trust else None, **options)
        return result.artifacts[0].path

    def _build_yolov5(self) -> Path:
        out, inputs = _constant_model(yolo_rows(normalized=False, objectness=True), (ROWS, 8))
        return self._convert(_keras().Model(inputs, out), "yolov5")

    def _build_yolov5_few(self) -> Path:
        """Only 4 boxes: [1, 4, 8] has fewer rows than columns, so its shape alone is no layout."""
        out, inputs = _constant_model(yolo_rows(normalized=False, objectness=True)[:4], (4, 8))
        return self._convert(_keras().Model(inputs, out), "yolov5_few")

    def _build_yolov8(self) -> Path:
        out, inputs = _constant_model(yolo_rows(normalized=True, objectness=False).T, (7, ROWS))
        return self._convert(_keras().Model(inputs, out), "yolov8")

    def _build_yolov8_int8(self) -> Path:
        out, inputs = _constant_model(yolo_rows(normalized=True, objectness=False).T, (7, ROWS))
        calib = self.folder / "calib32.npy"
        np.save(calib, np.random.default_rng(0).random((16, SIZE, SIZE, 3), dtype=np.float32))
        return self._convert(_keras().Model(inputs, out), "yolov8q", "int8", calib=calib)

    def _build_ssd(self) -> Path:
        keras = _keras()
        regressors, logits = ssd_outputs()
        boxes, inputs = _constant_model(regressors, regressors.shape, "boxes")
        pooled = keras.layers.GlobalAveragePooling2D()(inputs)
        scores = keras.layers.Reshape(logits.shape, name="scores")(keras.layers.Dense(
            logits.size, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(logits.reshape(-1)))(pooled))
        return self._convert(keras.Model(inputs, [boxes, scores]), "ssd")

    def _build_postprocess(self) -> Path:
        from postprocess_layer import postprocess_model

        return self._convert(postprocess_model(), "postprocess", trust=True)

    def _build_postprocess_outputs(self) -> Path:
        """The post-processing op's four outputs without the op, in EfficientDet-Lite's order
        (scores, boxes, count, classes) and with plain names: 5 slots, count 3, and junk in
        the slots after the count (which must never be read)."""
        keras = _keras()
        kept = [0, 2, 3]  # A, C, D: what a post-processing op would have kept above 0.5
        boxes = np.full((5, 4), 1e6, np.float32)
        boxes[:3] = [np.array(BOXES[i][0], np.float32)[[1, 0, 3, 2]] / SIZE for i in kept]
        scores = np.array([BOXES[i][2] for i in kept] + [5.5, -3.0], np.float32)
        classes = np.array([BOXES[i][1] for i in kept] + [7.5, 0.25], np.float32)
        parts = [_constant_model(v, shape, name) for v, shape, name in (
            (scores, (5,), "a"), (boxes, (5, 4), "b"), (np.array([3.0]), (1,), "c"), (classes, (5,), "d"))]
        inputs = keras.Input((SIZE, SIZE, 3), name="image")
        model = keras.Model(inputs, [keras.Model(p[1], p[0])(inputs) for p in parts])
        return self._convert(model, "postprocess_outputs")

    def _build_segment(self) -> Path:
        keras = _keras()
        inputs = keras.Input((8, 8, 3), name="image")
        conv = keras.layers.Conv2D(3, 1, kernel_initializer=keras.initializers.Constant(np.eye(3).reshape(1, 1, 3, 3)),
                                   bias_initializer="zeros")(inputs)
        return self._convert(keras.Model(inputs, conv), "segment")

    def _build_segment_ids(self) -> Path:
        keras = _keras()
        inputs = keras.Input((8, 8, 3), name="image")
        kernel = np.array([0.0, 1.0, 2.0], np.float32).reshape(1, 1, 3, 1)
        conv = keras.layers.Conv2D(1, 1, kernel_initializer=keras.initializers.Constant(kernel))(inputs)
        return self._convert(keras.Model(inputs, keras.layers.Reshape((8, 8))(conv)), "segment_ids")

    def _build_segment_uint8(self) -> Path:
        """The segment model taking raw uint8 pixels (no quantization: the model scales them).
        Converted with the TFLite converter itself: edgekit's convert verifies on float data
        and refuses a uint8 input."""
        import tensorflow as tf

        keras = _keras()
        inputs = keras.Input((8, 8, 3), batch_size=1, dtype="uint8", name="image")
        scaled = keras.layers.Rescaling(1 / 255)(inputs)
        conv = keras.layers.Conv2D(3, 1, kernel_initializer=keras.initializers.Constant(np.eye(3).reshape(1, 1, 3, 3)),
                                   bias_initializer="zeros")(scaled)
        folder = self.folder / "segment_uint8_saved"
        keras.Model(inputs, conv).export(str(folder), format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(folder))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        path = self.folder / "segment_uint8.tflite"
        path.write_bytes(converter.convert())
        return path

    def _build_yolov8_nchw(self) -> Path:
        """yolov8 with a channels-first input (1, 3, 32, 32), as PyTorch-converted models have."""
        keras = _keras()
        flat = yolo_rows(normalized=True, objectness=False).T.reshape(-1)
        inputs = keras.Input((3, SIZE, SIZE), name="image")
        dense = keras.layers.Dense(flat.size, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(
            flat))(keras.layers.Flatten()(inputs))
        return self._convert(keras.Model(inputs, keras.layers.Reshape((7, ROWS))(dense)), "yolov8_nchw")

    def _build_mean_colour(self) -> Path:
        """Input (16, 16, 3) -> the mean of each channel, (1, 3): a 'classifier' of colours."""
        keras = _keras()
        inputs = keras.Input((16, 16, 3), name="image")
        return self._convert(keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs)), "mean_colour")


_SHARED: VisionModels | None = None


def shared_models(tmp_path_factory) -> VisionModels:
    """One VisionModels per test session (each model is converted once, whichever module asks)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = VisionModels(tmp_path_factory.mktemp("vision"))
    return _SHARED


def with_manifest(path: Path, target: Path, **changes) -> Path:
    """A copy of the .tflite `path` at `target` whose embedded manifest (a minimal one when it
    has none) has `changes` (labels, preprocessing, detection...); no sidecar is written."""
    from edgekit.artifact import embed, read_embedded

    from edgekit_testing import make_manifest

    data = Path(path).read_bytes()
    manifest = dataclasses.replace(read_embedded(data) or make_manifest(), **changes)
    target.write_bytes(embed(data, manifest))
    return target


def rgb_preprocessing(**changes):
    from edgekit.runtime import make_preprocessing

    return dataclasses.replace(make_preprocessing(3), **changes)


def two_to_one_image(width: int = 64, height: int = 32) -> np.ndarray:
    """A non-square RGB image with some texture (its content does not change the constant models)."""
    return np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)


def colour_blocks(width: int = 48, height: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """(image, its class mask): left half red (0), right top green (1), right bottom blue (2)."""
    image = np.zeros((height, width, 3), np.uint8)
    mask = np.zeros((height, width), np.uint8)
    image[:, : width // 2, 0] = 255
    image[: height // 2, width // 2:, 1] = 255
    mask[: height // 2, width // 2:] = 1
    image[height // 2:, width // 2:, 2] = 255
    mask[height // 2:, width // 2:] = 2
    return image, mask

"""Model.detect: every output layout decoded to exact boxes in the original image's pixels,
per-class NMS, coordinates through stretch and letterbox, anchors, and the errors.

The models are built by tests/vision_models.py (Keras, converted by edgekit) and output known
boxes; see its docstring for the boxes and where a 64 x 32 image must put them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vision_models import (
    EXPECTED_LETTERBOX, EXPECTED_STRETCH, LABELS, SSD_ANCHORS, SSD_CODING, rgb_preprocessing,
    shared_models, two_to_one_image, with_manifest,
)

from edgekit import runtime
from edgekit.artifact import Manifest, TensorSpec
from edgekit.artifact.records import AnchorSpec, DetectionSpec
from edgekit.errors import BadInputError
from edgekit.runtime.anchors import decode_boxes, generate_anchors
from edgekit.runtime.detect import LAYOUTS, nms, recognise_layout
from edgekit.runtime.imaging import make_geometry


@pytest.fixture(scope="session")
def vision_models(tmp_path_factory):
    pytest.importorskip("keras", reason="building the test models needs edgekit[convert]")
    return shared_models(tmp_path_factory)


def _load(vision_models, tmp_path, name, fit="stretch", **manifest):
    manifest.setdefault("labels", LABELS)
    path = with_manifest(vision_models[name], tmp_path / f"{name}_{fit}.tflite",
                         preprocessing=rgb_preprocessing(fit=fit), **manifest)
    return runtime.load(path)


def _rows(result):
    return [(d.box, d.label, d.score) for d in result]


def assert_detections(result, expected, abs_px=1e-4, abs_score=1e-6):
    assert len(result) == len(expected), _rows(result)
    for d, (box, label, score) in zip(result, expected):
        assert d.box == pytest.approx(box, abs=abs_px) and d.label == label, _rows(result)
        assert d.score == pytest.approx(score, abs=abs_score)


SSD = DetectionSpec(anchors=AnchorSpec(**SSD_ANCHORS), **SSD_CODING)


# ---------------------------------------------------------------------------------------
# Each layout, end to end, with stretch and letterbox


@pytest.mark.convert
@pytest.mark.parametrize("name, detection", [
    ("yolov5", None), ("yolov8", None), ("ssd", SSD), ("postprocess", None),
])
@pytest.mark.parametrize("fit, expected", [("stretch", EXPECTED_STRETCH), ("letterbox", EXPECTED_LETTERBOX)])
def test_every_layout_gives_exact_boxes_in_image_pixels(vision_models, tmp_path, name, detection, fit, expected):
    model = _load(vision_models, tmp_path, name, fit, detection=detection)
    result = model.detect(two_to_one_image())
    assert result.layout == name and result.fit == fit
    assert (result.image_width, result.image_height) == (64, 32)
    assert_detections(result, expected)
    assert [d.class_id for d in result] == [LABELS.index(label) for _, label, _ in expected]
    if name == "postprocess":  # the outputs' roles were read from the op in the file, not guessed
        roles = runtime.Detector(model).roles
        assert (roles.boxes, roles.classes, roles.scores, roles.count) == (0, 1, 2, 3)


@pytest.mark.convert
def test_two_interpreter_threads_are_avoided_for_per_class_nms(vision_models, tmp_path):
    """LiteRT's TFLite_Detection_PostProcess with regular NMS drops the last class at exactly 2
    threads (tensorflow/tensorflow#56058): measured here on the real op. A default that would be
    2 threads becomes 1; 2 asked for explicitly is refused by detect(), with the reason."""
    from edgekit.runtime.cpu import default_threads

    path = with_manifest(vision_models["postprocess"], tmp_path / "pp.tflite", labels=LABELS,
                         preprocessing=rgb_preprocessing())
    x = np.zeros((1, 32, 32, 3), np.float32)
    classes = {t: runtime.load(path, threads=t).predict(x)["output_1"][0].tolist() for t in (1, 2, 3)}
    assert classes[1] == classes[3] == [1, 2, 0, 0]  # dog, bird, cat, cat (E, 0.1)
    assert classes[2][:3] == [1, 0, 0]  # the bug: bird (the last class) is gone
    assert runtime.load(path).threads == (1 if default_threads(None) == 2 else default_threads(None))
    with pytest.raises(BadInputError, match=r"exactly 2 threads \(a LiteRT bug, tensorflow/tensorflow#56058\); "
                                            r"load it with `threads` 1, or 3 or more"):
        runtime.load(path, threads=2).detect(two_to_one_image())
    assert_detections(runtime.load(path, threads=3).detect(two_to_one_image()), EXPECTED_STRETCH)


@pytest.mark.convert
def test_postprocess_outputs_without_the_op_are_told_apart_by_their_values(vision_models, tmp_path):
    """Scores, boxes, count, classes in another order and with plain names: the class ids are
    the whole numbers; only the first `count` slots are read."""
    model = _load(vision_models, tmp_path, "postprocess_outputs", "letterbox")
    assert [s.shape for s in model.outputs] == [(1, 5), (1, 5, 4), (1, 1), (1, 5)]
    result = model.detect(two_to_one_image())
    assert result.layout == "postprocess"
    assert_detections(result, EXPECTED_LETTERBOX)
    assert len(model.detect(two_to_one_image(), score_threshold=0.0)) == 2  # D is in the padding


@pytest.mark.convert
def test_a_channels_first_input(vision_models, tmp_path):
    """(1, 3, 32, 32) with the manifest's preprocessing layout NCHW (PyTorch-converted models)."""
    model = _load(vision_models, tmp_path, "yolov8_nchw", "letterbox")
    assert model.inputs[0].shape == (1, 3, 32, 32)
    path = with_manifest(vision_models["yolov8_nchw"], tmp_path / "nchw.tflite", labels=LABELS,
                         preprocessing=rgb_preprocessing(fit="letterbox", layout="NCHW"))
    assert_detections(runtime.load(path).detect(two_to_one_image()), EXPECTED_LETTERBOX)
    with pytest.raises(BadInputError, match=r"one image input of shape \(1, H, W, C\) .*float32\[1, 3, 32, 32\]"):
        model.detect(two_to_one_image())  # the manifest says NHWC


@pytest.mark.convert
def test_nms_merges_overlaps_per_class_and_thresholds_apply(vision_models, tmp_path):
    model = _load(vision_models, tmp_path, "yolov5")
    image = two_to_one_image()
    # Without suppression B (IoU 0.88 with A, same class) comes back; C (another class) always does.
    everything = model.detect(image, iou_threshold=1.0, score_threshold=0.0, max_detections=100)
    assert [d.score for d in everything][:5] == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.1])
    assert everything[1].box == pytest.approx((18, 8, 50, 16))
    assert [d.label for d in model.detect(image, iou_threshold=0.89)] == ["dog", "dog", "bird", "cat"]
    assert [d.label for d in model.detect(image)] == ["dog", "bird", "cat"]
    assert [d.score for d in model.detect(image, score_threshold=0.65)] == pytest.approx([0.9, 0.7])
    assert len(model.detect(image, max_detections=2)) == 2
    low = model.detect(image, score_threshold=0.05)
    assert low[-1].box == pytest.approx((0, 20, 16, 28)) and low[-1].score == pytest.approx(0.1)


@pytest.mark.convert
def test_int8_outputs_are_dequantized_before_decoding(vision_models, tmp_path):
    model = _load(vision_models, tmp_path, "yolov8_int8")
    assert model.outputs[0].dtype == "int8"
    step = model.outputs[0].scale  # one quantization step of the output
    result = model.detect(two_to_one_image())
    assert [d.label for d in result] == ["dog", "bird", "cat"]
    for d, (box, _, score) in zip(result, EXPECTED_STRETCH):
        assert d.score == pytest.approx(score, abs=step)
        # a normalized coordinate is off by at most half a step; x 32 to input pixels, x 2 to the
        # image's (stretch); an edge adds half the width's error: 1.5 x 0.5 x 64 x step
        assert d.box == pytest.approx(box, abs=48 * step)


@pytest.mark.convert
def test_layout_from_the_manifest_or_named_when_shapes_mislead(vision_models, tmp_path):
    """[1, 4, 8] (4 YOLOv5 boxes) fits no layout by its shape: an error that lists the layouts;
    the manifest's detection.layout or `layout` says how to read it; a wrong name is refused."""
    plain = _load(vision_models, tmp_path, "yolov5_few", "letterbox")
    with pytest.raises(BadInputError, match=r"cannot recognise a detection layout in the model's outputs "
                                            r"\(output_0 \[1, 4, 8\]\); the layouts are: postprocess"):
        plain.detect(two_to_one_image())
    assert_detections(plain.detect(two_to_one_image(), layout="yolov5"), EXPECTED_LETTERBOX)
    recorded = _load(vision_models, tmp_path, "yolov5_few", detection=DetectionSpec(layout="yolov5"))
    assert_detections(recorded.detect(two_to_one_image()), EXPECTED_STRETCH)
    with pytest.raises(BadInputError, match=r"outputs \(output_0 \[1, 4, 8\]\) do not fit the `layout` 'yolov8'"):
        plain.detect(two_to_one_image(), layout="yolov8")
    with pytest.raises(BadInputError, match=r"unknown detection `layout` 'yolo'; the layouts are: postprocess"):
        plain.detect(two_to_one_image(), layout="yolo")


@pytest.mark.convert
def test_ssd_anchors_from_the_api_and_their_count_is_checked(vision_models, tmp_path):
    model = _load(vision_models, tmp_path, "ssd", detection=dataclasses.replace(SSD, anchors=None))
    with pytest.raises(BadInputError, match="raw SSD outputs are decoded against anchors, and none were given"):
        model.detect(two_to_one_image())
    assert_detections(model.detect(two_to_one_image(), anchors=AnchorSpec(**SSD_ANCHORS)), EXPECTED_STRETCH)
    wrong = AnchorSpec(**{**SSD_ANCHORS, "strides": (8, 16, 32)})
    with pytest.raises(BadInputError, match="makes 42 anchors but the model's box regressor output .* has 10 boxes"):
        model.detect(two_to_one_image(), anchors=wrong)


@pytest.mark.convert
def test_detect_accepts_paths_pil_images_grey_and_rgba(vision_models, tmp_path):
    from PIL import Image

    model = _load(vision_models, tmp_path, "yolov8", "letterbox")
    rgb = two_to_one_image()
    Image.fromarray(rgb).save(tmp_path / "img.png")
    for image in (tmp_path / "img.png", str(tmp_path / "img.png"), Image.fromarray(rgb), rgb[:, :, 0],
                  np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])):
        assert_detections(model.detect(image), EXPECTED_LETTERBOX)


@pytest.mark.convert
def test_bad_images_and_thresholds_are_one_line_errors(vision_models, tmp_path):
    model = _load(vision_models, tmp_path, "yolov8")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(BadInputError, match="cannot read image .*broken.jpg"):
        model.detect(tmp_path / "broken.jpg")
    with pytest.raises(BadInputError, match=r"uint8 array .*received float32 with shape \(32, 64, 3\)"):
        model.detect(two_to_one_image().astype(np.float32))
    for name, value in (("score_threshold", 1.5), ("iou_threshold", -0.1), ("score_threshold", float("nan"))):
        with pytest.raises(BadInputError, match=f"`{name}` must be a number from 0 to 1"):
            model.detect(two_to_one_image(), **{name: value})
    with pytest.raises(BadInputError, match="`max_detections` must be a positive whole number"):
        model.detect(two_to_one_image(), max_detections=0)


def test_a_model_without_an_image_input_is_refused():
    from runtime_fixtures import fixture_path

    model = runtime.load(fixture_path("two_inputs"))
    with pytest.raises(BadInputError, match=r"detect needs a model with one image input of shape \(1, H, W, C\)"):
        model.detect(np.zeros((8, 8, 3), np.uint8))


# ---------------------------------------------------------------------------------------
# The parts, without a model


def test_nms_is_per_class_and_greedy():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10.0]])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.95])
    classes = np.array([0, 0, 1, 0, 2])
    assert nms(boxes, scores, classes, 0.5, 100).tolist() == [4, 0, 2, 3]
    assert nms(boxes, scores, classes, 0.9, 100).tolist() == [4, 0, 1, 2, 3]  # IoU(0, 1) = 0.818
    assert nms(boxes, scores, classes, 0.5, 2).tolist() == [4, 0]
    assert nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0), 0.5, 10).tolist() == []


def test_geometry_maps_boxes_back_through_stretch_and_letterbox():
    stretch = make_geometry(640, 480, 320, 320, "stretch")
    assert stretch.to_source(np.array([[32, 32, 160, 320]])).tolist() == [[64, 48, 320, 480]]
    box = make_geometry(640, 480, 320, 320, "letterbox")  # 320 x 240, 40 rows of padding above
    assert (box.scale_x, box.scale_y, box.pad_x, box.pad_y) == (0.5, 0.5, 0, 40)
    assert box.to_source(np.array([[32, 40, 160, 280]])).tolist() == [[64, 0, 320, 480]]
    assert box.to_source(np.array([[0, 0, 320, 20]])).tolist() == [[0, 0, 640, 0]]  # padding: clipped away
    tall = make_geometry(100, 300, 90, 90, "letterbox")  # 30 x 90, padded left and right
    assert (tall.pad_x, tall.pad_y, tall.scale_x) == (30, 0, 0.3)


def test_anchor_counts_match_mediapipe_graphs():
    blazeface = AnchorSpec(input_size_height=128, input_size_width=128, strides=(8, 16, 16, 16), min_scale=0.1484375,
                           max_scale=0.75, fixed_anchor_size=True)
    anchors = generate_anchors(blazeface)
    assert anchors.shape == (896, 4)
    assert anchors[:3].tolist() == [[0.03125, 0.03125, 1, 1], [0.03125, 0.03125, 1, 1], [0.09375, 0.03125, 1, 1]]
    ssd_mobilenet = AnchorSpec(num_layers=6, input_size_height=300, input_size_width=300,
                               strides=(16, 32, 64, 128, 256, 512), min_scale=0.2, max_scale=0.95,
                               aspect_ratios=(1.0, 2.0, 0.5, 3.0, 0.3333), reduce_boxes_in_lowest_layer=True)
    anchors = generate_anchors(ssd_mobilenet)
    assert anchors.shape == (1917, 4)
    np.testing.assert_allclose(anchors[:3], [[1 / 38, 1 / 38, 0.1, 0.1], [1 / 38, 1 / 38, 0.2 * 2**0.5, 0.2 / 2**0.5],
                                             [1 / 38, 1 / 38, 0.2 / 2**0.5, 0.2 * 2**0.5]], rtol=1e-6)


def test_ssd_box_coding_of_tf_object_detection():
    anchors = np.array([[0.5, 0.5, 0.2, 0.4]], np.float32)  # x, y, w, h
    spec = DetectionSpec(layout="ssd")  # yxhw, scales 10 10 5 5, exponential sizes
    raw = np.array([[1.0, 2.0, 5 * np.log(2.0), 0.0]])  # y +0.1 * 0.4, x +0.2 * 0.2, h x2, w x1
    np.testing.assert_allclose(decode_boxes(raw, anchors, spec), [[0.44, 0.14, 0.64, 0.94]], atol=1e-6)


def _spec(name, *shape, dtype="float32"):
    return TensorSpec(name, 0, tuple(shape), dtype)


def test_layouts_are_recognised_from_shapes_and_unknown_ones_listed():
    assert recognise_layout((_spec("out", 1, 25200, 85),)).layout == "yolov5"
    assert recognise_layout((_spec("out", 1, 84, 8400),)).layout == "yolov8"
    ssd = recognise_layout((_spec("scores", 1, 896, 1), _spec("regressors", 1, 896, 16)))
    assert (ssd.layout, ssd.boxes, ssd.scores) == ("ssd", 1, 0)
    post = recognise_layout((_spec("StatefulPartitionedCall:3", 1, 25), _spec("b", 1, 25, 4),
                             _spec("c", 1), _spec("d", 1, 25)))
    assert (post.layout, post.boxes, post.count, post.classes) == ("postprocess", 1, 2, None)
    named = recognise_layout((_spec("detection_scores", 1, 10), _spec("detection_boxes", 1, 10, 4),
                              _spec("num_detections", 1), _spec("detection_classes", 1, 10)))
    assert (named.scores, named.classes) == (0, 3)
    with pytest.raises(BadInputError) as info:
        recognise_layout((_spec("logits", 1, 10),))
    message = str(info.value)
    assert "cannot recognise a detection layout in the model's outputs (logits [1, 10])" in message
    assert all(name in message for name in LAYOUTS) and "\n" not in message


def test_detection_spec_is_validated_and_travels_in_the_manifest():
    from edgekit_testing import make_manifest

    with pytest.raises(BadInputError, match="`layout` must be one of postprocess, yolov5, yolov8, ssd"):
        DetectionSpec(layout="yolov9")
    with pytest.raises(BadInputError, match="`box_scale` must hold positive numbers"):
        DetectionSpec(box_scale=(10, 10, 0, 5))
    with pytest.raises(BadInputError, match="`strides` must hold positive whole numbers"):
        AnchorSpec(input_size_height=8, input_size_width=8, strides=(0,), min_scale=0.1, max_scale=0.2)
    with pytest.raises(BadInputError, match="`num_layers` is 3 but `strides` lists 2 layers"):
        AnchorSpec(input_size_height=8, input_size_width=8, strides=(8, 16), min_scale=0.1, max_scale=0.2, num_layers=3)
    manifest = make_manifest(detection=SSD)
    again = Manifest.loads(manifest.dumps())
    assert again.detection == SSD and again.schema == "edgekit.manifest/2"
    data = manifest.to_json()
    data["detection"]["anchors"]["strides"] = [16, -1]
    from edgekit.artifact import SchemaError

    with pytest.raises(SchemaError, match="detection.anchors: strides must hold positive whole numbers"):
        Manifest.from_json(data)

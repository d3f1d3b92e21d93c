"""`edgekit predict`: tables, --json (edgekit.predict/1), annotated copies, the base install, and
one-line errors (exit 3 for bad input) with nothing written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgekit_testing import FIXTURES, REPO, assert_clean_error, make_manifest, run_cli
from vision_models import (
    EXPECTED_LETTERBOX, LABELS, colour_blocks, rgb_preprocessing, shared_models, two_to_one_image,
    with_manifest,
)

from edgekit.runtime import make_preprocessing

CLASSES = ("cat", "dog", "bird")


@pytest.fixture(scope="session")
def vision_models(tmp_path_factory):
    pytest.importorskip("keras", reason="building the test models needs edgekit[convert]")
    return shared_models(tmp_path_factory)


@pytest.fixture
def classifier(tmp_path):
    """The checked-in float32 fixture (8 x 8 RGB in, 3 scores out) with a sidecar manifest."""
    path = tmp_path / "classifier.tflite"
    shutil.copyfile(FIXTURES / "float32.tflite", path)
    path.with_suffix(".json").write_text(make_manifest(preprocessing=make_preprocessing(3), labels=CLASSES).dumps())
    return path


def _save_png(path, pixels):
    from PIL import Image

    Image.fromarray(pixels).save(path)
    return path


@pytest.mark.convert
def test_detections_as_table_json_and_annotated_copies(vision_models, tmp_path):
    from PIL import Image

    from edgekit.report.predictions import colour

    model = with_manifest(vision_models["yolov8"], tmp_path / "det.tflite", labels=LABELS,
                          preprocessing=rgb_preprocessing(fit="letterbox"))
    image = _save_png(tmp_path / "street.png", two_to_one_image())
    result = run_cli("predict", model, image, "--json", "--save", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "edgekit.predict/1" and (data["task"], data["layout"]) == ("detect", "yolov8")
    (item,) = data["images"]
    assert (item["image_width"], item["image_height"], item["fit"]) == (64, 32, "letterbox")
    found = [(d["box"], d["label"], d["score"]) for d in item["detections"]]
    assert [(pytest.approx(b), label, pytest.approx(s)) for b, label, s in EXPECTED_LETTERBOX] == found
    assert data["saved"] == [str(tmp_path / "out" / "street.png")]
    annotated = np.asarray(Image.open(tmp_path / "out" / "street.png"))
    assert annotated.shape == (32, 64, 3)
    assert tuple(annotated[12, 16]) == colour(2)  # the left edge of the bird's box (drawn last)
    assert tuple(annotated[24, 40]) == tuple(two_to_one_image()[24, 40])  # away from the boxes: the image
    table = run_cli("predict", model, image, "--score-threshold", "0.8")
    assert table.returncode == 0, table.stderr
    assert "dog" in table.stdout and "0.900" in table.stdout and "bird" not in table.stdout
    assert "16.0" in table.stdout and "48.0" in table.stdout


@pytest.mark.convert
def test_mask_statistics_and_overlay(vision_models, tmp_path):
    model = with_manifest(vision_models["segment"], tmp_path / "seg.tflite", labels=("red", "green", "blue"),
                          preprocessing=rgb_preprocessing())
    image = _save_png(tmp_path / "blocks.png", colour_blocks(48, 24)[0])
    result = run_cli("predict", model, image, "--json", "--save", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    (item,) = json.loads(result.stdout)["images"]
    assert [(c["label"], c["pixels"], c["fraction"]) for c in item["classes"]] == [
        ("red", 576, 0.5), ("green", 288, 0.25), ("blue", 288, 0.25)]
    assert (tmp_path / "out" / "blocks.png").is_file()


def test_classify_on_the_base_install_with_tensorflow_blocked(classifier, tmp_path):
    """The device install has no TensorFlow: predict must not need it."""
    _save_png(tmp_path / "a.png", np.random.default_rng(0).integers(0, 256, (30, 20, 3), dtype=np.uint8))
    _save_png(tmp_path / "b.png", np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8))
    script = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "sys.argv = ['edgekit', 'predict', sys.argv[1], sys.argv[2], '--top-k', '2', '--json']\n"
        "from edgekit.cli import main\nmain()\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(classifier), str(tmp_path)], capture_output=True,
                            text=True, cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["task"] == "classify" and [i["path"] for i in data["images"]] == [str(tmp_path / "a.png"),
                                                                                  str(tmp_path / "b.png")]
    from edgekit import runtime

    expected = runtime.load(classifier).classify(tmp_path / "b.png", top_k=2)
    got = [(c["label"], c["score"]) for c in data["images"][1]["classes"]]
    assert [label for label, _ in got] == [label for label, _ in expected]
    assert [score for _, score in got] == pytest.approx([score for _, score in expected], abs=1e-6)


def test_non_rgb_images_are_converted_and_said_so_deep_ones_refused(classifier, tmp_path):
    from PIL import Image

    pixels = np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert("L").save(tmp_path / "grey.png")
    Image.fromarray(pixels).convert("RGBA").save(tmp_path / "alpha.png")
    Image.fromarray(pixels).convert("P").save(tmp_path / "palette.gif")
    result = run_cli("predict", classifier, tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    modes = {item["path"].rsplit("/", 1)[1]: item["mode"] for item in json.loads(result.stdout)["images"]}
    assert modes == {"alpha.png": "RGBA", "grey.png": "L", "palette.gif": "P"}
    table = run_cli("predict", classifier, tmp_path / "grey.png")
    assert "converted to RGB for the model (alpha dropped): grey.png (L)" in table.stdout
    Image.fromarray(np.full((8, 8), 40000, np.uint16)).save(tmp_path / "deep.png")
    assert_clean_error(run_cli("predict", classifier, tmp_path / "deep.png"), 3, "deep.png has more than 8 bits",
                       "I;16")


def test_bad_input_is_one_line_exit_3_and_nothing_is_written(classifier, tmp_path):
    good = _save_png(tmp_path / "good.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "out"
    assert_clean_error(run_cli("predict", classifier, good, tmp_path / "bad.png", "--save", out), 3,
                       "cannot read image", "bad.png")
    assert not out.exists()
    assert_clean_error(run_cli("predict", classifier, good, "--score-threshold", "1.5"), 3,
                       "--score-threshold must be a number from 0 to 1; received 1.5")
    assert_clean_error(run_cli("predict", classifier, good, "--iou-threshold", "-0.5"), 3, "--iou-threshold")
    (tmp_path / "file").write_text("x")
    assert_clean_error(run_cli("predict", classifier, good, "--save", tmp_path / "file" / "sub"), 3,
                       "--save", "is not a folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_error(run_cli("predict", classifier, empty), 3, "has no image files")
    assert_clean_error(run_cli("predict", classifier, tmp_path / "missing.png"), 3, "input not found")
    assert_clean_error(run_cli("predict", classifier, good, "--task", "track"), 2, "'track' is not one of 'auto'")


def test_existing_outputs_need_force(classifier, tmp_path):
    good = _save_png(tmp_path / "good.png", np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    (out / "good.png").write_bytes(b"keep me")
    assert_clean_error(run_cli("predict", classifier, good, "--save", out), 3, "output exists", "--force")
    assert (out / "good.png").read_bytes() == b"keep me"
    assert run_cli("predict", classifier, good, "--save", out, "--force").returncode == 0
    assert (out / "good.png").read_bytes()[:4] == b"\x89PNG"


def test_a_model_without_an_image_input_or_manifest(tmp_path):
    two = tmp_path / "two.tflite"
    shutil.copyfile(FIXTURES / "two_inputs.tflite", two)
    good = _save_png(tmp_path / "good.png", np.zeros((8, 8, 3), np.uint8))
    assert_clean_error(run_cli("predict", two, good), 3, "one image input of shape (1, H, W, C)")
    bare = tmp_path / "bare.tflite"
    shutil.copyfile(FIXTURES / "float32.tflite", bare)
    assert_clean_error(run_cli("predict", bare, good), 3, "records no preprocessing",
                       "the --scale/--mean/--std/--fit options")
    result = run_cli("predict", bare, good, "--fit", "letterbox", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["images"][0]["classes"][0]["label"] in ("0", "1", "2")


def test_edge_tpu_options_without_the_runtime(classifier, tmp_path):
    """No Edge TPU or libedgetpu exists here: the refusal is what can be tested (exit 4)."""
    good = _save_png(tmp_path / "good.png", np.zeros((8, 8, 3), np.uint8))
    result = run_cli("predict", classifier, good, "--delegate", "edgetpu", "--device", "usb:0")
    if result.returncode == 0:  # pragma: no cover - a machine with a Coral and libedgetpu
        pytest.skip("an Edge TPU is attached")
    assert_clean_error(result, 4, "libedgetpu.so.1", "libedgetpu1-std", "'usb:0'")
    assert_clean_error(run_cli("predict", classifier, good, "--delegate", "edgetpu", "--device", "usb0"), 3,
                       "--tpu 'usb0' is not an Edge TPU device name")
    assert_clean_error(run_cli("predict", classifier, good, "--tpu", "usb"), 2, "--tpu 'usb' names an Edge TPU", "--delegate edgetpu")

"""Model.segment: a class mask at the original image's size through stretch and letterbox, from
class scores [1, H, W, C] and from class ids [1, H, W]; labels and statistics."""

from __future__ import annotations

import numpy as np
import pytest

from vision_models import colour_blocks, rgb_preprocessing, shared_models, with_manifest

from edgekit import runtime
from edgekit.errors import BadInputError

COLOURS = ("red", "green", "blue")


@pytest.fixture(scope="session")
def vision_models(tmp_path_factory):
    pytest.importorskip("keras", reason="building the test models needs edgekit[convert]")
    return shared_models(tmp_path_factory)


def _load(vision_models, tmp_path, name, fit="stretch", resize="bilinear", labels=COLOURS):
    path = with_manifest(vision_models[name], tmp_path / f"{name}_{fit}.tflite", labels=labels,
                         preprocessing=rgb_preprocessing(fit=fit, resize=resize))
    return runtime.load(path)


@pytest.mark.convert
@pytest.mark.parametrize("fit", ["stretch", "letterbox"])
@pytest.mark.parametrize("size", [(48, 24), (24, 48), (40, 40)])
def test_the_mask_is_exact_at_the_image_size(vision_models, tmp_path, fit, size):
    """Scores [1, 8, 8, 3] are the input's RGB: each pixel's class is its strongest colour. The
    2:1, 1:2 and square images resize to whole 8 x 8 cells, so the mask must match exactly; with
    letterbox the padding (black: class 0 if it were sampled) must never show up."""
    model = _load(vision_models, tmp_path, "segment", fit)
    image, expected = colour_blocks(*size)
    result = model.segment(image)
    assert result.mask.shape == expected.shape and result.mask.dtype == np.uint8
    np.testing.assert_array_equal(result.mask, expected)
    assert (result.image_width, result.image_height, result.fit) == (*size, fit)
    assert result.labels == COLOURS
    assert result.fractions() == {"red": 0.5, "green": 0.25, "blue": 0.25}
    area = size[0] * size[1]
    assert result.pixel_counts() == {0: area // 2, 1: area // 4, 2: area // 4}
    data = result.to_json()
    assert data["schema"] == "edgekit.segmentation/1" and data["class_count"] == 3
    assert [(c["label"], c["fraction"]) for c in data["classes"]] == [("red", 0.5), ("green", 0.25), ("blue", 0.25)]


@pytest.mark.convert
def test_class_id_outputs_and_unlabelled_classes(vision_models, tmp_path):
    """[1, 8, 8] float class ids (0 * R + 1 * G + 2 * B); no labels: ids as text."""
    model = _load(vision_models, tmp_path, "segment_ids", "letterbox", resize="nearest", labels=None)
    image, expected = colour_blocks(64, 32)
    result = model.segment(image)
    np.testing.assert_array_equal(result.mask, expected)
    assert result.labels == ("0", "1", "2")
    assert result.fractions() == {"0": 0.5, "1": 0.25, "2": 0.25}


@pytest.mark.convert
def test_segment_needs_a_mask_output_and_matching_labels(vision_models, tmp_path):
    with pytest.raises(BadInputError, match="lists 2 labels but the model outputs 3 scores"):
        _load(vision_models, tmp_path, "segment", labels=("a", "b")).segment(colour_blocks()[0])
    detector = _load(vision_models, tmp_path, "yolov8", labels=None)
    with pytest.raises(BadInputError, match=r"segment needs an output shaped like the image .* 32 x 32\); "
                                            r"this one has output_0: float32\[1, 7, 12\]"):
        detector.segment(colour_blocks()[0])


@pytest.mark.convert
def test_16_bit_images_are_refused_and_8_bit_modes_converted(vision_models, tmp_path):
    from PIL import Image

    model = _load(vision_models, tmp_path, "segment")
    image, expected = colour_blocks()
    Image.fromarray(image).convert("P").save(tmp_path / "palette.png")
    np.testing.assert_array_equal(model.segment(tmp_path / "palette.png").mask, expected)
    Image.fromarray((np.arange(48 * 24, dtype=np.uint16) * 50).reshape(24, 48)).save(tmp_path / "deep.png")
    with pytest.raises(BadInputError, match=r"deep.png has more than 8 bits per pixel \(Pillow mode I;16"):
        model.segment(tmp_path / "deep.png")


@pytest.mark.convert
def test_a_raw_uint8_input_is_given_the_pixels(vision_models, tmp_path):
    """An unquantized uint8 input takes pixels as they are (the model scales them itself)."""
    model = _load(vision_models, tmp_path, "segment_uint8", "letterbox")
    assert model.inputs[0].dtype == "uint8" and not model.inputs[0].quantized
    image, expected = colour_blocks(24, 48)
    np.testing.assert_array_equal(model.segment(image).mask, expected)

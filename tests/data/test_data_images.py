import numpy as np
import pytest
from PIL import Image

from edgekit.artifact import to_json
from edgekit.data import load_data
from edgekit.errors import BadInputError


def raises(spec, input_shape=(1, 4, 4, 3), **kwargs):
    with pytest.raises(BadInputError) as info:
        load_data(spec, input_shape, **kwargs)
    message = info.value.message
    assert "\n" not in message
    return message


def test_flat_folder_without_labels(tmp_path, write_image):
    for name in ("b.png", "a.jpg", "c.BMP"):
        write_image(tmp_path / name, value=51)
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden.png").write_bytes(b"not an image, but hidden")
    ds = load_data(tmp_path, (1, 4, 4, 3))
    assert ds.x.shape == (3, 4, 4, 3) and ds.x.dtype == np.float32
    assert ds.y is None and ds.class_names is None and ds.kind == "images"
    assert ds.source == str(tmp_path)
    np.testing.assert_allclose(ds.x[0::2], 51 / 255, atol=1e-6)  # png and bmp are lossless


def test_class_folders_give_labels(class_folder):
    ds = load_data(class_folder, (1, 4, 6, 3), scale=1.0)
    assert ds.class_names == ("cat", "dog")
    assert ds.y.tolist() == [0, 0, 1, 1, 1]
    np.testing.assert_allclose(ds.x[:2], 10.0)
    assert abs(float(ds.x[2:].mean()) - 200.0) < 2  # JPEG
    assert to_json(ds.preprocessing) == {
        "scale": 1.0, "mean": [0.0], "std": [1.0], "color": "RGB", "resize": "bilinear",
        "layout": "NHWC", "fit": "stretch", "pad_value": 0,
    }
    assert ds.to_summary().class_names == ("cat", "dog")


def test_known_pixel_by_hand(tmp_path):
    pixels = np.zeros((4, 4, 3), np.uint8)
    pixels[1, 2] = (200, 100, 50)
    Image.fromarray(pixels, "RGB").save(tmp_path / "one.png")
    ds = load_data(tmp_path, (1, 4, 4, 3), scale=1 / 255, mean=(0.5, 0.4, 0.3),
                   std=(0.2, 0.25, 0.5))
    expected = [(200 / 255 - 0.5) / 0.2, (100 / 255 - 0.4) / 0.25, (50 / 255 - 0.3) / 0.5]
    np.testing.assert_allclose(ds.x[0, 1, 2], expected, rtol=1e-5)
    np.testing.assert_allclose(ds.x[0, 0, 0], [-2.5, -1.6, -0.6], rtol=1e-5)
    assert ds.preprocessing.mean == (0.5, 0.4, 0.3)


def test_grayscale_images_feed_rgb_model(tmp_path, write_image):
    write_image(tmp_path / "g.png", size=(4, 4), mode="L", value=77)
    ds = load_data(tmp_path, (1, 4, 4, 3), scale=1.0)
    assert ds.x.shape == (1, 4, 4, 3)
    np.testing.assert_array_equal(ds.x, 77.0)


def test_rgb_images_feed_grayscale_model(tmp_path, write_image):
    write_image(tmp_path / "c.png", size=(4, 4), mode="RGBA", value=90)
    ds = load_data(tmp_path, (1, 4, 4, 1), scale=1.0)
    assert ds.x.shape == (1, 4, 4, 1) and ds.preprocessing.color == "L"
    np.testing.assert_array_equal(ds.x, 90.0)


def test_mixed_sizes_are_resized(tmp_path, write_image):
    write_image(tmp_path / "big.png", size=(10, 6), mode="L", value=30)
    write_image(tmp_path / "small.png", size=(3, 3), mode="L", value=60)
    ds = load_data(tmp_path, (1, 5, 5, 1), scale=1.0)
    assert ds.x.shape == (2, 5, 5, 1)
    np.testing.assert_array_equal(ds.x[0], 30.0)
    np.testing.assert_array_equal(ds.x[1], 60.0)


def test_max_samples_spreads_across_classes(tmp_path, write_image):
    for label in ("a", "b", "c"):
        for i in range(4):
            write_image(tmp_path / label / f"{i}.png", size=(2, 2))
    ds = load_data(tmp_path, (1, 2, 2, 3), max_samples=6)
    assert ds.y.tolist() == [0, 0, 1, 1, 2, 2]


def test_nested_folders_inside_class_folders(tmp_path, write_image):
    write_image(tmp_path / "a" / "deep" / "x.png", size=(2, 2))
    write_image(tmp_path / "b" / "y.png", size=(2, 2))
    ds = load_data(tmp_path, (1, 2, 2, 3))
    assert ds.y.tolist() == [0, 1]


def test_empty_class_folder_keeps_its_label(tmp_path, write_image):
    (tmp_path / "a").mkdir()
    write_image(tmp_path / "b" / "y.png", size=(2, 2))
    ds = load_data(tmp_path, (1, 2, 2, 3))
    assert ds.class_names == ("a", "b") and ds.y.tolist() == [1]


def test_empty_folder(tmp_path):
    message = raises(tmp_path, role="evaluation")
    assert f"evaluation data folder {tmp_path} has no images" in message and ".png" in message


def test_folder_without_image_files(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    (tmp_path / "empty_class").mkdir()
    assert "has no images" in raises(tmp_path)


def test_corrupt_png(tmp_path, write_image):
    write_image(tmp_path / "good.png", size=(4, 4))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG garbage bytes, not an image")
    message = raises(tmp_path)
    assert "calibration data" in message and "cannot read image" in message
    assert "bad.png" in message


def test_images_next_to_class_folders(tmp_path, write_image):
    write_image(tmp_path / "stray.png", size=(2, 2))
    write_image(tmp_path / "cat" / "1.png", size=(2, 2))
    message = raises(tmp_path)
    assert "both images (stray.png" in message and "class folders (cat" in message


def test_image_folder_needs_nhwc_input(tmp_path, write_image):
    write_image(tmp_path / "a.png")
    message = raises(tmp_path, (1, 64))
    assert "image folder" in message and "(1, 64)" in message and ".npy" in message


def test_image_folder_needs_1_3_or_4_channels(tmp_path, write_image):
    write_image(tmp_path / "a.png")
    assert "1, 3 or 4 channels" in raises(tmp_path, (1, 4, 4, 2))


def test_bad_mean_length(tmp_path, write_image):
    write_image(tmp_path / "a.png")
    assert "`mean` has 2 values" in raises(tmp_path, mean=(0.1, 0.2))

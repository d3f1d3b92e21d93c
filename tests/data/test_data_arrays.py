import numpy as np
import pytest

from edgekit.data import load_data
from edgekit.errors import BadInputError


def raises(spec, input_shape=(1, 4), **kwargs):
    """The BadInputError message load_data raises; checks it is one line."""
    with pytest.raises(BadInputError) as info:
        load_data(spec, input_shape, **kwargs)
    message = info.value.message
    assert "\n" not in message and str(spec) in message
    return message


# .npy -------------------------------------------------------------------------------------


def test_npy_good(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.linspace(0, 1, 12).reshape(3, 4))
    ds = load_data(path, (1, 4))
    assert ds.x.shape == (3, 4) and ds.x.dtype == np.float32
    assert ds.y is None and ds.kind == "npy" and ds.source == str(path)
    np.testing.assert_allclose(ds.x, np.linspace(0, 1, 12).reshape(3, 4), rtol=1e-6)


def test_npy_integers_are_converted_without_scaling(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([[0, 7, 255, 3]], dtype=np.uint8))
    np.testing.assert_array_equal(load_data(path, (1, 4)).x, [[0.0, 7.0, 255.0, 3.0]])


def test_npy_shape_mismatch(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((5, 28, 28), np.float32))
    message = raises(path, (1, 32, 32, 3))
    assert "calibration data" in message
    assert "samples of shape (28, 28)" in message
    assert "model input is (1, 32, 32, 3) -> expects (n, 32, 32, 3)" in message


def test_npy_shape_mismatch_hints_reshape_and_batch_axis(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((5, 28, 28), np.float32))
    assert "x.reshape(-1, 28, 28, 1)" in raises(path, (1, 28, 28, 1))
    np.save(path, np.zeros((28, 28, 1), np.float32))
    assert "without the batch axis" in raises(path, (1, 28, 28, 1))


def test_npy_empty(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((0, 4), np.float32))
    assert "0 samples" in raises(path, role="evaluation")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_npy_nan_or_inf(tmp_path, bad):
    path = tmp_path / "x.npy"
    x = np.zeros((3, 4), np.float32)
    x[2, 1] = bad
    np.save(path, x)
    message = raises(path)
    assert "1 NaN or inf values" in message and "sample 2" in message


def test_npy_float64_overflowing_float32_is_inf(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.full((1, 4), 1e300))
    assert "after conversion to float32" in raises(path)


def test_npy_object_dtype(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([[1, "a", None, 2.0]], dtype=object), allow_pickle=True)
    message = raises(path)
    assert "cannot read calibration data" in message and "object arrays" in message


def test_npy_string_dtype(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([["a", "b", "c", "d"]]))
    assert "dtype <U1" in raises(path)


def test_npy_corrupt(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(b"this is not numpy")
    assert "is not a NumPy file" in raises(path)
    path.write_bytes(b"\x93NUMPY\x01\x00 truncated header")
    assert "cannot read calibration data" in raises(path)


def test_npy_that_is_really_npz(tmp_path):
    path = tmp_path / "x.npy"
    with open(path, "wb") as handle:
        np.savez(handle, x=np.zeros((1, 4)))
    assert "rename it to .npz" in raises(path)


def test_npy_max_samples_spread(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(10, dtype=np.float32).reshape(10, 1))
    ds = load_data(path, (1, 1), max_samples=4)
    np.testing.assert_array_equal(ds.x[:, 0], [0, 2, 5, 7])


@pytest.mark.parametrize("max_samples", [0, -3, 1.5, "10"])
def test_bad_max_samples(tmp_path, max_samples):
    with pytest.raises(BadInputError, match="max_samples must be a positive integer"):
        load_data(tmp_path, (1, 4), max_samples=max_samples)


@pytest.mark.parametrize("input_shape", [(1,), (1, None, None, 3), (1, 0), 5, None])
def test_bad_input_shape(tmp_path, input_shape):
    with pytest.raises(BadInputError, match="model input shape must be .* received"):
        load_data(tmp_path, input_shape)


# .npz -------------------------------------------------------------------------------------


def test_npz_with_labels(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((4, 2, 2)), y=np.array([0, 1, 2, 1], dtype=np.int32))
    ds = load_data(path, (1, 2, 2), role="evaluation")
    assert ds.x.shape == (4, 2, 2) and ds.kind == "npz"
    assert ds.y.dtype == np.int64 and ds.y.tolist() == [0, 1, 2, 1]
    assert ds.class_names is None


def test_npz_without_labels(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((4, 2)))
    assert load_data(path, (1, 2)).y is None


def test_npz_with_class_names(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((2, 2)), y=[0, 1], class_names=np.array(["cat", "dog"]))
    assert load_data(path, (1, 2)).class_names == ("cat", "dog")
    np.savez(path, x=np.ones((2, 2)), y=[0, 2], class_names=np.array(["cat", "dog"]))
    assert "labels up to 2 but only 2 class_names" in raises(path, (1, 2))


def test_npz_missing_x_lists_keys(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.ones((2, 2)), labels=[0, 1])
    message = raises(path, (1, 2))
    assert "no array 'x'" in message and "found: images, labels" in message
    assert "np.savez(path, x=inputs, y=labels)" in message


def test_npz_unexpected_key(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((2, 2)), weights=[1, 2])
    assert "unexpected arrays weights" in raises(path, (1, 2))


def test_npz_label_length_mismatch(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((3, 2)), y=[0, 1])
    message = raises(path, (1, 2))
    assert "labels y of shape (2,) for 3 samples" in message


def test_npz_one_hot_labels_rejected(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((2, 2)), y=np.eye(2))
    assert "not one-hot" in raises(path, (1, 2))


def test_npz_negative_labels(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((3, 2)), y=[0, -1, 2])
    message = raises(path, (1, 2))
    assert "negative labels" in message and "-1" in message


def test_npz_whole_float_labels_accepted_others_rejected(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((2, 2)), y=[1.0, 3.0])
    assert load_data(path, (1, 2)).y.tolist() == [1, 3]
    np.savez(path, x=np.ones((2, 2)), y=[1.0, 2.5])
    assert "not whole numbers" in raises(path, (1, 2))
    np.savez(path, x=np.ones((2, 2)), y=[1.0, np.nan])
    assert "not whole numbers" in raises(path, (1, 2))


def test_npz_object_array(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.array([[1, None]], dtype=object))
    message = raises(path, (1, 2))
    assert "array 'x'" in message and "object arrays" in message


def test_npz_corrupt(tmp_path):
    path = tmp_path / "d.npz"
    path.write_bytes(b"PK\x03\x04 broken zip")
    assert "cannot read calibration data" in raises(path, (1, 2))


def test_npz_that_is_really_npy(tmp_path):
    path = tmp_path / "d.npz"
    with open(path, "wb") as handle:
        np.save(handle, np.ones((2, 2)))
    assert "rename it to .npy" in raises(path, (1, 2))


def test_npz_max_samples_keeps_labels_aligned(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.arange(6.0).reshape(6, 1), y=np.arange(6))
    ds = load_data(path, (1, 1), max_samples=3)
    np.testing.assert_array_equal(ds.x[:, 0], ds.y)
    assert ds.y.tolist() == [0, 2, 4]


# paths ------------------------------------------------------------------------------------


def test_missing_path(tmp_path):
    message = raises(tmp_path / "nope.npy", role="evaluation")
    assert "evaluation data not found" in message and "digits" in message


def test_unsupported_extension(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2,3,4\n")
    message = raises(path)
    assert "unsupported type '.csv'" in message
    assert "image folder" in message and ".npy" in message and ".npz" in message
    assert "digits" in message


def test_single_image_file_is_unsupported(tmp_path):
    path = tmp_path / "cat.png"
    path.write_bytes(b"")
    assert "put them in a folder" in raises(path)

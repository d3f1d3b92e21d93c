import subprocess
import sys

import numpy as np
import pytest

from edgekit.data import BUILTIN_DATASETS, digits_split, load_builtin, load_data
from edgekit.errors import BadInputError

pytest.importorskip("sklearn")


def test_digits_shape_range_labels():
    ds = load_data("digits", (1, 8, 8, 1))
    assert BUILTIN_DATASETS == ("digits", "digits-train", "digits-test")
    assert ds.x.shape == (1797, 8, 8, 1) and ds.x.dtype == np.float32
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.y.dtype == np.int64 and sorted(set(ds.y.tolist())) == list(range(10))
    assert ds.class_names == tuple("0123456789")
    assert ds.kind == "builtin" and ds.source == "digits" and ds.preprocessing is None
    # values are pixel counts 0..16 divided by 16
    np.testing.assert_array_equal(ds.x * 16, np.round(ds.x * 16))


@pytest.mark.parametrize("input_shape", [(1, 64), (None, 8, 8)])
def test_digits_reshaped_to_flat_or_2d_inputs(input_shape):
    ds = load_data("digits", input_shape)
    base = load_builtin("digits")
    assert ds.x.shape == (1797, *input_shape[1:])
    np.testing.assert_array_equal(ds.x.reshape(1797, -1), base.x.reshape(1797, -1))
    np.testing.assert_array_equal(ds.y, base.y)


def test_digits_do_not_fit_other_inputs():
    with pytest.raises(BadInputError) as info:
        load_data("digits", (1, 28, 28, 1), role="evaluation")
    message = info.value.message
    assert "evaluation" in message and "8x8x1 grayscale" in message
    assert "(1, 28, 28, 1)" in message and "\n" not in message


def test_digits_max_samples_is_deterministic_subset():
    a = load_data("digits", (1, 64), max_samples=100)
    b = load_data("digits", (1, 64), max_samples=100)
    assert len(a) == 100
    np.testing.assert_array_equal(a.x, b.x)


def test_digits_split_stratified_and_disjoint():
    train, test = digits_split(seed=0, test_fraction=0.25)
    assert len(train) + len(test) == 1797
    assert 440 <= len(test) <= 460
    ratio = np.bincount(test.y, minlength=10) / np.bincount(train.y, minlength=10)
    assert np.all(np.abs(ratio - 1 / 3) < 0.03)
    # together the two parts are exactly the whole set, each sample once
    full = load_builtin("digits")
    parts = np.concatenate([train.x, test.x]).reshape(1797, -1)
    key = lambda a: sorted(row.tobytes() for row in a)  # noqa: E731
    assert key(parts) == key(full.x.reshape(1797, -1))
    again, _ = digits_split(seed=0)
    np.testing.assert_array_equal(again.y, train.y)


def test_digits_split_rejects_bad_fraction():
    with pytest.raises(BadInputError, match="test_fraction .* received 1.5"):
        digits_split(test_fraction=1.5)


def test_unknown_builtin_name():
    with pytest.raises(BadInputError, match="unknown built-in dataset 'mnist'.*digits"):
        load_builtin("mnist")


def test_builtin_name_that_is_also_a_path_is_ambiguous(tmp_path, monkeypatch):
    (tmp_path / "digits").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInputError) as info:
        load_data("digits", (1, 64))
    assert "both a built-in set and a path" in info.value.message
    assert "./digits" in info.value.message


def test_import_is_light():
    code = (
        "import sys, edgekit.data; "
        "assert not {'sklearn', 'PIL', 'tensorflow'} & set(sys.modules), sys.modules.keys()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

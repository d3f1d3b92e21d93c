import json

import numpy as np
import pytest

from edgekit.artifact import to_json

from edgekit.data import Dataset, split_holdout
from edgekit.errors import BadInputError


def make_dataset(n, labels=True):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64) % 3 if labels else None
    return Dataset(x=x, y=y, source="test", kind="npz")


def test_len_take_and_summary():
    ds = make_dataset(10)
    part = ds.take([3, 1])
    assert len(ds) == 10 and len(part) == 2
    np.testing.assert_array_equal(part.x, [[6, 7], [2, 3]])
    np.testing.assert_array_equal(part.y, [0, 1])
    assert part.source == "test" and part.kind == "npz"
    summary = to_json(ds.to_summary())
    assert summary == {
        "source": "test", "kind": "npz", "n": 10, "shape": [10, 2], "has_labels": True,
        "preprocessing": None, "class_names": None,
    }
    json.dumps(summary)


def test_take_without_labels_keeps_none():
    assert make_dataset(4, labels=False).take([0]).y is None


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"x": np.zeros((2, 2))}, ["float32", "float64"]),
        ({"y": np.zeros(3, dtype=np.int64)}, ["int64", "(2,)"]),
        ({"y": np.array([0, 1], dtype=np.int32)}, ["int64", "int32"]),
        ({"y": np.array([0, -1], dtype=np.int64)}, ["negative"]),
        ({"kind": "csv"}, ["kind", "'csv'"]),
        ({"y": np.array([0, 2], dtype=np.int64), "class_names": ("a", "b")}, ["class names"]),
    ],
)
def test_dataset_rejects_bad_fields(kwargs, words):
    fields = {"x": np.zeros((2, 2), np.float32), "y": None, "source": "s", "kind": "npy"}
    fields.update(kwargs)
    with pytest.raises(BadInputError) as info:
        Dataset(**fields)
    for word in words:
        assert word in info.value.message


def test_split_holdout_sizes_and_disjoint():
    ds = make_dataset(100)
    calib, holdout = split_holdout(ds, 30)
    assert (len(calib), len(holdout)) == (30, 70)
    seen = np.concatenate([calib.x[:, 0], holdout.x[:, 0]])
    assert sorted(seen.tolist()) == list(range(0, 200, 2))


def test_split_holdout_is_deterministic_and_seeded():
    ds = make_dataset(50)
    a, _ = split_holdout(ds, 10, seed=0)
    b, _ = split_holdout(ds, 10, seed=0)
    c, _ = split_holdout(ds, 10, seed=1)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)


def test_split_holdout_caps_holdout():
    calib, holdout = split_holdout(make_dataset(100), 30, max_holdout=5)
    assert (len(calib), len(holdout)) == (30, 5)


@pytest.mark.parametrize(
    "n, n_calib, expected",
    [(10, 10, (8, 2)), (10, 500, (8, 2)), (3, 100, (2, 1)), (2, 100, (1, 1)), (1, 100, (1, 0))],
)
def test_split_holdout_small_sets_hold_out_20_percent(n, n_calib, expected):
    calib, holdout = split_holdout(make_dataset(n), n_calib)
    assert (len(calib), len(holdout)) == expected
    assert holdout.x.shape[1:] == (2,)


@pytest.mark.parametrize("n_calib", [0, -1, 2.5, True])
def test_split_holdout_rejects_bad_n_calib(n_calib):
    with pytest.raises(BadInputError, match="n_calib must be an integer >= 1; received"):
        split_holdout(make_dataset(5), n_calib)

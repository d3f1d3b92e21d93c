"""The parts of `train` that need no TensorFlow: the stratified split, class checks, imbalance,
channel choice, the default input size, and option validation."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import BadInputError, UsageError
from edgekit.train import data as data_mod
from edgekit.train.options import TrainOptions, export_options, parse_input_size


def test_split_is_stratified_disjoint_and_seeded():
    labels = np.repeat(np.arange(4), [50, 20, 3, 2])
    train, val, test = data_mod.split_indices(labels, 4, val=0.1, test=0.2, seed=1)
    together = np.concatenate([train, val, test])
    assert len(together) == len(labels) == len(set(together.tolist()))
    for label, n in enumerate([50, 20, 3, 2]):
        in_test = int(np.sum(labels[test] == label))
        in_train = int(np.sum(labels[train] == label))
        assert in_train >= 1 and in_test >= 1
        if n >= 20:
            assert in_test == round(0.2 * n) and int(np.sum(labels[val] == label)) == round(0.1 * n)
    again = data_mod.split_indices(labels, 4, val=0.1, test=0.2, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))
    other = data_mod.split_indices(labels, 4, val=0.1, test=0.2, seed=2)
    assert not np.array_equal(np.sort(test), np.sort(other[2]))


def test_class_checks_and_imbalance():
    source = data_mod.Source("x.npz", "arrays", ("a", "b"), np.array([0, 0, 0, 1]), x=np.zeros((4, 8, 8, 1), np.float32))
    with pytest.raises(BadInputError, match=r"1 class\(es\) with fewer than 2 samples: 'b' \(1\)"):
        data_mod.check_classes(source, "training")
    note = data_mod.imbalance_note(("cat", "dog", "fox"), (400, 40, 100))
    assert note.startswith("class imbalance: 'cat' has 400 training samples, 'dog' 40 (10x)")
    assert data_mod.imbalance_note(("a", "b"), (100, 60)) is None


def test_channels_and_default_input_size():
    assert data_mod.choose_channels(["L", "L", "LA"], None, "none") == 1
    assert data_mod.choose_channels(["L", "RGB"], None, "none") == 3
    assert data_mod.choose_channels(["L"], None, "imagenet") == 3
    assert data_mod.choose_channels(["RGB"], 1, "none") == 1
    assert data_mod.conversions(["L", "RGB", "RGBA", "P"], 3) == {"L": 1, "P": 1, "RGBA": 1}
    assert data_mod.default_side([(8, 8), (8, 8)], 8) == 8
    assert data_mod.default_side([(640, 480)] * 3, 8) == 96
    assert data_mod.default_side([(8, 8)], 32) == 32


@pytest.mark.parametrize("kwargs, words", [
    ({"arch": "resnet50"}, "`arch` 'resnet50' is unknown"),
    ({"alpha": 3.0, "arch": "mobilenetv2"}, "`alpha` is a width multiplier"),
    ({"val_split": 0.2, "val_data": "v.npz"}, "`val_data` replaces `val_split`"),
    ({"test_split": 1.5}, "`test_split` is a share"),
    ({"epochs": 0}, "`epochs` must be a whole number >= 1"),
    ({"learning_rate": 2.0}, "`learning_rate` must be between 0 and 1"),
    ({"fine_tune_epochs": 3}, "`fine_tune_epochs` applies with `fine_tune`"),
    ({"strategy": "tpu"}, "`strategy` 'tpu' is unknown"),
    ({"input_size": "96x"}, "`input_size` is the model's input"),
])
def test_options_are_checked_in_the_words_of_the_parameters(kwargs, words):
    with pytest.raises(UsageError) as info:
        TrainOptions(**kwargs)
    assert words in info.value.message


def test_input_size_and_export_options():
    assert parse_input_size("96") == (96, 96) and parse_input_size("96x128") == (96, 128)
    assert parse_input_size(64) == (64, 64) and parse_input_size(None) is None
    assert [r.name for r in export_options(["float16,int8"]).recipes] == ["float16", "int8"]
    assert [r.name for r in export_options("all").recipes] == ["float32", "dynamic", "float16", "int8", "int16x8"]
    tpu = export_options((), edgetpu=True)
    assert [(r.name, r.io) for r in tpu.recipes] == [("int8", "int8")] and tpu.edgetpu
    assert [r.name for r in export_options((), qat=True).recipes] == ["qat-int8"]
    with pytest.raises(UsageError, match="`io` applies to exported int8 models"):
        export_options((), io="uint8")
    with pytest.raises(UsageError, match="qat-int8 is exported with `qat`"):
        export_options(["qat-int8"])

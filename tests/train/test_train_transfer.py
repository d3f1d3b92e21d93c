"""Transfer learning from a weights file made here: the frozen base is exactly the file's after
the head phase; `fine_tune` N changes the top N layers of the base and nothing below them."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.convert


def _base_weights(path):
    import keras

    base = keras.models.load_model(path).get_layer("base")
    return {layer.name: [np.asarray(w) for w in layer.get_weights()] for layer in base.layers if layer.weights}


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_weights_file_loads_and_the_frozen_base_stays_unchanged(png_run, digits_npz, tmp_path):
    """The base of the CNN trained on the PNG folder, saved as a weights file here, carries
    its features to the .npz: the head alone reaches a high accuracy."""
    import keras

    from edgekit.train import train

    source = keras.models.load_model(png_run["model"]).get_layer("base")
    path = tmp_path / "base.weights.h5"
    source.save_weights(path)
    saved = {layer.name: [np.asarray(w) for w in layer.get_weights()] for layer in source.layers if layer.weights}

    head = train(digits_npz, output=tmp_path / "head.keras", arch="cnn", weights=path, epochs=4)
    assert [r.phase for r in head.history] == ["head"] * len(head.history)
    assert head.test.accuracy >= 0.9, head.test.accuracy  # the transferred features work
    assert head.architecture.trainable_params < head.architecture.params / 10
    after = _base_weights(head.model.path)
    assert after.keys() == saved.keys() and all(_same(after[name], saved[name]) for name in saved)

    # fine-tune from the .keras just trained: only the top 2 convolutions of the base move
    tuned = train(digits_npz, output=tmp_path / "tuned.keras", arch="cnn", weights=head.model.path, epochs=1,
                  fine_tune=2, fine_tune_epochs=2)
    assert [r.phase for r in tuned.history] == ["head", "fine-tune", "fine-tune"]
    assert tuned.architecture.fine_tuned_layers == 2
    assert tuned.history[1].learning_rate <= 1e-3 / 10  # a tenth of the head's rate, decaying
    moved = [name for name, weights in _base_weights(tuned.model.path).items() if not _same(weights, after[name])]
    assert moved == ["conv2_1", "conv2_2"], moved


def test_weights_of_another_architecture_are_refused_in_one_line(digits_npz, tmp_path):
    from edgekit.errors import BadInputError
    from edgekit.train import train
    from edgekit.train.architectures import build

    other = build("cnn", (8, 8, 3), 10, alpha=None, weights="none").get_layer("base")  # 3 channels, not 1
    other.save_weights(tmp_path / "rgb.weights.h5")
    with pytest.raises(BadInputError, match="do not fit cnn at this width and channel count"):
        train(digits_npz, output=tmp_path / "m.keras", arch="cnn", weights=tmp_path / "rgb.weights.h5", epochs=1)
    assert not (tmp_path / "m.keras").exists()

"""The Keras 3 -> Keras 2 bridge: same outputs as the Keras 3 model, clear refusals, tfmot."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from quantize_test_models import every_layer_model, keras, nested_mobilenet
from edgekit.errors import BadInputError, UsageError
from edgekit.quantize import bridge
from edgekit.quantize.qat import QatSettings, quantize_aware

pytestmark = pytest.mark.convert


def _inputs(model, n=8, seed=0):
    shape = (n, *model.inputs[0].shape[1:])
    return np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)


def test_every_supported_layer_matches_keras3():
    model = every_layer_model()
    bridged = bridge.to_tf_keras(model)
    x = _inputs(model)
    error = bridge.check_match(model, bridged, x)
    assert error <= 1e-5
    classes = {type(layer).__name__ for layer in bridged.layers}
    assert set(bridge.SUPPORTED_LAYERS) - {"Softmax", "LeakyReLU", "GlobalMaxPooling2D"} <= classes
    # the check is not vacuous: the outputs vary with the input and a changed weight shows
    assert np.ptp(np.asarray(bridged(x))) > 1e-3
    layer = bridged.get_layer("dense")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel * 1.01, bias])
    with pytest.raises(BadInputError, match="differs from the Keras 3 model"):
        bridge.check_match(model, bridged, x)


def test_sequential_model_matches():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu6"),
        keras.layers.Flatten(), keras.layers.Dense(6, activation="swish"), keras.layers.Dense(3),
    ])
    bridged = bridge.to_tf_keras(model)
    assert bridge.check_match(model, bridged, _inputs(model) / 255) <= 1e-5


@pytest.mark.slow
def test_nested_mobilenetv2_is_flattened_matches_and_quantizes():
    model = nested_mobilenet()
    bridged = bridge.to_tf_keras(model)
    names = [layer.name for layer in bridged.layers]
    assert "Conv1" in names and "head" in names and len(names) > 150  # inlined, not nested
    x = _inputs(model, 4) / 255
    assert bridge.check_match(model, bridged, x) <= 1e-5
    assert np.ptp(np.asarray(model(x))) > 0.01  # outputs that differ per input: a real check
    qat = quantize_aware(bridged)
    assert any("quant_" in layer.name for layer in qat.layers)
    assert np.asarray(qat(_inputs(model, 2) / 255)).shape == (2, 4)


def test_every_layer_model_gets_fake_quantization():
    bridged = bridge.to_tf_keras(every_layer_model())
    qat = quantize_aware(bridged)
    wrapped = {layer.name for layer in qat.layers if type(layer).__name__.startswith("QuantizeWrapper")}
    # Rescaling has no tfmot default: it gets an output quantizer like the rest
    assert {"quant_rescale", "quant_dense", "quant_probs", "quant_add"} <= wrapped


def test_subclassed_model_is_refused():
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    model = Tiny()
    model(np.zeros((1, 4), np.float32))
    with pytest.raises(BadInputError, match="subclassed model.*post-training int8 recipe"):
        bridge.check_bridgeable(model)


def test_unknown_layer_is_named():
    inputs = keras.Input((6,))
    x = keras.layers.LayerNormalization(name="norm")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    with pytest.raises(BadInputError, match=r"layer 'norm' \(LayerNormalization\) is not supported.*int8 recipe"):
        bridge.to_tf_keras(model)


def test_unsupported_activation_is_named():
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="hard_silu", name="hs")(inputs))
    with pytest.raises(BadInputError, match="'hs'.*hard_silu"):
        bridge.check_bridgeable(model)


def test_tfmot_import_leaves_the_environment_alone():
    code = (
        "import os\nfrom edgekit import _tf\n_tf.tfmot()\n"
        "assert 'tensorflow_model_optimization' in __import__('sys').modules\n"
        "print(repr(os.environ.get('TF_USE_LEGACY_KERAS')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["PYTHONPATH"] = os.getcwd()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "None"


@pytest.mark.parametrize("kwargs,words", [
    ({"train_data": ""}, "quantization-aware training needs `train_data`"),
    ({"train_data": "digits", "epochs": 0}, "`epochs` must be a positive"),
    ({"train_data": "digits", "batch_size": -1}, "`batch_size` must be a positive"),
    ({"train_data": "digits", "learning_rate": 3.0}, "`learning_rate` must be between 0 and 1"),
    ({"train_data": "digits", "strategy": "tpu"}, "`strategy` 'tpu' is unknown"),
])
def test_settings_refuse_bad_values(kwargs, words):
    with pytest.raises(UsageError, match=words):
        QatSettings(**kwargs)

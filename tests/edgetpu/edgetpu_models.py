"""Tiny Keras models built and converted inside the tests, shared by the Edge TPU tests.

A plain module (imported by tests/edgetpu/conftest.py): one session fixture converts every
model once, with edgekit's own `convert` where it can and the TFLite converter directly for
what `convert` deliberately never writes (a dynamic batch). Calibration data is fixed-seed
noise: these tests look at graph structure and op placement, never at accuracy.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="building test models needs edgekit[convert]")

SHAPE = (16, 16, 3)


def conv_net(activation: str = "relu"):
    """conv -> depthwise -> max pool -> conv (`activation`) -> conv -> global pool -> dense."""
    keras.utils.set_random_seed(5)
    inputs = keras.Input(SHAPE, name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(8, 3, padding="same")(x)
    x = keras.layers.Activation(activation)(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def dense_heavy():
    """About 9.4 M int8 weights: more than the Edge TPU's ~8 MiB of on-chip memory."""
    keras.utils.set_random_seed(6)
    return keras.Sequential([keras.Input((64, 64, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(2304, activation="relu"), keras.layers.Dense(8)])


def _int8_converter(model, calib: np.ndarray, folder: Path, batch):
    """TFLite full-integer conversion with int8 I/O; batch None keeps a dynamic batch."""
    import tensorflow as tf

    spec = tf.TensorSpec((batch, *model.inputs[0].shape[1:]), tf.float32)
    saved = folder / f"saved_{model.name}_{batch}"
    model.export(str(saved), verbose=False, input_signature=[spec])
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([calib[i:i + 1]] for i in range(len(calib)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def build_models(folder: Path) -> dict[str, Path]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from edgekit.convert import convert
    from edgekit.quantize import Recipe

    rng = np.random.default_rng(0)
    np.save(folder / "calib.npy", rng.random((24, *SHAPE), dtype=np.float32))
    calib = str(folder / "calib.npy")
    paths = {}

    conv_net().save(folder / "net.keras")
    result = convert(folder / "net.keras", [Recipe("float32"), Recipe("int8", "int8")], calib=calib, output=folder)
    paths["float32"], paths["int8"] = (a.path for a in result.artifacts)

    float_io = folder / "float_io"
    float_io.mkdir()
    result = convert(folder / "net.keras", [Recipe("int8", "float32")], calib=calib, output=float_io)
    paths["float_io"] = result.artifacts[0].path

    conv_net("leaky_relu").save(folder / "leaky.keras")
    paths["leaky"] = convert(folder / "leaky.keras", [Recipe("int8")], calib=calib, output=folder).artifacts[0].path

    batch2 = folder / "batch2"
    batch2.mkdir()
    paths["batch2"] = convert(folder / "net.keras", [Recipe("int8")], calib=calib, output=batch2,
                              batch=2).artifacts[0].path

    dynamic = folder / "dynamic_int8.tflite"
    dynamic.write_bytes(_int8_converter(conv_net(), np.load(calib)[:8], folder, batch=None))
    paths["dynamic"] = dynamic

    heavy = folder / "heavy_int8.tflite"
    heavy_calib = rng.random((4, 64, 64, 1), dtype=np.float32)
    heavy.write_bytes(_int8_converter(dense_heavy(), heavy_calib, folder, batch=1))
    paths["heavy"] = heavy
    return paths


@pytest.fixture(scope="session")
def edgetpu_models(tmp_path_factory):
    """{name: .tflite path}: int8, float_io, float32, leaky (an unsupported op in the middle),
    batch2 (a batch of 2), dynamic (a dynamic batch), heavy (> 8 MiB of parameters)."""
    return build_models(tmp_path_factory.mktemp("edgetpu_models"))


if __name__ == "__main__":  # python tests/edgetpu/edgetpu_models.py: build and list them
    for name, path in build_models(Path(tempfile.mkdtemp())).items():
        print(name, path)

"""The architectures are built for devices: only ReLU/ReLU6 activations, no squeeze-excite, a
`base` plus a small head; the default rule; and an int8 export that the Edge TPU check maps
fully (EfficientNet-Lite, the one edgekit builds itself)."""

from __future__ import annotations

import pytest

from edgekit.train import architectures

pytestmark = pytest.mark.convert

FORBIDDEN = ("Multiply", "Activation", "Rescaling", "Normalization", "Softmax")


@pytest.mark.parametrize("arch, shape", [
    ("cnn", (8, 8, 1)), ("cnn", (96, 96, 3)), ("mobilenetv2", (32, 32, 3)), ("mobilenetv3small", (32, 32, 3)),
    ("mobilenetv3large", (32, 32, 3)), ("efficientnet-lite", (32, 32, 3)),
])
def test_architectures_use_device_friendly_layers(arch, shape):
    model = architectures.build(arch, shape, 5, alpha=architectures.default_alpha(arch, None), weights="none")
    base = model.get_layer("base")
    kinds = {type(layer).__name__ for layer in base.layers}
    assert not kinds & set(FORBIDDEN), kinds & set(FORBIDDEN)  # no SE, no swish/hard-swish, no scaling inside
    relus = {float(layer.max_value) if layer.max_value is not None else None
             for layer in base.layers if type(layer).__name__ == "ReLU"}
    assert relus <= {6.0, None}
    assert tuple(model.output.shape) == (None, 5) and tuple(model.input.shape) == (None, *shape)
    assert [layer.name for layer in model.layers[-3:]] == ["pool", "dropout", "probs"]
    bn = [layer.momentum for layer in base.layers if type(layer).__name__ == "BatchNormalization"]
    assert bn and set(bn) == {0.9}  # from scratch: statistics that keep up with a short training


def test_the_default_rule():
    assert architectures.choose(None, "none", 8, 100000)[0] == "cnn"  # below 32 px
    assert architectures.choose(None, "none", 96, 1000)[0] == "cnn"  # little data from scratch
    assert architectures.choose(None, "none", 96, 5000)[0] == "mobilenetv2"
    assert architectures.choose(None, "imagenet", 96, 100)[0] == "mobilenetv2"
    assert architectures.choose("efficientnet-lite", "none", 96, 10)[1] == "given"
    assert architectures.scaling("cnn") == (1 / 255, 0.0, 1.0)
    assert architectures.scaling("mobilenetv2") == (1 / 127.5, 1.0, 1.0)


@pytest.mark.slow
def test_efficientnet_lite_exports_to_int8_that_maps_fully_to_the_edge_tpu(tmp_path):
    from edgekit.edgetpu import check_edgetpu
    from edgekit.train import train
    from train_helpers import write_digit_pngs

    data = write_digit_pngs(tmp_path / "digits32", scale=4, limit=300, mode="RGB")
    result = train(data, output=tmp_path / "lite.keras", arch="efficientnet-lite", alpha=0.5, epochs=1,
                   augment="none", export=["int8"])
    (artifact,) = result.export.artifacts
    assert artifact.manifest.inputs[0].dtype == "int8" and artifact.manifest.preprocessing.color == "RGB"
    check = check_edgetpu(artifact.path)
    assert check.verdict.startswith("all ") and "predicted on the Edge TPU" in check.verdict, check.verdict

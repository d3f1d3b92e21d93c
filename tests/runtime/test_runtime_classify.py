"""Manifests (embedded or sidecar) and Model.classify."""

from __future__ import annotations

import json

import numpy as np
import pytest
from runtime_fixtures import fixture_bytes, fixture_path, model_copy  # noqa: F401 (fixture)

from edgekit_testing import make_manifest

from edgekit import runtime
from edgekit.artifact import embed
from edgekit.errors import BadInputError
from edgekit.runtime.preprocess import apply_preprocessing, make_preprocessing

LABELS = ("cat", "dog", "bird")


def _manifest(**extra):
    return make_manifest(preprocessing=make_preprocessing(3), **extra)


def embed_manifest(content: bytes, manifest) -> bytes:
    return embed(content, manifest)


def _pixels(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)


def test_sidecar_manifest(model_copy):
    path = model_copy("float32")
    path.with_suffix(".json").write_text(_manifest(labels=LABELS).dumps())
    assert runtime.load(path).manifest.labels == LABELS


def test_sidecar_without_edgekit_schema_is_ignored(model_copy):
    path = model_copy("float32")
    path.with_suffix(".json").write_text(json.dumps({"labels": LABELS}))
    assert runtime.load(path).manifest is None
    path.with_suffix(".json").write_text("{broken")
    assert runtime.load(path).manifest is None


def test_embedded_manifest_wins_over_sidecar(model_copy):
    path = model_copy("float32")
    path.write_bytes(embed_manifest(fixture_bytes("float32"), _manifest(labels=LABELS)))
    path.with_suffix(".json").write_text(_manifest(labels=("x", "y", "z")).dumps())
    assert runtime.load(path).manifest.labels == LABELS


@pytest.mark.parametrize("name", ["float32", "int8", "uint8"])
def test_classify_array_matches_predict(model_copy, name):
    path = model_copy(name)
    path.write_bytes(embed_manifest(fixture_bytes(name), _manifest(labels=LABELS)))
    model = runtime.load(path)
    pixels = _pixels()
    scores = model.predict(apply_preprocessing(pixels[None], model.manifest.preprocessing))[0]
    top = model.classify(pixels, top_k=3)
    assert [label for label, _ in top] == [LABELS[i] for i in np.argsort(-scores, kind="stable")]
    assert [score for _, score in top] == pytest.approx(sorted(scores.tolist(), reverse=True))
    assert len(model.classify(pixels)) == 1
    assert len(model.classify(pixels, top_k=10)) == 3


def test_classify_image_file_without_labels(model_copy, tmp_path):
    from PIL import Image

    path = model_copy("float32")
    path.with_suffix(".json").write_text(_manifest().dumps())
    model = runtime.load(path)
    image_path = tmp_path / "img.png"
    Image.fromarray(_pixels(3)).save(image_path)
    (label, score), = model.classify(image_path)
    assert label in {"0", "1", "2"} and 0.0 <= score <= 1.0
    assert model.classify(str(image_path)) == model.classify(_pixels(3))


def test_classify_without_manifest():
    model = runtime.load(fixture_path("float32"))
    with pytest.raises(BadInputError, match="needs the preprocessing recorded.*has none; pass model-ready arrays to predict"):
        model.classify(_pixels())


def test_classify_bad_image_and_labels(model_copy):
    path = model_copy("float32")
    path.with_suffix(".json").write_text(_manifest(labels=("only", "two")).dumps())
    model = runtime.load(path)
    with pytest.raises(BadInputError, match=r"uint8 array of shape \(8, 8, 3\); received float32"):
        model.classify(_pixels().astype(np.float32))
    with pytest.raises(BadInputError, match=r"received uint8 with shape \(9, 8, 3\)"):
        model.classify(np.zeros((9, 8, 3), np.uint8))
    with pytest.raises(BadInputError, match="lists 2 labels but the model outputs 3 scores"):
        model.classify(_pixels())
    with pytest.raises(BadInputError, match="`top_k` must be a positive whole number"):
        model.classify(_pixels(), top_k=0)


def test_classify_needs_an_image_model(model_copy):
    path = model_copy("two_inputs")
    path.with_suffix(".json").write_text(_manifest().dumps())
    with pytest.raises(BadInputError, match="one image input"):
        runtime.load(path).classify(_pixels())


def test_invalid_manifest_is_ignored_with_the_reason(model_copy):
    """A manifest is untrusted input: a wrong type anywhere means it is not used, and the
    model says why (the model itself still runs)."""
    path = model_copy("float32")
    data = _manifest(labels=LABELS).to_json()
    data["labels"] = [1, 2, 3]
    path.with_suffix(".json").write_text(json.dumps(data))
    model = runtime.load(path)
    assert model.manifest is None and "labels[0]: expected a string; received 1" in model.manifest_problem
    assert model.predict(np.zeros((1, 8, 8, 3), np.float32)).shape == (1, 3)
    with pytest.raises(BadInputError, match="its manifest was not used: .*labels"):
        model.classify(_pixels())

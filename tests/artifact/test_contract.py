"""The typed contract between host and device: manifests and benchmark results as frozen
dataclasses, JSON only at the edges, validated where they enter, old manifests still read."""

from __future__ import annotations

import json
import math

import pytest

from edgekit_testing import FIXTURES, make_manifest
from edgekit.artifact import (
    BenchResult, Comparison, Manifest, Preprocessing, SchemaError, Verification, dumps, embed, from_json,
    read_embedded, read_sidecar, to_json,
)
from edgekit.runtime import MANIFEST_METADATA_NAME, embed_metadata, load


def test_a_schema_1_manifest_written_by_edgekit_0_1_still_loads():
    """tests/fixtures/manifest_v1.json is the sidecar edgekit 0.1 wrote for a digits CNN's int8
    artifact (`edgekit convert d.keras --int8 --calib digits`), unedited."""
    data = json.loads((FIXTURES / "manifest_v1.json").read_text())
    assert data["schema"] == "edgekit.manifest/1" and "bytes" in data["size"]
    manifest = Manifest.from_json(data)
    assert manifest.schema == "edgekit.manifest/2"
    assert manifest.recipe.name == "int8" and manifest.recipe.io == "int8"
    assert manifest.size.size_bytes == data["size"]["bytes"] and 0 < manifest.size.ratio_vs_float32 < 1
    assert manifest.conversion_s == data["conversion_seconds"]
    assert manifest.artifact.size_bytes == data["artifact"]["bytes"]
    assert manifest.inputs[0].dtype == "int8" and manifest.inputs[0].scale == data["inputs"][0]["scale"]
    assert manifest.labels == tuple(data["labels"]) and manifest.verification.samples > 0
    assert manifest.verification.data.kind == "held-out calibration data"
    assert manifest.calibration.n == data["calibration"]["n"]
    # and the same JSON embedded in a .tflite: the runtime reads it
    content = embed_metadata((FIXTURES / "int8.tflite").read_bytes(), MANIFEST_METADATA_NAME,
                             json.dumps({k: v for k, v in data.items() if k != "artifact"}).encode())
    assert read_embedded(content).recipe.name == "int8"


def test_a_schema_1_edge_tpu_manifest_still_loads():
    """Written by edgekit 0.1's compile_edgetpu (with the test's fake compiler); the log and
    compiler path were shortened, nothing else changed."""
    data = json.loads((FIXTURES / "manifest_v1_edgetpu.json").read_text())
    manifest = Manifest.from_json(data)
    assert manifest.recipe.name == "int8-edgetpu" and manifest.verification is None
    assert manifest.size.size_bytes == data["size"]["bytes"] and manifest.size.ratio_vs_float32 is None
    assert manifest.inputs[0].index == -1  # schema 1 Edge TPU manifests did not record it
    assert manifest.edgetpu["compiler"]["version"].startswith("16.0")


def test_round_trip_is_exact_and_json_has_no_bare_infinity():
    manifest = make_manifest(verification=Verification(10, 0.0, 0.0, math.inf, 1.0, 1.0, 0.9, 0.9, 0.0))
    text = manifest.dumps()
    assert '"snr_db": "inf"' in text and "Infinity" not in text
    again = Manifest.loads(text)
    assert again == manifest and again.verification.snr_db == math.inf  # a float again, never a string


@pytest.mark.parametrize("change, words", [
    ({"recipe": "int8"}, "recipe: expected an object; received 'int8'"),
    ({"source": [1]}, "source: expected an object"),
    ({"verification": "good"}, "verification: expected an object or null"),
    ({"labels": [1, 2]}, "labels[0]: expected a string; received 1"),
    ({"preprocessing": "rgb"}, "preprocessing: expected an object or null"),
    ({"preprocessing": {"scale": "abc", "mean": [0], "std": [1]}}, "preprocessing.scale: expected a number"),
    ({"preprocessing": {"scale": 1, "mean": [0], "std": [0]}}, "std must not contain 0"),
    ({"preprocessing": {"scale": 1, "mean": ["nan"], "std": [1]}}, "mean must hold finite numbers"),
    ({"inputs": [{"name": "x", "index": "0", "shape": [1], "dtype": "int8"}]}, "inputs[0].index: expected a whole number"),
    ({"schema": "edgekit.manifest/9"}, "newer than this edgekit reads"),
    ({"schema": "something/1"}, "is not an edgekit manifest"),
])
def test_wrong_types_are_refused_with_the_field_named(change, words):
    data = make_manifest().to_json() | change
    with pytest.raises(SchemaError) as info:
        Manifest.from_json(data, "m.json")
    assert words in info.value.message and "\n" not in info.value.message
    assert "`" not in info.value.message  # no parameter of the caller's is blamed


def test_deep_nesting_is_refused_not_a_crash():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(SchemaError, match="nested too deeply"):
        Manifest.loads('{"schema": "edgekit.manifest/2", "training": ' + deep + "}")
    nested: dict = {}
    for _ in range(200):
        nested = {"x": nested}
    with pytest.raises(SchemaError, match="nested more than"):
        Manifest.from_json(make_manifest().to_json() | {"training": nested})


def test_sidecar_and_embedded_readers(tmp_path):
    path = tmp_path / "m.tflite"
    manifest = make_manifest(labels=("a", "b", "c"))
    path.write_bytes(embed((FIXTURES / "float32.tflite").read_bytes(), manifest))
    assert read_embedded(path.read_bytes()) == manifest
    assert read_sidecar(path) is None  # no sidecar
    (tmp_path / "m.json").write_text('{"unrelated": true}')
    assert read_sidecar(path) is None  # some other JSON file: not a manifest, not an error
    (tmp_path / "m.json").write_text(json.dumps(manifest.to_json() | {"labels": "abc"}))
    with pytest.raises(SchemaError, match="labels"):
        read_sidecar(path)
    model = load(path)  # the embedded one wins, the broken sidecar is not consulted
    assert model.manifest == manifest and model.manifest_problem is None


def test_comparison_and_preprocessing_are_plain_records():
    c = Comparison(4, 0.5, 0.1, 20.0, 0.99, 0.75, 0.5, 0.75)
    assert from_json(Comparison, json.loads(dumps(c)), "c") == c
    p = Preprocessing(1 / 255, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "RGB")
    assert p.channels == 3 and to_json(p)["fit"] == "stretch"
    with pytest.raises(Exception, match="`mean` has 2 values"):
        Preprocessing(1.0, (0.1, 0.2), (1.0,), "RGB")


def test_bench_result_refuses_another_schema():
    with pytest.raises(SchemaError, match="edgekit.bench/2"):
        BenchResult.from_json({"schema": "edgekit.bench/1", "models": []})

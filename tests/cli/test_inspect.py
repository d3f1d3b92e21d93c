"""`edgekit inspect` on checked-in fixtures (no TensorFlow needed) and on bad files."""

from __future__ import annotations

import json

from edgekit_testing import make_manifest, FIXTURES, assert_clean_error, run_cli


def test_inspect_int8_fixture_json():
    result = run_cli("inspect", FIXTURES / "int8.tflite", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["fully_integer"] is True
    assert info["inputs"][0]["dtype"] == "int8" and info["inputs"][0]["scales"]
    assert sum(info["op_histogram"].values()) == len(info["ops"]) > 0
    assert info["size_bytes"] == (FIXTURES / "int8.tflite").stat().st_size


def test_inspect_float_fixture_table():
    result = run_cli("inspect", FIXTURES / "float32.tflite", "--tensors")
    assert result.returncode == 0, result.stderr
    assert "fully integer" in result.stdout and "no" in result.stdout
    assert "op histogram" in result.stdout and "tensors" in result.stdout


def test_inspect_shows_embedded_manifest(tmp_path):
    from edgekit.artifact import RecipeRecord, SourceInfo, embed

    manifest = make_manifest(recipe=RecipeRecord("int8", "int8"), source=SourceInfo("x.keras", "ab" * 32))
    (tmp_path / "m.tflite").write_bytes(embed((FIXTURES / "int8.tflite").read_bytes(), manifest))
    result = run_cli("inspect", tmp_path / "m.tflite", "--json")
    data = json.loads(result.stdout)
    assert data["schema"] == "edgekit.inspect/1" and data["manifest"]["recipe"]["name"] == "int8"
    table = run_cli("inspect", tmp_path / "m.tflite")
    assert "edgekit manifest" in table.stdout and "x.keras" in table.stdout


def test_inspect_reports_an_invalid_manifest_and_goes_on(tmp_path):
    """A manifest with wrong types is untrusted input: named in one line, not used, no crash."""
    from edgekit.runtime import MANIFEST_METADATA_NAME, embed_metadata

    bad = json.dumps({"schema": "edgekit.manifest/1", "recipe": "int8"}).encode()
    (tmp_path / "m.tflite").write_bytes(embed_metadata((FIXTURES / "int8.tflite").read_bytes(),
                                                      MANIFEST_METADATA_NAME, bad))
    table = run_cli("inspect", tmp_path / "m.tflite")
    assert table.returncode == 0 and "manifest not used" in table.stdout and "Traceback" not in table.stderr
    data = json.loads(run_cli("inspect", tmp_path / "m.tflite", "--json").stdout)
    assert data["manifest"] is None and "is missing" in data["manifest_problem"]


def test_inspect_errors(tmp_path):
    assert_clean_error(run_cli("inspect", tmp_path / "none.tflite"), 3, "file not found")
    (tmp_path / "text.tflite").write_text("not a model at all")
    assert_clean_error(run_cli("inspect", tmp_path / "text.tflite"), 3, "not a TFLite model")
    (tmp_path / "magic.tflite").write_bytes(b"\x00\x00\x00\x00TFL3")
    assert_clean_error(run_cli("inspect", tmp_path / "magic.tflite"), 3, "magic.tflite")
    data = (FIXTURES / "int8.tflite").read_bytes()
    (tmp_path / "cut.tflite").write_bytes(data[: len(data) // 3])
    assert_clean_error(run_cli("inspect", tmp_path / "cut.tflite"), 3, "cut.tflite")

"""`edgekit demo` end to end: the real CLI, real digits written as a folder of PNGs, `edgekit
train`'s code, every recipe, a benchmark and reports on disk. (Whether int8 is faster than
float32 is a timing: benchmarks/demo.py measures it.)"""

from __future__ import annotations

import io
import json

import pytest

from edgekit_testing import assert_clean_error, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.convert]
RECIPES = {"float32", "dynamic", "float16", "int8", "int16x8"}
# the temporary folders a demo builds in: the sibling renamed into place, the test split's
# links, train's decode cache and export splits, convert's SavedModel
TEMP_FOLDERS = (".edgekit-demo.", "edgekit-demo-test-", "edgekit-train-", "edgekit-savedmodel-")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One `edgekit demo --json` run, shared by the tests below."""
    folder = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    return {"folder": folder, "out": folder / "edgekit-demo", "result": result}


def test_demo_runs_the_whole_path_and_writes_a_report(demo):
    result, out = demo["result"], demo["out"]
    assert "Traceback" not in result.stderr
    assert "epoch 1/15" in result.stderr and "converting: int8" in result.stderr
    assert "split: 1168 train, 179 validation, 450 test" in result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "edgekit.demo/2"
    report = json.loads((out / "report.json").read_text())
    assert report == data["report"] | {"schema": "edgekit.demo/2"}
    rows = {row["recipe"]: row for row in report["rows"]}
    assert set(rows) == RECIPES
    assert report["float_accuracy"] > 0.95
    assert abs(rows["int8"]["accuracy_delta"]) <= 0.015
    assert rows["int8"]["ratio_vs_float32"] <= 0.35
    assert all(row["p50_ms"] > 0 and row["verdict"] == "PASS" for row in rows.values())
    assert report["summary"].startswith("Ship ")
    # int16x8 runs TFLite's reference kernels: the report says why it is slower
    assert any(note.startswith("int16x8") and "reference kernels" in note for note in report["notes"])
    for name in rows:
        assert (out / f"digits_cnn_{name}.tflite").is_file()
        manifest = json.loads((out / f"digits_cnn_{name}.json").read_text())
        assert manifest["verification"]["data"]["source"] == "the test split of digits/ (seed 0)"
        assert manifest["inputs"][0]["shape"] == [1, 32, 32, 1]
    # the data folder a user would have: one subfolder of PNGs per class
    assert sorted(p.name for p in (out / "digits").iterdir()) == [str(d) for d in range(10)]
    assert len(list((out / "digits").glob("*/*.png"))) == 1797
    record = json.loads((out / "digits_cnn.train.json").read_text())
    assert record["data"]["source"] == "digits/" and record["model"]["path"] == "digits_cnn.keras"
    assert not set(record["split"]["test"]) & set(record["split"]["train"])
    markdown = (out / "report.md").read_text()
    assert "| int8 |" in markdown and report["summary"] in markdown
    assert "<svg" in (out / "report.html").read_text()
    assert not [p for p in demo["folder"].iterdir() if p.name.startswith(".edgekit-demo")]


def test_demo_names_no_temporary_folder(demo):
    """Data by its built-in name, files relative to the demo folder (it is renamed into place)."""
    out = demo["out"]
    report = json.loads((out / "report.json").read_text())
    for name in ("report.json", "bench.json", "report.md", "report.html", "digits_cnn_int8.json",
                 "digits_cnn.train.json"):
        text = (out / name).read_text()
        assert not [m for m in TEMP_FOLDERS if m in text], name
    bench = json.loads((out / "bench.json").read_text())
    assert bench["schema"] == "edgekit.bench/2" and bench["reference"]["kind"] == "keras"
    assert [m["path"] for m in bench["models"]] == [f"digits_cnn_{r['recipe']}.tflite" for r in report["rows"]]
    assert all(m["threads"] >= 1 for m in bench["models"])


def test_demo_table_fits_80_columns(demo):
    """The demo's terminal view at 80 columns: every line whole, the answer in it."""
    from rich.console import Console

    from edgekit.artifact import BenchResult
    from edgekit.demo import DemoResult
    from edgekit.report.console import render_demo

    out = demo["out"]
    report = json.loads((out / "report.json").read_text())
    bench = BenchResult.from_json(json.loads((out / "bench.json").read_text()))
    console = Console(width=80, record=True, file=io.StringIO())
    for line in render_demo(DemoResult(out, report["rows"], report, bench), 80):
        console.print(line)
    text = console.export_text()
    assert "Ship " in text and "int16x8" in text, text
    assert max(len(line) for line in text.splitlines()) <= 80, text


def test_demo_refuses_to_replace_a_folder_without_force(demo):
    assert_clean_error(run_cli("demo", cwd=demo["folder"]), 3, "already exists", "--force")

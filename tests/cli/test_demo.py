"""`edgekit demo` end to end: the real CLI, real digits, every recipe, a report on disk."""

from __future__ import annotations

import json

import pytest

from edgekit_testing import assert_clean_error, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.convert]


def test_demo_runs_the_whole_path_and_writes_a_report(tmp_path):
    result = run_cli("demo", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "epoch 15/15" in result.stderr and "converting: int8" in result.stderr
    data = json.loads(result.stdout)
    out = tmp_path / "edgekit-demo"
    report = json.loads((out / "report.json").read_text())
    assert report == data["report"] | {"files": report["files"]}
    rows = {row["recipe"]: row for row in report["rows"]}
    assert set(rows) == {"float32", "dynamic", "float16", "int8", "int16x8"}
    assert report["float_accuracy"] > 0.9
    assert abs(rows["int8"]["accuracy_delta"]) <= 0.015
    assert rows["int8"]["ratio_vs_float32"] <= 0.35
    assert all(row["p50_ms"] > 0 for row in rows.values())
    for name in rows:
        assert (out / f"digits_cnn_{name}.tflite").is_file()
        assert (out / f"digits_cnn_{name}.json").is_file()
    markdown = (out / "report.md").read_text()
    assert "| int8 | int8 |" in markdown
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".edgekit-demo")]

    again = run_cli("demo", cwd=tmp_path)
    assert_clean_error(again, 3, "already exists", "--force")

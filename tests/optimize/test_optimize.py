"""`edgekit optimize` end to end on this machine: real conversions (TensorFlow), real timing
through edgekit.runtime, on a model made for it (see optimize_models.py)."""

from __future__ import annotations

import json

import pytest

from edgekit_testing import assert_clean_error, run_cli
from optimize_checks import assert_pick_is_right, meets

pytestmark = pytest.mark.convert
FAST = ("--runs", "100", "--min-time", "0", "--warmup", "5", "--warmup-time", "0")


@pytest.fixture(scope="module")
def selective_run(wide_model, digits_npz, tmp_path_factory):
    """Every post-training recipe under an accuracy and a size budget, with the report."""
    out = tmp_path_factory.mktemp("optimized")
    result = run_cli("optimize", wide_model, "--calib", digits_npz["train"], "--eval", digits_npz["test"],
                     "--max-drop", "1", "--max-size", "260KB", "-o", out, "--report", out / "report.html",
                     "--json", *FAST)
    return {"out": out, "result": result, "data": json.loads(result.stdout) if result.returncode == 0 else None}


def test_the_pick_is_the_selective_mix_when_plain_int8_misses_the_bound(selective_run):
    result, data = selective_run["result"], selective_run["data"]
    assert result.returncode == 0, result.stderr
    pick = assert_pick_is_right(data)
    by_id = {c["id"]: c for c in data["candidates"]}
    assert pick["artifact"] == "int8-selective" and "outlier_dense" in pick["float_layers"]
    plain = by_id["int8-plain"]
    assert plain["status"] == "rejected" and plain["missed"] == ["max_drop"] and not plain["timed"]
    assert plain["reference_accuracy"] - plain["accuracy"] > 0.5            # the damage is real
    assert by_id["dynamic"]["missed"] == ["max_drop"] and not by_id["dynamic"]["timed"]
    for name in ("float32", "float16"):                                        # too big: never timed
        assert by_id[name]["missed"] == ["max_size"] and not by_id[name]["timed"]
    timed = [c for c in data["candidates"] if c["timed"]]
    assert {c["threads"] for c in timed} == set(data["target"]["threads"])  # 1..cores
    assert {c["xnnpack"] for c in timed if c["artifact"] == "int8-selective"} == {True, False}
    assert all(c["p50_ms"] > 0 and c["latency_ms"] >= c["p50_ms"] and c["memory_mib"] for c in timed)
    assert data["front"] and pick["on_front"]
    assert "accuracy drop <= 1 pt; size <= 260 kB (260,000 bytes)" in result.stderr   # budgets echoed
    assert "candidate 1 of" in result.stderr


def test_the_pick_is_written_with_its_optimize_section(selective_run):
    from edgekit.runtime import describe, load

    data, out = selective_run["data"], selective_run["out"]
    model_path = out / "wide_optimized.tflite"
    assert data["written"] == [str(model_path), str(out / "wide_optimized.json")]
    sidecar = json.loads((out / "wide_optimized.json").read_text())
    section = sidecar["optimize"]
    assert section["pick"] == data["pick"] and section["schema"] == "edgekit.optimize/1"
    pick = next(c for c in data["candidates"] if c["id"] == data["pick"])
    assert section["run_with"] == {"threads": pick["threads"], "xnnpack": pick["xnnpack"], "delegate": None}
    assert len(section["candidates"]) == len(data["candidates"]) and section["budgets"]["max_drop"] == 1
    assert sidecar["selective"]["bound_holds"] and sidecar["verification"]["accuracy"] == pick["accuracy"]
    model = load(model_path, threads=pick["threads"], xnnpack=pick["xnnpack"])
    assert model.manifest.optimize["pick"] == data["pick"]                    # embedded too
    assert "FULLY_CONNECTED" in describe(model_path.read_bytes()).float_ops
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "wide_optimized.json", "wide_optimized.tflite"]


def test_the_report_is_one_page_with_the_chart_and_the_front(selective_run):
    page = (selective_run["out"] / "report.html").read_text()
    data = selective_run["data"]
    assert page.startswith("<!doctype html>") and page.count("<svg") == 1
    assert "Pareto front" in page and "accuracy bound" in page and "Pick:" in page
    assert "<script" not in page and "<link" not in page and " src=" not in page   # self-contained
    pick = next(c for c in data["candidates"] if c["id"] == data["pick"])
    assert pick["label"] in page


def test_a_latency_budget_between_measured_thread_counts_keeps_only_the_faster(selective_run):
    """Measured first, then re-judged: a latency budget between two thread counts' measured
    p90 of the same artifact rejects the slower one for latency and keeps the faster."""
    from edgekit.artifact import from_json, to_json
    from edgekit.optimize import Candidate, choose, make_budgets

    data = selective_run["data"]
    candidates = [from_json(Candidate, c, "a candidate") for c in data["candidates"]]
    mix = sorted((c for c in candidates if c.artifact == "int8-selective" and c.xnnpack), key=lambda c: c.latency_ms)
    if len({c.threads for c in mix}) < 2:
        pytest.skip("one core: no thread counts to tell apart")
    fast, slow = mix[0], mix[-1]
    if slow.latency_ms <= fast.latency_ms:
        pytest.skip("the thread counts measured the same latency")
    budget = f"{(fast.latency_ms + slow.latency_ms) / 2 * 1000:.3f}us"
    budgets = make_budgets(max_drop=1, max_size="260KB", max_latency=budget)
    choice = choose(candidates, budgets)
    by_id = {c.id: c for c in choice.candidates}
    assert by_id[slow.id].status == "rejected" and by_id[slow.id].missed == ("max_latency",)
    assert by_id[fast.id].status in ("picked", "meets")
    assert by_id[choice.pick].latency_ms <= fast.latency_ms < slow.latency_ms
    assert_pick_is_right({"schema": "edgekit.optimize/1", "pick": choice.pick, "budgets": to_json(budgets),
                          "candidates": [to_json(c) for c in choice.candidates]})


def test_a_budget_nothing_meets_exits_5_writes_nothing_and_names_the_closest(wide_model, digits_npz, tmp_path):
    result = run_cli("optimize", wide_model, "--recipes", "float16", "--eval", digits_npz["test"], "--max-size",
                     "100KB", "--threads", "1", "-o", tmp_path, *FAST)
    assert_clean_error(result, 5, "no candidate meets every budget", "size <= 100 kB",
                       "--max-size: closest float16 at size", "(meets every other budget)", "nothing was written")
    assert list(tmp_path.iterdir()) == []
    assert "never timed" in result.stdout                    # the table still shows every candidate


def test_best_effort_writes_the_closest_and_still_fails(wide_model, digits_npz, tmp_path):
    from edgekit.errors import BoundError
    from edgekit.optimize import optimize
    from edgekit.runtime.timing import TimingConfig

    result = optimize(wide_model, recipes=["float32", "float16"], eval=str(digits_npz["test"]), max_size="100KB",
                      threads=[1], output=tmp_path, best_effort=True,
                      timing=TimingConfig(runs=10, min_time=0, warmup=1, warmup_time=0))
    assert result.pick is None and result.closest_overall == "float16"    # the smaller misses by less
    error = result.bound_error()
    assert isinstance(error, BoundError) and "the closest, float16, was written" in error.message
    manifest = json.loads((tmp_path / "wide_optimized.json").read_text())
    assert manifest["optimize"]["best_effort"] is True and manifest["recipe"]["name"] == "float16"
    data = result.to_json()
    assert not meets(next(c for c in data["candidates"] if c["id"] == "float16"), data["budgets"])


def test_a_time_budget_spent_on_converting_leaves_every_timing_untried(wide_model, digits_npz, tmp_path):
    from edgekit.optimize import optimize
    from edgekit.runtime.timing import TimingConfig

    result = optimize(wide_model, recipes=["float16"], eval=str(digits_npz["test"]), max_size="1MB", threads=[1],
                      time_budget="0.1s", output=tmp_path, timing=TimingConfig(runs=5, min_time=0, warmup=1, warmup_time=0))
    assert result.pick is None and list(tmp_path.iterdir()) == []
    assert {c.status for c in result.candidates} == {"untried"} and len(result.untried) == 2   # XNNPACK on/off
    assert result.untried[0].reasons == ("the time budget ran out before it was timed",)
    assert "2 candidate(s) were left untried when the `time_budget` ran out" in result.bound_error().message


def test_unlabelled_eval_with_max_drop_is_bad_input(wide_model, digits_npz, tmp_path):
    result = run_cli("optimize", wide_model, "--calib", digits_npz["train"], "--eval", digits_npz["unlabelled"],
                     "--max-drop", "1", "-o", tmp_path)
    assert_clean_error(result, 3, "--max-drop", "has no labels", "--min-agreement")
    assert list(tmp_path.iterdir()) == []


def test_a_device_lost_while_measuring_leaves_no_temporary_files(wide_model, digits_npz, tmp_path, monkeypatch):
    """The measurement fails after the artifacts were built (as when the device drops off
    mid-run): the error passes through, nothing is written, the temp folder is gone. The
    failure is injected in `edgekit.devices.benchmark` (a device that vanishes on cue
    cannot be arranged here; the real SSH faults are in tests/devices)."""
    import tempfile

    import edgekit.devices
    from edgekit.errors import DeviceError
    from edgekit.optimize import optimize

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    def lost(*args, **kwargs):
        raise DeviceError("rpi: lost the SSH connection while benchmarking")

    monkeypatch.setattr(edgekit.devices, "benchmark", lost)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DeviceError, match="lost the SSH connection"):
        optimize(wide_model, recipes=["float16"], eval=str(digits_npz["test"]), output=out)
    assert list(temp.iterdir()) == [] and list(out.iterdir()) == []

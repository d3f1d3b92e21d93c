"""`edgekit device setup` then `edgekit bench --device` against the stand-in Raspberry Pi
(real sshd on 127.0.0.1, aarch64 CPython under qemu-user): the device's facts, the same
accuracy as a local run, nothing left behind, and a fleet with one device down.

Latencies measured under qemu mean nothing; only the mechanics and the accuracy are checked.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from standin_pi import BOARD, WHEELS, free_port, leftovers
from edgekit_testing import FIXTURES, REPO, run_cli
from edgekit.artifact import ReferenceInfo
from edgekit.bench import ReferenceOutputs
from edgekit.bench.reference import save_reference

pytestmark = pytest.mark.slow
FAST = ("--runs", "20", "--min-time", "0", "--warmup", "2", "--warmup-time", "0", "--threads", "1")


@pytest.fixture(scope="module")
def eval_data(tmp_path_factory):
    """200 images for the fixture CNN, labelled by the float model (so accuracy means
    agreement with it), and a saved reference of the float model's outputs."""
    from edgekit.runtime import load

    folder = tmp_path_factory.mktemp("eval")
    x = np.random.default_rng(0).uniform(-1, 1, (200, 8, 8, 3)).astype(np.float32)
    x[:8] = np.load(FIXTURES / "expected.npz")["images"]
    reference = np.asarray(load(FIXTURES / "float32.tflite").predict(x), np.float32)
    np.savez(folder / "eval.npz", x=x, y=reference.argmax(1))
    save_reference(folder / "ref.npz", ReferenceOutputs(reference, ReferenceInfo(kind="tflite", path="float32.tflite")), x)
    return folder / "eval.npz", folder / "ref.npz"


def test_setup_installs_the_runtime_and_is_idempotent(lab, rpi_setup):
    first, project, seconds = rpi_setup
    done = json.loads(first.stdout)
    assert done["changed"] is True and done["backend"] == "litert"
    assert done["target"]["machine"] == "aarch64" and done["target"]["python"] == "3.11"
    assert {w["name"].split("-")[0] for w in done["wheels"]} >= {"edgekit", "numpy", "ai_edge_litert"}
    assert (lab.workdir / "installed.json").is_file() and (lab.workdir / "site" / "ai_edge_litert").is_dir()
    assert leftovers(lab.workdir) == []
    print(f"first setup: {seconds:.1f} s (wheels cached in {WHEELS})")
    # Re-runs do nothing while the wheels are the same. The edgekit wheel is built from the
    # sources, which may be edited while the tests run (then a reinstall is right): a re-run
    # may reinstall only when its wheels differ from the previous run's.
    previous, unchanged = done["wheels"], False
    for _ in range(5):
        again = run_cli("device", "setup", "rpi", "--wheels", WHEELS, "--offline", "--json", cwd=project)
        assert again.returncode == 0, again.stderr
        answer = json.loads(again.stdout)
        if not answer["changed"]:
            unchanged = True
            break
        assert answer["wheels"] != previous, "reinstalled the very same wheels"
        previous = answer["wheels"]
    assert unchanged
    assert leftovers(lab.workdir) == []


def test_check_reports_the_emulated_pi(lab, rpi_setup):
    _, project, _ = rpi_setup
    result = run_cli("device", "check", "rpi", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    facts = found["facts"]
    assert facts["machine"] == "aarch64" and facts["python"].startswith("3.11")
    assert facts["board"] == BOARD and facts["libc"] == ["glibc", "2.36"]
    assert facts["disk_free_bytes"] > 0 and facts["mem_total_bytes"] > 0
    assert found["runtime"]["installed"] is True and found["runtime"]["backend"] == "litert"
    table = run_cli("device", "check", "rpi", cwd=project)
    assert table.returncode == 0 and BOARD in table.stdout and "aarch64" in table.stdout


def test_remote_bench_matches_a_local_run(lab, rpi_setup, eval_data, tmp_path):
    _, project, _ = rpi_setup
    data, ref = eval_data
    models = [FIXTURES / "float32.tflite", FIXTURES / "int8.tflite"]
    args = ["bench", *models, "--data", data, "--reference", ref, *FAST]
    remote = run_cli(*args, "--device", "rpi", "-o", tmp_path / "remote.json",
                     "--report", tmp_path / "remote.html", cwd=project)
    assert remote.returncode == 0, remote.stderr
    local = run_cli(*args, "--json")
    assert local.returncode == 0, local.stderr
    on_pi, here = json.loads((tmp_path / "remote.json").read_text()), json.loads(local.stdout)
    assert on_pi["schema"] == here["schema"] == "edgekit.bench/2"
    assert on_pi["system"]["machine"] == "aarch64" and on_pi["system"]["board"] == BOARD
    assert on_pi["device"]["name"] == "rpi" and on_pi["device"]["runtime"]["backend"] == "litert"
    assert on_pi["data"] == here["data"] and on_pi["reference"]["accuracy"] == here["reference"]["accuracy"]
    for a, b in zip(on_pi["models"], here["models"]):
        assert a["name"] == b["name"] and a["path"] == b["path"] and a["backend"] == "litert"
        for key in ("accuracy", "top1_agreement"):
            assert a["comparison"][key] == b["comparison"][key], (a["name"], key)
        assert a["verdict"] == b["verdict"]
        assert abs(a["comparison"]["max_abs_error"] - b["comparison"]["max_abs_error"]) < 1e-5
        assert a["timing"]["latency"]["runs"] >= 20 and len(a["timing"]["samples_ns"]) == a["timing"]["latency"]["runs"]
    assert on_pi["models"][1]["comparison"]["top1_agreement"] < 1.0  # int8 differs from float: the check is not vacuous
    assert "aarch64" in remote.stdout and BOARD in remote.stdout  # the table's title
    page = (tmp_path / "remote.html").read_text()
    assert BOARD in page and "aarch64" in page
    assert any("vcgencmd" in w for w in on_pi["warnings"])  # the profile's throttling check
    assert leftovers(lab.workdir) == []
    print(f"remote bench: {on_pi['device']['total_s']} s in all, upload {on_pi['device']['upload_s']} s")
    reference = tmp_path / "reference.json"  # the emulator's numbers can never become references
    reference.write_text((REPO / "devices" / "raspberrypi" / "reference.json").read_text())
    refused = subprocess.run([sys.executable, "-m", "edgekit.devices.reference", "add", str(reference),
                              str(tmp_path / "remote.json")], capture_output=True, text=True, cwd=REPO)
    assert refused.returncode == 3 and "no vcgencmd" in refused.stderr


def test_a_fleet_with_one_device_down(lab, rpi_setup, eval_data, tmp_path):
    data, ref = eval_data
    project = lab.inventory(tmp_path / "fleet", {"rpi": {}, "rpi2": {"port": free_port()}},
                            groups={"lab": ["rpi", "rpi2"]})
    result = run_cli("bench", FIXTURES / "int8.tflite", "--data", data, "--reference", ref, *FAST,
                     "--device", "lab", "-o", tmp_path / "fleet.json", "--report", tmp_path / "fleet.html",
                     cwd=project)
    assert result.returncode == 4, result.stderr
    fleet = json.loads((tmp_path / "fleet.json").read_text())
    assert fleet["schema"] == "edgekit.fleet/2" and fleet["failed"] == ["rpi2"]
    ok, down = fleet["devices"]
    assert ok["ok"] and ok["result"]["system"]["machine"] == "aarch64" and ok["result"]["models"][0]["comparison"]["accuracy"] is not None
    assert not down["ok"] and "connection refused" in down["error"]["message"] and down["error"]["exit_code"] == 4
    assert "rpi2" in result.stderr and "1 of 2 devices" in result.stderr
    assert "rpi" in result.stdout and "int8.tflite" in result.stdout
    page = (tmp_path / "fleet.html").read_text()
    assert "rpi2" in page and "connection refused" in page and BOARD in page
    assert leftovers(lab.workdir) == []

"""devices/coral/: the profile parses and names real files; the setup script is valid bash."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from pathlib import Path

import pytest

from edgekit.edgetpu import RECIPE
from edgekit.edgetpu.compiler import output_paths
from edgekit.runtime import DELEGATES

CORAL = Path(__file__).resolve().parents[2] / "devices" / "coral"


@pytest.fixture(scope="module")
def profile() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    return tomllib.loads((CORAL / "profile.toml").read_text(encoding="utf-8"))


def test_profile_parses_and_names_real_files(profile):
    assert profile["name"] == "coral"
    for key in ("setup", "readme"):
        assert (CORAL / profile["files"][key]).is_file(), profile["files"][key]


def test_profile_matches_what_edgekit_writes_and_loads(profile):
    tpu = profile["edgetpu"]
    assert tpu["delegate"] in DELEGATES
    assert tpu["device"].split(":")[0] in ("usb", "pci")
    assert tpu["recipe"] == RECIPE and tpu["fallback"] == "none"
    (compiled,) = output_paths(Path("model_int8.tflite"), None, 1)
    assert fnmatch.fnmatch(compiled.name, tpu["artifact"])
    assert not fnmatch.fnmatch("model_int8.tflite", tpu["artifact"])  # never the CPU model
    assert isinstance(profile["threads"], int) and profile["threads"] >= 1
    assert profile["backend"] in ("auto", "litert", "tflite-runtime", "tf")
    assert "first invoke" in tpu["first_invoke"] or "loads the model" in tpu["first_invoke"]
    assert tpu["packages"] == ["libedgetpu1-std"] and tpu["packages_max"] == ["libedgetpu1-max"]


def test_readme_says_nothing_was_verified_on_hardware():
    text = (CORAL / "README.md").read_text(encoding="utf-8")
    assert "has been run on real Coral" in text and "**Nothing in this folder" in text


def test_setup_script_syntax():
    result = subprocess.run(["bash", "-n", str(CORAL / "setup.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_setup_script_shellcheck():
    result = subprocess.run(["shellcheck", str(CORAL / "setup.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_setup_dry_run_prints_coral_repository_and_packages():
    result = subprocess.run(["bash", str(CORAL / "setup.sh"), "--dry-run", "--max", "--pcie"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "https://packages.cloud.google.com/apt coral-edgetpu-stable main" in out
    assert "apt-get install -y libedgetpu1-max" in out and "gasket-dkms" in out
    assert "usermod -aG plugdev" in out and 'SUBSYSTEM=="apex"' in out


def test_setup_rejects_unknown_options():
    result = subprocess.run(["bash", str(CORAL / "setup.sh"), "--dry-run", "--turbo"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "unknown option '--turbo'" in result.stderr

"""The device inventory, the ssh command line edgekit builds, the wheel platform of a device,
the edgekit wheel, profiles, and the device-side upload script run locally. Fast: no SSH."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from edgekit_testing import REPO, assert_clean_error, run_cli
from edgekit.devices import load_inventory, load_profile, parse_ssh_url, resolve_devices, trust_inventory
from edgekit.devices.inventory import Device
from edgekit.devices.remote import script_text
from edgekit.devices.ssh import Connection, wrapped
from edgekit.devices.wheels import Target, edgekit_wheel, target_for
from edgekit.errors import BadInputError, DeviceError, UsageError

INVENTORY = """
[ssh]
config = "my_ssh_config"

[devices.rpi1]
host = "pi@10.0.0.21"
port = 2222
profile = "raspberrypi"

[devices.rpi2]
host = "lab-pi"
python = "/opt/venv/bin/python"
workdir = "/data/edgekit"
connect_timeout = 3

[groups]
lab = ["rpi1", "rpi2"]
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "edgekit.toml").write_text(INVENTORY)
    (folder / "my_ssh_config").write_text("Host lab-pi\n  HostName 127.0.0.1\n")
    trust_inventory(folder / "edgekit.toml")  # the user has read both files
    return folder


def test_a_working_folder_ssh_config_needs_an_explicit_trust(project):
    """An edgekit.toml in a cloned repository must not run that repository's commands: its
    [ssh] config (ProxyCommand, Match exec) is used only after `edgekit devices trust`, and a
    change to either file needs a new trust."""
    (project / "edgekit.toml").write_text(INVENTORY + "\n")  # changed since it was trusted
    with pytest.raises(UsageError, match="can run commands.*edgekit devices trust"):
        load_inventory(project)
    record = trust_inventory(project / "edgekit.toml")
    assert record["ssh_config"] == str(project / "my_ssh_config")
    assert load_inventory(project).devices["rpi1"].ssh_config == str(project / "my_ssh_config")
    (project / "my_ssh_config").write_text("Host *\n  ProxyCommand sh -c 'touch /tmp/pwned'\n")
    with pytest.raises(UsageError, match="edgekit devices trust"):
        load_inventory(project)


def test_device_check_never_runs_an_untrusted_proxy_command(project, tmp_path):
    marker = tmp_path / "ran"
    (project / "my_ssh_config").write_text(f"Host *\n  ProxyCommand sh -c 'touch {marker}'\n")
    result = run_cli("device", "check", "rpi1", cwd=project)
    assert_clean_error(result, 2, "edgekit devices trust")
    assert not marker.exists()


def test_inventory_devices_groups_and_ssh_config(project):
    inventory = load_inventory(project)
    rpi1, rpi2 = inventory.devices["rpi1"], inventory.devices["rpi2"]
    assert (rpi1.host, rpi1.port, rpi1.profile, rpi1.python) == ("pi@10.0.0.21", 2222, "raspberrypi", "python3")
    assert (rpi2.port, rpi2.python, rpi2.workdir, rpi2.connect_timeout) == (None, "/opt/venv/bin/python", "/data/edgekit", 3)
    assert rpi1.ssh_config == str(project / "my_ssh_config") and rpi1.source == str(project / "edgekit.toml")
    assert [d.name for d in resolve_devices("lab", inventory)] == ["rpi1", "rpi2"]
    assert [d.name for d in resolve_devices("rpi2, lab", inventory)] == ["rpi2", "rpi1"]  # no repeats


def test_the_working_folder_wins_over_the_user_file(project, tmp_path):
    user = tmp_path / "config" / "edgekit"
    user.mkdir(parents=True, exist_ok=True)
    (user / "devices.toml").write_text('[devices.rpi1]\nhost = "old@host"\n[devices.bench-pc]\nhost = "me@pc"\n')
    inventory = load_inventory(project)
    assert inventory.devices["rpi1"].host == "pi@10.0.0.21" and inventory.devices["bench-pc"].host == "me@pc"
    assert len(inventory.files) == 2


def test_ad_hoc_ssh_urls():
    device = parse_ssh_url("ssh://pi@192.168.1.7:2200")
    assert (device.host, device.port, device.name) == ("pi@192.168.1.7", 2200, "ssh://pi@192.168.1.7:2200")
    assert parse_ssh_url("ssh://raspberrypi.local").host == "raspberrypi.local"
    for bad in ("ssh://pi@host:notaport", "http://pi@host", "ssh://pi@host/path", "ssh://pi:secret@host"):
        with pytest.raises(UsageError, match="ssh://"):
            parse_ssh_url(bad)


@pytest.mark.parametrize("text,words", [
    ('[devices.a]\nhost = "x"\nhots = 1\n', "unknown keys hots; allowed: host, port"),
    ('[devices.a]\nport = 22\n', "needs host ="),
    ('[devices.a]\nhost = "-oProxyCommand=evil"\n', "not an SSH destination"),
    ('[devices.a]\nhost = "pi@x; rm -rf ~"\n', "not an SSH destination"),
    ('[devices.a]\nhost = "x"\nport = 70000\n', "port must be 1-65535"),
    ('[devices.a]\nhost = "x"\n[groups]\nlab = ["a", "b"]\n', "not in the inventory: b"),
    ('[devices.a]\nhost = "x"\n[groups]\na = ["a"]\n', "both a device and a group"),
    ('[device.a]\nhost = "x"\n', "unknown tables device"),
    ('[devices.a\n', "not valid TOML"),
])
def test_inventory_mistakes_are_named(tmp_path, monkeypatch, text, words):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    (tmp_path / "edgekit.toml").write_text(text)
    with pytest.raises(BadInputError, match=words.replace("(", r"\(")):
        load_inventory(tmp_path)


def test_unknown_device_lists_what_is_known(project):
    with pytest.raises(UsageError) as info:
        resolve_devices("rpi3", load_inventory(project))
    assert "rpi1, rpi2, lab" in info.value.message and "ssh://user@host:port" in info.value.message


def test_ssh_command_line_is_key_only_and_checks_host_keys():
    device = Device(name="rpi", host="pi@10.0.0.2", port=2222, connect_timeout=3.5, ssh_config="/x/cfg")
    argv = Connection(device).ssh_argv("true")
    options = [argv[i + 1] for i, a in enumerate(argv) if a == "-o"]
    assert {"BatchMode=yes", "StrictHostKeyChecking=yes", "ConnectTimeout=4"} <= set(options)
    assert any(o.startswith("ServerAliveInterval=") for o in options)
    assert argv[argv.index("-F") + 1] == "/x/cfg" and argv[argv.index("-p") + 1] == "2222"
    assert argv[-3:] == ["--", "pi@10.0.0.2", "true"]  # a host can never be read as an option
    accept = Connection(device, accept_new_host_key=True).ssh_argv("true")
    assert "StrictHostKeyChecking=accept-new" in accept
    plain = Connection(Device(name="alias", host="lab-pi")).ssh_argv("true")
    assert "-p" not in plain and "-F" not in plain  # ~/.ssh/config decides port and the rest


def test_remote_command_quoting_survives_the_remote_shell():
    command = wrapped(["python3", "-c", "print('a b'); x = \"$HOME\"", "/tmp/it's here"], cleanup="/tmp/run 1")
    parts = shlex.split(command)
    assert parts[:2] == ["sh", "-c"] and parts[4:] == ["/tmp/run 1", "0", "python3", "-c", "print('a b'); x = \"$HOME\"", "/tmp/it's here"]


def test_wheel_platform_of_a_raspberry_pi():
    target = target_for({"machine": "aarch64", "pointer_bits": 64, "libc": ["glibc", "2.36"], "python": "3.11.2"}, "rpi")
    tags = target.platform_tags()
    assert target == Target((3, 11), "aarch64", (2, 36))
    assert tags[0] == "manylinux_2_36_aarch64" and "manylinux_2_27_aarch64" in tags and "manylinux_2_17_aarch64" in tags
    assert tags[-1] == "manylinux2014_aarch64" and len(tags) == 21


@pytest.mark.parametrize("info,words", [
    ({"machine": "armv7l", "pointer_bits": 32, "libc": ["glibc", "2.36"], "python": "3.11.2"}, "32-bit ARM"),
    ({"machine": "aarch64", "pointer_bits": 32, "libc": ["glibc", "2.36"], "python": "3.11.2"}, "tflite-runtime"),
    ({"machine": "aarch64", "pointer_bits": 64, "libc": [None, None], "python": "3.11.2"}, "need glibc"),
    ({"machine": "riscv64", "pointer_bits": 64, "libc": ["glibc", "2.36"], "python": "3.11.2"}, "riscv64"),
])
def test_devices_without_runtime_wheels_are_refused_with_the_way_out(info, words):
    with pytest.raises(DeviceError, match=words):
        target_for(info, "pi")


def test_edgekit_wheel_is_deterministic_and_importable(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    first, second = edgekit_wheel(a), edgekit_wheel(b)
    assert first.name == second.name and first.read_bytes() == second.read_bytes()
    names = zipfile.ZipFile(first).namelist()
    assert "edgekit/bench/remote.py" in names and "edgekit/devices/profiles/raspberrypi.toml" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    site = tmp_path / "site"
    zipfile.ZipFile(first).extractall(site)
    code = "import edgekit.bench.remote, edgekit.runtime, sys; print(edgekit.runtime.__file__); print('tensorflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
                          cwd=tmp_path, capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert done.returncode == 0, done.stderr
    path, tensorflow = done.stdout.split()
    assert path.startswith(str(site)) and tensorflow == "False"


def test_raspberrypi_profile_and_its_repo_copy():
    profile = load_profile("raspberrypi")
    assert (profile.threads, profile.backend, profile.machine) == (4, "litert", "aarch64")
    assert profile.check_governor and profile.check_throttling
    repo_copy = REPO / "devices" / "raspberrypi" / "profile.toml"
    package = REPO / "edgekit" / "devices" / "profiles" / "raspberrypi.toml"
    assert repo_copy.resolve() == package.resolve()  # one file: the repo folder links to it
    with pytest.raises(UsageError, match="available profiles: raspberrypi"):
        load_profile("arduino")


def _receive(dest: Path, stream: bytes) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-c", script_text("receive"), str(dest)], input=stream, capture_output=True)
    return done.returncode, json.loads(done.stdout.decode().splitlines()[-1])


def _frame(name: str, data: bytes) -> bytes:
    return json.dumps({"name": name, "size": len(data)}).encode() + b"\n" + data


def test_upload_script_hashes_what_it_wrote(tmp_path):
    payload = os.urandom(3_000_000)
    code, answer = _receive(tmp_path / "in", _frame("m0/a.tflite", payload) + _frame("b.npz", b"xy") + b'{"end": true}\n')
    assert code == 0 and answer["ok"]["files"]["m0/a.tflite"] == hashlib.sha256(payload).hexdigest()
    assert (tmp_path / "in" / "m0" / "a.tflite").read_bytes() == payload


@pytest.mark.parametrize("stream,kind", [
    (_frame("../escape", b"x") + b'{"end": true}\n', "protocol"),
    (_frame("/etc/x", b"x") + b'{"end": true}\n', "protocol"),
    (_frame("a", b"0123456789")[:-4], "truncated"),  # the connection dropped mid-file
    (_frame("a", b"01"), "truncated"),  # no end marker
])
def test_upload_script_refuses_and_removes_everything(tmp_path, stream, kind):
    code, answer = _receive(tmp_path / "in", stream)
    assert code == 1 and answer["error"]["kind"] == kind
    assert not (tmp_path / "in").exists() and not (tmp_path / "escape").exists()


def test_devices_list_and_usage_errors(project):
    listed = run_cli("devices", "list", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert [d["name"] for d in data["devices"]] == ["rpi1", "rpi2"] and data["groups"] == {"lab": ["rpi1", "rpi2"]}
    table = run_cli("devices", "list", cwd=project)
    assert "pi@10.0.0.21" in table.stdout and "group lab: rpi1, rpi2" in table.stdout
    model = REPO / "tests" / "fixtures" / "int8.tflite"
    assert_clean_error(run_cli("bench", model, "--device", "nosuch", cwd=project), 2, "unknown device 'nosuch'", "rpi1")
    assert_clean_error(run_cli("bench", model, "--accept-new-host-key", cwd=project), 2, "--device")
    assert_clean_error(run_cli("device", "check", "lab", cwd=project), 2, "names 2 devices")


def _clean_pi_result(model: Path) -> dict:
    """The shape of a bench result from a well-set-up board (test input, not a measurement)."""
    return {
        "schema": "edgekit.bench/1", "created": "2026-01-01T00:00:00+00:00", "edgekit_version": "0.1.0",
        "interrupted": False, "data": {"source": "eval.npz", "n": 8},
        "system": {"board": "Raspberry Pi 5 Model B Rev 1.0", "governors": ["performance"], "throttled": "0x0",
                   "machine": "aarch64", "os": "Debian GNU/Linux 12 (bookworm)", "release": "6.6", "python": "3.11.2"},
        "device": {"runtime": {"versions": {"edgekit": "0.1.0"}}},
        "models": [{"name": model.name, "path": str(model), "size_bytes": model.stat().st_size, "backend": "litert",
                    "threads": 4, "recipe": "int8", "latency": {"runs": 500, "cv": 0.02}, "p50_ms": 1.0,
                    "p90_ms": 1.1, "p99_ms": 1.3, "accuracy": 0.9}],
    }


def test_reference_results_take_only_clean_board_runs(tmp_path):
    reference = tmp_path / "reference.json"
    reference.write_text((REPO / "devices" / "raspberrypi" / "reference.json").read_text())
    assert json.loads(reference.read_text())["results"] == []  # nothing invented in the repo
    model = REPO / "tests" / "fixtures" / "int8.tflite"
    result = _clean_pi_result(model)
    (tmp_path / "good.json").write_text(json.dumps(result))
    add = [sys.executable, "-m", "edgekit.devices.reference", "add", str(reference)]
    done = subprocess.run([*add, str(tmp_path / "good.json"), "--notes", "fan"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    entry = json.loads(reference.read_text())["results"][0]
    assert entry["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest() and entry["notes"] == "fan"
    assert entry["p50_ms"] == 1.0 and entry["board"].startswith("Raspberry Pi 5")
    result["system"].update(governors=["ondemand"], throttled=None, board="QEMU virt")
    (tmp_path / "bad.json").write_text(json.dumps(result))
    refused = subprocess.run([*add, str(tmp_path / "bad.json")], capture_output=True, text=True, cwd=REPO)
    assert refused.returncode == 3
    for words in ("not a Raspberry Pi", "ondemand", "not checked (no vcgencmd)"):
        assert words in refused.stderr
    assert len(json.loads(reference.read_text())["results"]) == 1

"""Faults of `edgekit bench --device` / `edgekit device check` against the stand-in Pi over
real SSH: each is one clear line, exit code 4 (3 for a model that crashes the interpreter,
130 for Ctrl-C), and nothing is left in the device's work folder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from standin_pi import SshServer, free_port, leftovers, wait_clean
from edgekit_testing import FIXTURES, REPO, assert_clean_error, default_sigint, run_cli

pytestmark = pytest.mark.slow
FAST = ("--runs", "10", "--min-time", "0", "--warmup", "1", "--warmup-time", "0", "--threads", "1")
MODEL = FIXTURES / "int8.tflite"


def trusted(lab, path, *ports):
    """A known_hosts file trusting the stand-in's host key on these ports."""
    key = lab.host_key.with_suffix(".pub").read_text()
    path.write_text("".join(f"[127.0.0.1]:{port} {key}" for port in ports))
    return str(path)


def bench(project, device, *extra, timeout=300):
    return run_cli("bench", MODEL, *FAST, "--device", device, *extra, cwd=project, timeout=timeout)


def test_unreachable_host_refuses_quickly(lab, tmp_path):
    project = lab.inventory(tmp_path, {"gone": {"port": free_port()}})
    started = time.monotonic()
    result = bench(project, "gone")
    assert_clean_error(result, 4, "gone", "connection refused", "SSH server running")
    assert time.monotonic() - started < 20


@pytest.fixture
def silent_port():
    """A port that accepts TCP connections and never says a word (a hung device)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_silent_host_times_out_within_connect_timeout(lab, tmp_path, silent_port):
    project = lab.inventory(tmp_path, {"hung": {"port": silent_port, "connect_timeout": 2}})
    started = time.monotonic()
    result = run_cli("device", "check", "hung", cwd=project)
    elapsed = time.monotonic() - started
    assert_clean_error(result, 4, "hung", "no SSH answer within 2 s")
    assert elapsed < 12, elapsed  # 2 s of ssh + the CLI's own start


def test_wrong_key_is_refused(lab, tmp_path):
    project = lab.inventory(tmp_path, {"rpi": {"key": str(lab.wrong_key)}})
    result = bench(project, "rpi")
    assert_clean_error(result, 4, "refused every key", "passwords are never tried", "ssh-copy-id")
    assert leftovers(lab.workdir) == []


def test_unknown_host_key_needs_accept_new_host_key(lab, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    project = lab.inventory(tmp_path / "p", {"rpi": {"known_hosts": str(known)}})
    refused = run_cli("device", "check", "rpi", cwd=project)
    assert_clean_error(refused, 4, "not in known_hosts", "--accept-new-host-key")
    assert known.read_text() == ""
    accepted = run_cli("device", "check", "rpi", "--accept-new-host-key", "--json", cwd=project)
    assert accepted.returncode == 0, accepted.stderr
    assert f"[127.0.0.1]:{lab.server.port} ssh-ed25519" in known.read_text()
    again = run_cli("device", "check", "rpi", "--json", cwd=project)  # now known: no flag needed
    assert again.returncode == 0, again.stderr


def test_changed_host_key_is_always_refused(lab, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{lab.server.port} {lab.wrong_key.with_suffix('.pub').read_text()}")
    before = known.read_text()
    project = lab.inventory(tmp_path / "p", {"rpi": {"known_hosts": str(known)}})
    for extra in ((), ("--accept-new-host-key",)):
        result = bench(project, "rpi", *extra)
        assert_clean_error(result, 4, "host key has CHANGED", "refused", "ssh-keygen -R")
    assert known.read_text() == before
    assert leftovers(lab.workdir) == []


def test_no_python_on_the_device(lab, tmp_path):
    project = lab.inventory(tmp_path, {"rpi": {"python": "/usr/bin/no-such-python3"}})
    result = bench(project, "rpi")
    assert_clean_error(result, 4, "no Python at '/usr/bin/no-such-python3'", "python =")


def test_runtime_not_installed_suggests_setup(lab, tmp_path):
    workdir = tmp_path / "empty-home" / "edgekit"
    project = lab.inventory(tmp_path / "p", {"newpi": {"workdir": str(workdir)}})
    result = bench(project, "newpi")
    assert_clean_error(result, 4, "runtime is not installed", "edgekit device setup newpi")
    assert not workdir.exists()


def crashing_python(lab, tmp_path):
    """A device "python" whose benchmark process dereferences NULL when it loads a model: a
    real SIGSEGV of the real aarch64 Python on the device. (No .tflite that crashes
    ai-edge-litert 2.3 when loaded from bytes is known; the host's handling is under test.)"""
    wrapper = tmp_path / "python3-crashing"
    patch = ("import sys; sys.path.insert(0, sys.argv[1]); import ctypes, edgekit.runtime.model as m; "
             "m.Model.from_bytes = classmethod(lambda *a, **k: ctypes.string_at(0)); ")
    wrapper.write_text(
        "#!/bin/sh\n"
        'case "$2" in *edgekit.bench.remote*)\n'
        f'  boot=$2; shift 2; exec {lab.python} -c "{patch}$boot" "$@";;\n'
        "esac\n"
        f'exec {lab.python} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def test_interpreter_crash_is_a_model_crash(lab, rpi_setup, tmp_path):
    project = lab.inventory(tmp_path / "p", {"rpi": {"python": str(crashing_python(lab, tmp_path))}})
    result = bench(project, "rpi")
    assert_clean_error(result, 3, "interpreter crashed on the device (SIGSEGV)", "loading int8.tflite",
                       "the connection is fine")
    assert leftovers(lab.workdir) == []


def test_ctrl_c_keeps_partial_results_and_cleans_the_device(lab, rpi_setup, tmp_path):
    _, project, _ = rpi_setup
    process = subprocess.Popen(
        [sys.executable, "-m", "edgekit", "bench", str(MODEL), "--device", "rpi", "--runs", "5",
         "--min-time", "60", "--warmup-time", "0", "--threads", "1", "-o", str(tmp_path / "partial.json")],
        cwd=project, env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )
    lines, reader = wait_for_line(process, "runs")  # timed runs under way on the device (a progress line)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=120)
    reader.join(timeout=10)
    err = "".join(lines)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    data = json.loads((tmp_path / "partial.json").read_text())
    assert data["interrupted"] is True and data["models"][0]["timing"]["interrupted"] is True
    assert data["system"]["machine"] == "aarch64" and data["models"][0]["timing"]["latency"]["runs"] > 5
    assert wait_clean(lab.workdir) == []


def wait_for_line(process, text, seconds=120):
    """Read the CLI's stderr until a line contains `text`; a thread keeps collecting the rest.
    Returns (lines, thread): join the thread after the process ends to have all of it."""
    deadline = time.monotonic() + seconds
    lines = []
    for line in process.stderr:
        lines.append(line)
        if text in line:
            thread = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
            thread.start()
            return lines, thread
        assert time.monotonic() < deadline, "".join(lines)
    raise AssertionError("the run ended before: " + text + "\n" + "".join(lines))


def test_sshd_killed_mid_run(lab, rpi_setup, tmp_path):
    server = SshServer(tmp_path, lab.host_key, lab.server.authorized_keys).start()
    try:
        known = trusted(lab, tmp_path / "known_hosts", server.port)
        project = lab.inventory(tmp_path / "p", {"rpi": {"port": server.port, "known_hosts": known}})
        process = subprocess.Popen(
            [sys.executable, "-m", "edgekit", "bench", str(MODEL), "--device", "rpi", "--runs", "5",
             "--min-time", "60", "--threads", "1"],
            cwd=project, env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        lines, killed = [], None
        for line in process.stderr:
            lines.append(line)
            if "latency: int8.tflite" in line and killed is None:
                assert leftovers(lab.workdir)  # the run folder exists while it runs
                server.kill()
                killed = time.monotonic()
        process.wait(timeout=60)
    finally:
        server.kill()
    assert killed is not None, "".join(lines)
    assert time.monotonic() - killed < 30  # the loss is noticed, not waited out
    result = subprocess.CompletedProcess(process.args, process.returncode, process.stdout.read(), "".join(lines))
    assert_clean_error(result, 4, "rpi", "SSH connection failed or was lost", "benchmarking (latency: int8.tflite)")
    assert wait_clean(lab.workdir) == []  # the device side removed its run folder by itself
    assert not [p for p in os.listdir("/proc") if p.isdigit() and "edgekit.bench.remote" in _cmdline(p)]


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


@pytest.fixture
def full_disk_server(lab, tmp_path):
    """An sshd in its own mount namespace where the device's WORKDIR/runs is a 64 KiB tmpfs:
    the runtime is installed, but there is no room for an upload. The mount exists only in
    that namespace and disappears with it."""
    runs = lab.workdir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    server = SshServer(tmp_path, lab.host_key, lab.server.authorized_keys,
                       setup=f"mount -t tmpfs -o size=64k,mode=0755 edgekit-test-full {runs}")
    try:
        server.start()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"cannot mount a small tmpfs in a mount namespace here (needs root / CAP_SYS_ADMIN): {exc}")
    yield server
    server.kill()


def test_remote_disk_full(lab, rpi_setup, tmp_path, full_disk_server):
    server = full_disk_server
    known = trusted(lab, tmp_path / "known_hosts", server.port)
    project = lab.inventory(tmp_path / "p", {"rpi": {"port": server.port, "known_hosts": known}})
    x = np.random.default_rng(1).uniform(-1, 1, (100, 8, 8, 3)).astype(np.float32)  # 77 KB > 64 KiB
    np.savez(tmp_path / "eval.npz", x=x)
    result = bench(project, "rpi", "--data", tmp_path / "eval.npz")
    assert_clean_error(result, 4, "ran out of disk space", "No space left on device", "nothing was left behind")
    inside = f"/proc/{server.proc.pid}/root{lab.workdir}/runs"  # the namespace's view: the tmpfs
    assert os.listdir(inside) == []
    with open(f"/proc/{server.proc.pid}/mounts") as mounts:
        assert "edgekit-test-full" in mounts.read()  # really the tiny tmpfs that was full


def test_runtime_of_another_edgekit_version_is_refused(lab, rpi_setup, tmp_path):
    workdir = tmp_path / "old-home" / "edgekit"
    workdir.mkdir(parents=True)
    (workdir / "site").symlink_to(lab.workdir / "site")
    record = json.loads((lab.workdir / "installed.json").read_text())
    record["versions"]["edgekit"] = "0.0.1"
    (workdir / "installed.json").write_text(json.dumps(record))
    project = lab.inventory(tmp_path / "p", {"oldpi": {"workdir": str(workdir)}})
    result = bench(project, "oldpi")
    assert_clean_error(result, 4, "the device has edgekit 0.0.1", "edgekit device setup oldpi")
    assert sorted(p.name for p in workdir.iterdir()) == ["installed.json", "site"]

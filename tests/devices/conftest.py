"""Fixtures for the remote-benchmark tests: the stand-in Raspberry Pi (see standin_pi.py)."""

from __future__ import annotations

import getpass
import time
from pathlib import Path

import pytest

from edgekit_testing import run_cli
from standin_pi import CACHE, WHEELS, Lab, SshServer, build_rpi_root, keygen, need


@pytest.fixture(scope="session", autouse=True)
def own_user_config(tmp_path_factory):
    """A user config folder of the tests' own (the trust records of the stand-in lab's
    inventories go there, never into the real ~/.config)."""
    import os

    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("user-config"))
    yield
    if old is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = old


@pytest.fixture(scope="session")
def rpi_python(tmp_path_factory) -> Path:
    """A `python3` for the stand-in device: aarch64 CPython 3.11 under qemu-user."""
    tools = need("qemu-aarch64-static", "apt-get", "dpkg-deb")
    root = build_rpi_root(CACHE)
    wrapper = tmp_path_factory.mktemp("rpi-bin") / "python3"
    wrapper.write_text(
        "#!/bin/sh\n# The stand-in Raspberry Pi's Python: aarch64 CPython under qemu-user.\n"
        f"QEMU_CPU=cortex-a72 exec {tools['qemu-aarch64-static']} -L {root} {root}/usr/bin/python3.11 \"$@\"\n"
    )
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture(scope="session")
def lab(tmp_path_factory, rpi_python) -> Lab:
    need("sshd", "ssh", "ssh-keygen")
    folder = tmp_path_factory.mktemp("ssh-lab")
    host_key, client_key, wrong_key = (keygen(folder / n) for n in ("host_key", "client_key", "wrong_key"))
    authorized = folder / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    server = SshServer(folder, host_key, authorized).start()
    known_hosts = folder / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{server.port} {host_key.with_suffix('.pub').read_text()}")
    lab = Lab(folder, server, client_key, wrong_key, known_hosts, host_key, rpi_python,
              folder / "device-home" / "edgekit", getpass.getuser())
    yield lab
    server.kill()


@pytest.fixture(scope="session")
def rpi_setup(lab):
    """`edgekit device setup rpi` once for the session: (its CLI result, the project folder)."""
    project = lab.inventory(lab.folder / "project", {"rpi": {}})
    started = time.perf_counter()
    result = run_cli("device", "setup", "rpi", "--wheels", WHEELS, "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    return result, project, time.perf_counter() - started

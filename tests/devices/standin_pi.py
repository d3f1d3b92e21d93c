"""A stand-in Raspberry Pi reached over real SSH, for the remote-benchmark tests.

- A user-level OpenSSH server (`sshd -D`) on 127.0.0.1:FREE_PORT with a config, host key,
  client keys and authorized_keys in a temp folder. The real ~/.ssh is never read or
  written: every client setting (identity, known_hosts, port) is in an ssh config file that
  the inventory passes to ssh with -F.
- The "device"'s Python is a real aarch64 CPython 3.11 from Debian arm64 packages, run by
  qemu-user (`qemu-aarch64-static -L ROOT`, QEMU_CPU=cortex-a72). ROOT also holds a fake ARM
  /proc/cpuinfo (ai-edge-litert crashes under qemu without one) and a Raspberry Pi board
  model in /proc/device-tree/model: qemu's -L prefix makes the emulated Python read those.
- Downloads (arm64 .debs with a private apt state, aarch64 wheels) are cached in
  ~/.cache/edgekit-tests (or $EDGEKIT_TEST_CACHE), so reruns need no network.

Needs `openssh-server` and `qemu-user-static` (.ci/run installs them). Locally, a missing tool
skips these tests; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("EDGEKIT_TEST_CACHE") or Path.home() / ".cache" / "edgekit-tests")
WHEELS = CACHE / "wheels"
ARM64_PACKAGES = (
    "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "libc6", "libgcc-s1",
    "libstdc++6", "zlib1g", "libexpat1", "libffi8", "libbz2-1.0", "liblzma5", "libssl3", "libcrypt1",
    "libuuid1", "libtinfo6", "libncursesw6", "libreadline8", "libsqlite3-0", "media-types",
)
BOARD = "Raspberry Pi 4 Model B Rev 1.4"
CPU_BLOCK = """processor\t: {i}
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3
"""
CPU_TAIL = f"Hardware\t: BCM2835\nRevision\t: c03114\nModel\t\t: {BOARD}\n"


def need(*tools: str) -> dict:
    """Paths of the tools, or skip (fail in CI) naming the Debian packages to install."""
    found = {tool: shutil.which(tool) or (f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None) for tool in tools}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        message = f"needs {', '.join(missing)} (apt-get install openssh-server qemu-user-static)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


# ---------------------------------------------------------------------------------------
# The emulated Raspberry Pi's root folder


def _apt_options(state: Path) -> list[str]:
    return ["-o", "APT::Architecture=arm64", "-o", "APT::Architectures::=arm64",
            "-o", f"Dir::State::Lists={state}/lists", "-o", f"Dir::Cache={state}/cache",
            "-o", f"Dir::State::status={state}/status", "-o", "Debug::NoLocking=1",
            "-o", "APT::Sandbox::User=root" if os.geteuid() == 0 else "APT::Sandbox::User=",
            "-q"]


def build_rpi_root(cache: Path) -> Path:
    """ROOT with an aarch64 Python 3.11 (Debian bookworm arm64), a fake ARM cpuinfo and a
    Raspberry Pi board model. A private apt state: the machine's apt setup is not changed."""
    root = cache / "rpi-root"
    if (root / ".complete").exists():
        return root
    state, debs = cache / "apt-arm64", cache / "debs-arm64"
    for folder in (state / "lists" / "partial", state / "cache" / "archives" / "partial", debs):
        folder.mkdir(parents=True, exist_ok=True)
    (state / "status").touch()
    subprocess.run(["apt-get", *_apt_options(state), "update"], check=True, capture_output=True, timeout=600)
    subprocess.run(["apt-get", *_apt_options(state), "download", *ARM64_PACKAGES], cwd=debs, check=True,
                   capture_output=True, timeout=600)
    tmp = cache / f"rpi-root.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True, timeout=120)
    (tmp / "proc" / "device-tree").mkdir(parents=True)
    (tmp / "proc" / "cpuinfo").write_text("\n".join(CPU_BLOCK.format(i=i) for i in range(4)) + "\n" + CPU_TAIL)
    (tmp / "proc" / "device-tree" / "model").write_bytes(BOARD.encode() + b"\x00")
    (tmp / ".complete").touch()
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root


# ---------------------------------------------------------------------------------------
# SSH servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edgekit-test", "-f", str(path)],
                   check=True, timeout=30)
    return path


def children(pid: int) -> list[int]:
    """Every descendant of pid (from /proc)."""
    by_parent: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        by_parent.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = by_parent.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@dataclass
class SshServer:
    """`sshd -D` on 127.0.0.1:port; `prefix` wraps the command (e.g. in a mount namespace)."""

    folder: Path
    host_key: Path
    authorized_keys: Path
    port: int = field(default_factory=free_port)
    setup: str = ""  # shell commands run before sshd, in the same (possibly new) namespace
    proc: subprocess.Popen | None = None

    def start(self) -> "SshServer":
        sshd = need("sshd")["sshd"]
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation folder
        config = self.folder / f"sshd_config.{self.port}"
        config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.authorized_keys}", "PubkeyAuthentication yes",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            "StrictModes no", "PermitRootLogin prohibit-password", "PidFile none",
            "Subsystem sftp internal-sftp", "LogLevel ERROR", "",
        ]))
        command = f"{self.setup}\nexec {sshd} -D -e -f {config}"
        prefix = ["unshare", "--mount", "--propagation", "private"] if self.setup else []
        log = open(self.folder / f"sshd.{self.port}.log", "ab")
        self.proc = subprocess.Popen([*prefix, "sh", "-c", command], stdout=log, stderr=log)
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.folder / f"sshd.{self.port}.log").read_text(errors="replace")
                raise RuntimeError(f"sshd exited {self.proc.returncode}: {log[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"SSH-2.0"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd on port {self.port} did not start")

    def kill(self):
        """SIGKILL the server and its per-connection sshd processes (not the commands they run)."""
        if self.proc is None:
            return
        for pid in children(self.proc.pid):
            if process_name(pid) == "sshd":
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc.kill()
        self.proc.wait()


@dataclass
class Lab:
    folder: Path
    server: SshServer
    client_key: Path
    wrong_key: Path
    known_hosts: Path
    host_key: Path
    python: Path
    workdir: Path
    user: str

    def host_block(self, alias: str, *, port=None, key=None, known_hosts=None) -> str:
        return "\n".join([
            f"Host {alias}", "  HostName 127.0.0.1", f"  Port {port or self.server.port}", f"  User {self.user}",
            f"  IdentityFile {key or self.client_key}", "  IdentitiesOnly yes", "  IdentityAgent none",
            f"  UserKnownHostsFile {known_hosts or self.known_hosts}", "  GlobalKnownHostsFile /dev/null",
            "  LogLevel ERROR", "",
        ])

    def guard_block(self, folder: Path) -> str:
        """Last: ad hoc ssh://USER@127.0.0.1:PORT devices get the client key; any other name
        still goes to 127.0.0.1 (never to DNS or another address). Host keys go to a file of
        this folder, never ~/.ssh. (IdentityFile accumulates over matching blocks, so only
        the 127.0.0.1 block names one.)"""
        common = [f"  UserKnownHostsFile {folder / 'known_hosts_adhoc'}", "  GlobalKnownHostsFile /dev/null",
                  "  IdentitiesOnly yes", "  IdentityAgent none", "  LogLevel ERROR", ""]
        return "\n".join(["Host 127.0.0.1", f"  IdentityFile {self.client_key}", *common,
                          "Host *", "  HostName 127.0.0.1", *common])

    def inventory(self, folder: Path, devices: dict, groups: dict | None = None) -> Path:
        """Write FOLDER/ssh_config and FOLDER/edgekit.toml. devices: name -> options; ssh
        options port/key/known_hosts go to the ssh config, the rest to the inventory."""
        folder.mkdir(parents=True, exist_ok=True)
        blocks, tables = [], ["[ssh]", 'config = "ssh_config"', ""]
        for name, options in devices.items():
            options = dict(options)
            ssh = {k: options.pop(k) for k in ("port", "key", "known_hosts") if k in options}
            blocks.append(self.host_block(name, **ssh))
            entry = {"host": name, "profile": "raspberrypi", "python": str(self.python),
                     "workdir": str(self.workdir), "connect_timeout": 5, **options}
            tables.append(f"[devices.{name}]")
            tables += [f"{k} = {_toml(v)}" for k, v in entry.items() if v is not None]
            tables.append("")
        if groups:
            tables.append("[groups]")
            tables += [f"{k} = {_toml(v)}" for k, v in groups.items()]
        blocks.append(self.guard_block(folder))
        (folder / "ssh_config").write_text("\n".join(blocks))
        (folder / "edgekit.toml").write_text("\n".join(tables) + "\n")
        from edgekit.devices import trust_inventory

        trust_inventory(folder / "edgekit.toml")  # the tests' own files (XDG_CONFIG_HOME is the tests')
        return folder


def _toml(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def leftovers(workdir: Path) -> list[str]:
    """What a run left in the device's workdir besides the installed runtime."""
    runs = workdir / "runs"
    found = [str(p) for p in runs.iterdir()] if runs.is_dir() else []
    return found + [str(p) for p in workdir.glob("site.*")]


def wait_clean(workdir: Path, seconds: float = 20) -> list[str]:
    """Leftovers after waiting up to `seconds` for the device side to finish cleaning."""
    deadline = time.monotonic() + seconds
    while leftovers(workdir) and time.monotonic() < deadline:
        time.sleep(0.2)
    return leftovers(workdir)


"""The SSH transport: the system OpenSSH client in a subprocess (argv lists, never a shell).

Every connection uses key or agent authentication only (BatchMode), checks the host key
against known_hosts (StrictHostKeyChecking=yes, or accept-new with --accept-new-host-key: a
changed key is refused either way), honours ~/.ssh/config (or the inventory's [ssh] config),
gives up connecting after the device's connect_timeout and notices a dead link within ~15 s
(ServerAlive). Each remote command has a timeout.

Remote commands run under `sh -c WRAPPER`, which prints `edgekit-exit N` when the command ends:
that tells a command that exited (or died of a signal: N > 128) from a lost connection, and
lets the wrapper remove a temporary folder on the device whatever happened to the command.
"""

from __future__ import annotations

import math
import queue
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import BinaryIO, Callable

from ..errors import DeviceError, UsageError
from .inventory import Device

EXIT_MARK = "edgekit-exit "
# $1: a folder to remove afterwards ("" for none); $2: 1 = always remove it, 0 = only on failure.
WRAPPER = ('d=$1; always=$2; shift 2; "$@"; rc=$?; '
           'if [ -n "$d" ] && { [ "$always" = 1 ] || [ "$rc" -ne 0 ]; }; then rm -rf -- "$d"; fi; '
           'echo "' + EXIT_MARK + '$rc"')
ALIVE_INTERVAL_S = 5
ALIVE_COUNT = 3


@dataclass(frozen=True)
class Connection:
    """How to reach one device: its inventory entry and the host-key policy."""

    device: Device
    accept_new_host_key: bool = False

    def ssh_argv(self, remote_command: str) -> list[str]:
        ssh = shutil.which("ssh")
        if ssh is None:
            raise UsageError(
                "the OpenSSH client (ssh) is not installed on this computer; install it "
                "(Debian/Ubuntu: apt install openssh-client; macOS and Windows 10+ ship it)"
            )
        policy = "accept-new" if self.accept_new_host_key else "yes"
        argv = [ssh, "-T", "-o", "BatchMode=yes", "-o", f"StrictHostKeyChecking={policy}",
                "-o", f"ConnectTimeout={math.ceil(self.device.connect_timeout)}",
                "-o", f"ServerAliveInterval={ALIVE_INTERVAL_S}", "-o", f"ServerAliveCountMax={ALIVE_COUNT}"]
        if self.device.ssh_config:
            argv += ["-F", self.device.ssh_config]
        if self.device.port is not None:
            argv += ["-p", str(self.device.port)]
        return argv + ["--", self.device.host, remote_command]


def wrapped(argv: list[str], cleanup: str | None = None, always: bool = False) -> str:
    """The remote command line: `argv` under WRAPPER, removing `cleanup` as asked."""
    return shlex.join(["sh", "-c", WRAPPER, "edgekit", cleanup or "", "1" if always else "0", *argv])


@dataclass
class Reply:
    """What a remote command left: its exit status (None when the wrapper never reported
    one: the connection broke), its stdout lines (without the exit mark) and stderr."""

    exit_code: int | None
    lines: list[str]
    stderr: str

    @property
    def signal_name(self) -> str | None:
        """SIGSEGV etc. when the remote command died of a signal (shell status 128 + n)."""
        if self.exit_code is None or self.exit_code <= 128:
            return None
        try:
            return signal.Signals(self.exit_code - 128).name
        except ValueError:
            return f"signal {self.exit_code - 128}"


class Session:
    """One running `ssh ... command`, its stdout lines arriving on a queue."""

    def __init__(self, conn: Connection, remote_command: str):
        self.conn = conn
        self.proc = subprocess.Popen(
            conn.ssh_argv(remote_command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,  # Ctrl-C reaches edgekit, not ssh
        )
        self.lines: queue.Queue = queue.Queue()
        self._stderr: list[bytes] = []
        self._readers = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self.lines.put(None)

    def _read_stderr(self):
        for raw in self.proc.stderr:
            self._stderr.append(raw)

    def feed(self, write: Callable[[BinaryIO], None]) -> None:
        """Write to the remote command's stdin; a closed pipe is left for the reply to explain."""
        try:
            write(self.proc.stdin)
            self.proc.stdin.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass

    def feed_all(self, write: Callable[[BinaryIO], None] | None) -> None:
        """Feed the whole of stdin (or nothing), then close it."""
        if write is not None:
            self.feed(write)
        self.close_stdin()

    def send_line(self, text: str) -> None:
        self.feed(lambda stdin: stdin.write(text.encode() + b"\n"))

    def close_stdin(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def finish(self, lines: list[str], timeout: float, doing: str) -> Reply:
        """Wait for the end (at most `timeout` s more), then the reply; rc 255 raises."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        for reader in self._readers:
            reader.join(timeout=5)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                lines.append(line)
        return self.reply(lines, doing)

    def reply(self, lines: list[str], doing: str) -> Reply:
        stderr = b"".join(self._stderr).decode("utf-8", "replace")
        exit_code, kept = None, []
        for line in lines:
            if line.startswith(EXIT_MARK) and line[len(EXIT_MARK):].strip().isdigit():
                exit_code = int(line[len(EXIT_MARK):])
            else:
                kept.append(line)
        if self.proc.returncode == 255 and exit_code is None:
            raise ssh_failure(stderr, self.conn.device, doing)
        return Reply(exit_code, kept, stderr)


def run(conn: Connection, remote_command: str, *, timeout: float, doing: str,
        feed: Callable[[BinaryIO], None] | None = None) -> Reply:
    """Run a (wrapped) remote command to its end, feeding its stdin, within `timeout` s."""
    session = Session(conn, remote_command)
    deadline = time.monotonic() + timeout
    try:
        threading.Thread(target=session.feed_all, args=(feed,), daemon=True).start()  # a stalled
        lines = []  # upload must not block this loop, which enforces the timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                session.kill()
                raise DeviceError(
                    f"{conn.device.name}: no answer while {doing} within {timeout:.0f} s; check "
                    "that the device is up, or raise command_timeout in the inventory"
                )
            try:
                line = session.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                return session.finish(lines, timeout=max(deadline - time.monotonic(), 1), doing=doing)
            lines.append(line)
    except BaseException:
        session.kill()
        raise


def ssh_failure(stderr: str, device: Device, doing: str) -> DeviceError:
    """A one-line DeviceError for a failed ssh (exit 255), from OpenSSH's own message."""
    text = " ".join(stderr.split())
    where = device.name if device.name == device.address else f"{device.name} ({device.address})"
    last = _last_line(stderr)
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        return DeviceError(
            f"{where}: the host key has CHANGED since it was recorded in known_hosts (a "
            "reinstalled device, or someone intercepting the connection); refused. If you "
            "trust the new key, remove the old one with: ssh-keygen -R HOST (as ssh names it), "
            "then connect once with `accept_new_host_key`"
        )
    if "Host key verification failed" in text or "No matching host key" in text:
        return DeviceError(
            f"{where}: its host key is not in known_hosts, so edgekit cannot tell it is the right "
            "machine; check the fingerprint and connect once with ssh, or pass `accept_new_host_key`"
        )
    if "Permission denied" in text:
        return DeviceError(
            f"{where}: the device refused every key offered (key or agent authentication only; "
            "passwords are never tried); install your public key on it (ssh-copy-id), or set "
            "IdentityFile for it in ~/.ssh/config"
        )
    if "Could not resolve hostname" in text or "Name or service not known" in text:
        return DeviceError(f"{where}: cannot resolve the host name ({last}); check host in the inventory")
    if "Connection refused" in text:
        return DeviceError(
            f"{where}: connection refused (nothing listens for SSH there); is the device on "
            "and its SSH server running, and is the port right?"
        )
    if "timed out" in text or "Connection timed out" in text:
        return DeviceError(
            f"{where}: no SSH answer within {device.connect_timeout:g} s ({last}); is the "
            "device on and reachable from this computer?"
        )
    if "No route to host" in text or "Network is unreachable" in text:
        return DeviceError(f"{where}: unreachable ({last}); check the network and the address")
    return DeviceError(f"{where}: the SSH connection failed or was lost while {doing} ({last or 'ssh exited with 255'})")


def _last_line(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return lines[-1] if lines else ""

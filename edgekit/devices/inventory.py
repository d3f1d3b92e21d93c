"""The device inventory: `edgekit.toml` in the working folder and the user's
`~/.config/edgekit/devices.toml`, plus ad hoc `ssh://user@host:port` devices.

    [ssh]
    config = "ssh_config"              # optional: an ssh config file used instead of ~/.ssh/config

    [devices.rpi]
    host = "pi@raspberrypi.local"      # [user@]host, or a Host alias from ~/.ssh/config
    port = 22                          # optional; ssh (and its config) decide when absent
    profile = "raspberrypi"            # edgekit/devices/profiles/NAME.toml
    python = "python3"                 # or the path of a venv's python
    workdir = "~/.cache/edgekit"       # where the runtime and temporary runs live
    connect_timeout = 10               # seconds to establish the SSH connection
    command_timeout = 120              # seconds any one remote step may stay silent

    [groups]
    lab = ["rpi1", "rpi2"]

Both files are read; a device or group in the working folder's file replaces one of the same
name in the user's file.

An ssh config can run commands on this computer (ProxyCommand, Match exec, LocalCommand). So
`[ssh] config` is honoured from the user's own file always, but from a working folder's
edgekit.toml (a cloned repository's) only after `edgekit devices trust` has recorded that
file's and its ssh config's SHA-256: changing either needs a new trust.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import BadInputError, UsageError
from ._toml import parse_toml

LOCAL_FILE = "edgekit.toml"
USER_FILE = "devices.toml"
TRUST_FILE = "trusted-inventories.json"
DEVICE_KEYS = ("host", "port", "profile", "python", "workdir", "connect_timeout", "command_timeout")
TOP_KEYS = ("ssh", "devices", "groups")
DEFAULT_WORKDIR = "~/.cache/edgekit"
MAX_TIMEOUT_S = 24 * 3600.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HOST = re.compile(r"^[^\s\x00-\x1f\x7f'\"`$;&|<>\\]+$")


@dataclass(frozen=True)
class Device:
    """One machine reachable over SSH. `host` is what is passed to ssh: [user@]host or an alias."""

    name: str
    host: str
    port: int | None = None
    profile: str | None = None
    python: str = "python3"
    workdir: str = DEFAULT_WORKDIR
    connect_timeout: float = 10.0
    command_timeout: float = 120.0
    ssh_config: str | None = None
    source: str = "command line"

    def __post_init__(self):
        _check_host(self.host, self.name)
        if self.port is not None and (isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536):
            raise BadInputError(f"device {self.name}: port must be 1-65535; received {self.port!r}")
        for key in ("connect_timeout", "command_timeout"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TIMEOUT_S:
                raise BadInputError(f"device {self.name}: {key} must be a number of seconds from 0 to "
                                    f"{MAX_TIMEOUT_S:g} (exclusive of 0); received {value!r}")
        for key in ("python", "workdir"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key).strip():
                raise BadInputError(f"device {self.name}: {key} must be a non-empty string")

    @property
    def address(self) -> str:
        """host[:port] for messages."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Inventory:
    devices: dict
    groups: dict
    files: tuple
    ssh_config: str | None = None  # for ad hoc ssh:// devices

    def names(self) -> list[str]:
        return sorted(self.devices)

    def to_json(self) -> dict:
        return {"schema": "edgekit.devices/1", "files": list(self.files),
                "devices": [d.to_dict() for d in self.devices.values()],
                "groups": {k: list(v) for k, v in self.groups.items()}}


def user_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "edgekit"


def inventory_files(cwd: str | os.PathLike | None = None) -> list[Path]:
    """The inventory files that exist, lowest precedence first."""
    candidates = [user_config_dir() / USER_FILE, Path(cwd or os.getcwd()) / LOCAL_FILE]
    return [p for p in candidates if p.is_file()]


def load_inventory(cwd: str | os.PathLike | None = None) -> Inventory:
    """Devices and groups from every inventory file (the working folder's file wins)."""
    devices, groups, ssh_config = {}, {}, None
    files = inventory_files(cwd)
    for path in files:
        file_devices, file_groups, file_ssh = _read_file(path, local=path.name == LOCAL_FILE)
        devices.update(file_devices)
        groups.update(file_groups)
        ssh_config = file_ssh or ssh_config
    for group, members in groups.items():
        missing = [m for m in members if m not in devices]
        if missing:
            raise BadInputError(
                f"group {group} names devices that are not in the inventory: {', '.join(missing)}; "
                f"known devices: {', '.join(sorted(devices)) or 'none'}"
            )
    return Inventory(devices, groups, tuple(str(p) for p in files), ssh_config)


def _read_file(path: Path, local: bool = False):
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read the device inventory {path}: {exc}") from exc
    data = parse_toml(text, f"the device inventory {path}")
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise BadInputError(f"{path}: unknown tables {', '.join(unknown)}; allowed: [ssh], [devices.NAME], [groups]")
    ssh_config = _ssh_config(data.get("ssh", {}), path)
    if local and ssh_config is not None and not is_trusted(path, ssh_config):
        raise UsageError(
            f"{path} sets [ssh] config = {ssh_config}; an ssh config can run commands on this computer "
            "(ProxyCommand, Match exec), so edgekit uses one from the working folder only after you have "
            "read both files and run: edgekit devices trust; or move the [ssh] table to "
            f"{user_config_dir() / USER_FILE}"
        )
    devices = {}
    for name, entry in _table(data, "devices", path).items():
        devices[name] = _device(name, entry, path, ssh_config)
    groups = {name: _group(name, members, path) for name, members in _table(data, "groups", path).items()}
    clash = sorted(set(devices) & set(groups))
    if clash:
        raise BadInputError(f"{path}: {', '.join(clash)} is both a device and a group; rename one")
    return devices, groups, ssh_config


def _table(data: dict, key: str, path: Path) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise BadInputError(f"{path}: [{key}] must be a table")
    return value


def _ssh_config(table, path: Path) -> str | None:
    if not isinstance(table, dict) or set(table) - {"config"}:
        raise BadInputError(f"{path}: [ssh] takes one key, config = \"path of an ssh config file\"")
    if "config" not in table:
        return None
    config = Path(os.path.expanduser(str(table["config"])))
    config = config if config.is_absolute() else path.parent / config
    if not config.is_file():
        raise BadInputError(f"{path}: [ssh] config {config} does not exist")
    return str(config)


def _device(name: str, entry, path: Path, ssh_config: str | None) -> Device:
    if not _NAME.match(name):
        raise BadInputError(f"{path}: device name {name!r} may use letters, digits, '.', '_' and '-' only")
    if not isinstance(entry, dict):
        raise BadInputError(f"{path}: [devices.{name}] must be a table")
    unknown = sorted(set(entry) - set(DEVICE_KEYS))
    if unknown:
        raise BadInputError(f"{path}: [devices.{name}] has unknown keys {', '.join(unknown)}; allowed: {', '.join(DEVICE_KEYS)}")
    if "host" not in entry:
        raise BadInputError(f"{path}: [devices.{name}] needs host = \"user@address\" (or an ~/.ssh/config alias)")
    return Device(name=name, ssh_config=ssh_config, source=str(path), **entry)


def _group(name: str, members, path: Path) -> tuple:
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise BadInputError(f"{path}: group {name} must be a non-empty list of device names")
    return tuple(members)


def _check_host(host, name: str) -> None:
    if not isinstance(host, str) or not _HOST.match(host) or host.startswith("-"):
        raise BadInputError(
            f"device {name}: host {host!r} is not an SSH destination; use user@address or an "
            "alias from ~/.ssh/config (no spaces or shell characters, not starting with '-')"
        )


def parse_ssh_url(url: str, ssh_config: str | None = None) -> Device:
    """An ad hoc device from ssh://[user@]host[:port]."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"cannot parse device {url!r}: {exc}; use ssh://user@host:port") from exc
    if parts.scheme != "ssh" or not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment or parts.password:
        raise UsageError(f"cannot parse device {url!r}; use ssh://user@host or ssh://user@host:port")
    host = parts.hostname if parts.username is None else f"{urllib.parse.unquote(parts.username)}@{parts.hostname}"
    try:
        return Device(name=url, host=host, port=port, ssh_config=ssh_config)
    except BadInputError as exc:  # typed on the command line: a usage error, like an unparsable port
        raise UsageError(f"{exc.message}; use ssh://user@host:port") from exc


def resolve_devices(spec: str, inventory: Inventory) -> list[Device]:
    """Devices for --device: names, groups and ssh:// URLs separated by commas (no repeats)."""
    found: dict[str, Device] = {}
    items = [item.strip() for item in spec.split(",")]
    if not all(items):
        raise UsageError(f"`devices` {spec!r} has an empty name; separate names with single commas")
    for item in items:
        for device in _resolve_one(item, inventory):
            found.setdefault(device.name, device)
    return list(found.values())


def _resolve_one(item: str, inventory: Inventory) -> list[Device]:
    if item.startswith("ssh://"):
        return [parse_ssh_url(item, inventory.ssh_config)]
    if item in inventory.groups:
        return [inventory.devices[name] for name in inventory.groups[item]]
    if item in inventory.devices:
        return [inventory.devices[item]]
    where = ", ".join(inventory.files) or f"no inventory file ({LOCAL_FILE} here or {user_config_dir() / USER_FILE})"
    known = ", ".join(inventory.names() + sorted(inventory.groups)) or "none"
    raise UsageError(
        f"unknown device {item!r}; known devices and groups: {known} (from {where}); "
        "add it to the inventory or use ssh://user@host:port"
    )


def one_device(spec: str, inventory: Inventory | None = None) -> Device:
    """The single device `spec` names (an inventory name or ssh:// address); a group or a
    list is a usage error."""
    devices = resolve_devices(spec, inventory if inventory is not None else load_inventory())
    if len(devices) != 1:
        raise UsageError(f"{spec!r} names {len(devices)} devices ({', '.join(d.name for d in devices)}); give one device")
    return devices[0]


# ---------------------------------------------------------------------------------------
# Trusting a working folder's inventory


def _digest(path: Path, ssh_config: str | None) -> str:
    import hashlib

    digest = hashlib.sha256(path.read_bytes())
    if ssh_config is not None:
        digest.update(b"\0" + Path(ssh_config).read_bytes())
    return digest.hexdigest()


def _trust_records() -> dict:
    import json

    try:
        records = json.loads((user_config_dir() / TRUST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def is_trusted(path: Path, ssh_config: str | None) -> bool:
    try:
        return _trust_records().get(str(path.resolve())) == _digest(path, ssh_config)
    except OSError:
        return False


def trust_inventory(path: str | os.PathLike | None = None) -> dict:
    """Record that the user has read `path` (default ./edgekit.toml) and its [ssh] config, so
    that edgekit uses them; the record holds both files' SHA-256 and breaks when either changes."""
    from .._files import atomic_write_text

    path = Path(path) if path is not None else Path.cwd() / LOCAL_FILE
    if not path.is_file():
        raise BadInputError(f"no inventory to trust at {path}; pass the edgekit.toml to trust")
    text = path.read_text(encoding="utf-8", errors="replace")
    ssh_config = _ssh_config(parse_toml(text, f"the device inventory {path}").get("ssh", {}), path)
    records = _trust_records() | {str(path.resolve()): _digest(path, ssh_config)}
    folder = user_config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    import json

    atomic_write_text(folder / TRUST_FILE, json.dumps(records, indent=2) + "\n")
    return {"schema": "edgekit.devices-trust/1", "file": str(path.resolve()), "ssh_config": ssh_config,
            "sha256": records[str(path.resolve())], "record": str(folder / TRUST_FILE)}

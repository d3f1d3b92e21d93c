"""The wheels a device's runtime is made of, fetched on the host (the device needs no internet).

- `target_for(info)`: the device's platform (CPython version, architecture, glibc) from what
  scripts/prepare.py reported; 32-bit ARM and non-glibc systems are refused with the way out.
- `download_wheels(target, cache)`: ai-edge-litert (the host's version) + numpy and their
  dependencies for that platform, with `pip download`; the cache folder is tried offline first.
- `edgekit_wheel(folder)`: a pure-Python wheel of the edgekit package this host runs, built
  from its files with fixed timestamps, so the same sources always give the same SHA-256
  (which is how a device's runtime is known to be up to date).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .._files import temp_folder
from ..errors import DeviceError, UsageError

MIN_GLIBC = (2, 17)
ARCHITECTURES = ("aarch64", "x86_64")
ARM32 = ("armv7l", "armv6l", "armv8l", "arm")
PACKAGE_SUFFIXES = (".py", ".toml", ".json", ".typed")
PIP_TIMEOUT_S = 600
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Target:
    python: tuple[int, int]
    machine: str
    glibc: tuple[int, int]

    def describe(self) -> str:
        return f"CPython {self.python[0]}.{self.python[1]}, {self.machine}, glibc {self.glibc[0]}.{self.glibc[1]}"

    def platform_tags(self) -> list[str]:
        """Every manylinux tag the device accepts: pip needs each one listed."""
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(self.glibc[1], MIN_GLIBC[1] - 1, -1)]
        tags.append(f"manylinux2014_{self.machine}")
        if self.machine == "x86_64":
            tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
        return tags

    def to_dict(self) -> dict:
        return {"python": ".".join(map(str, self.python)), "machine": self.machine,
                "glibc": ".".join(map(str, self.glibc)), "platforms": self.platform_tags()}


def target_for(info: dict, device_name: str) -> Target:
    """The wheel platform of a device from scripts/prepare.py's answer."""
    machine, bits = info["machine"], info.get("pointer_bits")
    if machine in ARM32 or (machine == "aarch64" and bits == 32):
        raise DeviceError(
            f"{device_name} runs 32-bit ARM ({machine}, {bits}-bit Python): ai-edge-litert publishes no "
            "wheels for it. Install the 64-bit Raspberry Pi OS, or install tflite-runtime on the "
            "device yourself (pip install tflite-runtime \"numpy<2\", where a wheel exists for its "
            "Python) and benchmark with --backend tflite-runtime"
        )
    if machine not in ARCHITECTURES:
        raise DeviceError(f"{device_name}: no runtime wheels for architecture {machine}; supported: {', '.join(ARCHITECTURES)}")
    libc, version = info.get("libc") or [None, None]
    if libc != "glibc" or not version:
        raise DeviceError(
            f"{device_name}: its Python is not linked against glibc ({libc or 'unknown C library'}), and "
            "the runtime wheels (manylinux) need glibc; use a glibc distribution such as Raspberry Pi OS"
        )
    glibc = tuple(int(p) for p in version.split(".")[:2])
    if glibc < MIN_GLIBC:
        raise DeviceError(f"{device_name}: glibc {version} is older than 2.17, the oldest any runtime wheel supports")
    python = tuple(int(p) for p in info["python"].split(".")[:2])
    return Target(python=python, machine=machine, glibc=glibc)


def requirements() -> list[str]:
    """What the device runtime needs: the host's ai-edge-litert version (same numerics) and numpy."""
    try:
        litert = f"ai-edge-litert=={importlib.metadata.version('ai-edge-litert')}"
    except importlib.metadata.PackageNotFoundError:
        litert = "ai-edge-litert"
    return [litert, "numpy>=1.23.2"]


def pip_download_argv(target: Target, dest: Path, cache: Path, offline: bool) -> list[str]:
    py = f"{target.python[0]}{target.python[1]}"
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--only-binary=:all:", "--python-version", f"{target.python[0]}.{target.python[1]}",
            "--implementation", "cp", "--abi", f"cp{py}", "--abi", "abi3", "--abi", "none",
            "--find-links", str(cache), "--dest", str(dest)]
    for tag in target.platform_tags():
        argv += ["--platform", tag]
    if offline:
        argv.append("--no-index")
    return argv + requirements()


def download_wheels(target: Target, cache: Path, offline: bool = False) -> list[Path]:
    """The runtime wheels for `target`, in `cache` (filled from PyPI unless offline)."""
    cache.mkdir(parents=True, exist_ok=True)
    with temp_folder("edgekit-wheels-") as tmp:
        dest = Path(tmp)
        failure = _pip(pip_download_argv(target, dest, cache, offline=True))
        if failure and not offline:
            failure = _pip(pip_download_argv(target, dest, cache, offline=False))
        if failure:
            how = ("only the wheels already in the folder were used (`offline`)" if offline
                   else "check this computer's internet access")
            raise DeviceError(
                f"cannot get the runtime wheels for {target.describe()} into {cache}: pip says: "
                f"{failure}; {how}, or fill the folder on a connected computer with the same "
                "edgekit and copy it here (`wheels`)"
            )
        found = sorted(dest.glob("*.whl"))
        for wheel in found:
            if not (cache / wheel.name).exists():
                shutil.copy2(wheel, cache / wheel.name)
        return [cache / wheel.name for wheel in found]


def _pip(argv: list[str]) -> str | None:
    """Run pip; None on success, else its last error line."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"no result within {PIP_TIMEOUT_S} s"
    if done.returncode == 0:
        return None
    if "No module named pip" in done.stderr:
        raise UsageError(f"pip is not installed for {sys.executable}; it is needed to fetch the device's wheels (python -m ensurepip)")
    lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip().startswith("ERROR")]
    return lines[-1] if lines else (done.stderr.strip().splitlines() or ["pip failed"])[-1]


def package_files(package_dir: Path) -> list[Path]:
    return sorted(
        p for p in package_dir.rglob("*")
        if p.is_file() and p.suffix in PACKAGE_SUFFIXES and "__pycache__" not in p.parts
    )


def edgekit_wheel(folder: Path) -> Path:
    """Write edgekit-VERSION-py3-none-any.whl of the running edgekit into `folder`."""
    import edgekit

    package_dir = Path(edgekit.__file__).resolve().parent
    version = edgekit.__version__
    info = f"edgekit-{version}.dist-info"
    entries = [(f"edgekit/{p.relative_to(package_dir).as_posix()}", p.read_bytes()) for p in package_files(package_dir)]
    entries.append((f"{info}/METADATA", f"Metadata-Version: 2.1\nName: edgekit\nVersion: {version}\n".encode()))
    entries.append((f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: edgekit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    record = "".join(f"{name},sha256={_record_hash(data)},{len(data)}\n" for name, data in entries)
    entries.append((f"{info}/RECORD", (record + f"{info}/RECORD,,\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in entries:
            item = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            item.external_attr = 0o644 << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(item, data, compresslevel=6)
    path = Path(folder) / f"edgekit-{version}-py3-none-any.whl"
    path.write_bytes(buffer.getvalue())
    return path


def _record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

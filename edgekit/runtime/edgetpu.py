"""Coral Edge TPUs on the device: which are attached, whether a .tflite is compiled for one,
and one-line errors that say what is missing (the runtime library, or a device).

    from edgekit import runtime
    runtime.list_edge_tpus()            # [EdgeTpu(type='usb', path='/sys/bus/usb/devices/2-1')]
    model = runtime.load("m_int8_edgetpu.tflite")     # the Edge TPU delegate, automatically

`list_edge_tpus` asks libedgetpu itself (its C API, `edgetpu_list_devices`, through
ctypes), as pycoral does, so it needs no pycoral. Nothing here fakes a device: without
libedgetpu every function that needs it raises a DeviceError naming the package to install.
"""

from __future__ import annotations

import ctypes
import platform
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInputError, DeviceError, MissingDependencyError, one_line

LIBRARY = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}
CUSTOM_OP = "edgetpu-custom-op"
INSTALL = (
    "install the Edge TPU runtime: libedgetpu1-std from Coral's apt repository "
    "(https://coral.ai/software/#debian-packages: add the repository, then "
    "sudo apt-get install libedgetpu1-std; macOS and Windows: https://coral.ai/docs/accelerator/get-started)"
)
PLUG_IN = (
    "plug in the device (the USB Accelerator; for the M.2/PCIe module install its driver: "
    "sudo apt-get install gasket-dkms, then reboot)"
)
_DEVICE = re.compile(r"^(usb|pci)?(:[0-9]+)?$")
_TYPES = {0: "pci", 1: "usb"}  # enum edgetpu_device_type in edgetpu_c.h


@dataclass(frozen=True)
class EdgeTpu:
    """One attached Edge TPU: type "usb" or "pci", the system path libedgetpu reports, and
    `name`, the device string for `load(..., delegate="edgetpu", device=name)`."""

    type: str
    path: str
    name: str


def library_name() -> str:
    return LIBRARY.get(platform.system(), "libedgetpu.so.1")


def check_device(device: str | None) -> None:
    """`device` as libedgetpu names devices: usb, pci, usb:N, pci:N or :N (None: the first)."""
    if device is None:
        return
    if not isinstance(device, str) or not device or not _DEVICE.match(device):
        raise BadInputError(
            f"`device` {device!r} is not an Edge TPU device name; use usb, usb:0, pci, pci:0 or :0 "
            "(the Nth Edge TPU of any type); list_edge_tpus() shows what is attached"
        )


def load_library(device: str | None = None):
    """libedgetpu as a ctypes library, or a DeviceError saying that it is missing and how to
    install it."""
    name = library_name()
    try:
        return ctypes.CDLL(name)
    except OSError as exc:
        wanted = f" for device {device!r}" if device else ""
        raise DeviceError(
            f"the Edge TPU runtime library {name} is not installed{wanted} ({one_line(str(exc))}); {INSTALL}; "
            f"then {PLUG_IN}"
        ) from exc


class _Device(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("path", ctypes.c_char_p)]


def list_edge_tpus() -> list[EdgeTpu]:
    """The Edge TPUs libedgetpu can see (an empty list when none is attached). DeviceError
    when libedgetpu is not installed."""
    library = load_library()
    try:
        listing = library.edgetpu_list_devices
        free = library.edgetpu_free_devices
    except AttributeError as exc:
        raise DeviceError(
            f"{library_name()} has no edgetpu_list_devices (an old or foreign library?); {INSTALL}"
        ) from exc
    listing.restype, listing.argtypes = ctypes.POINTER(_Device), [ctypes.POINTER(ctypes.c_size_t)]
    free.restype, free.argtypes = None, [ctypes.POINTER(_Device)]
    count = ctypes.c_size_t(0)
    devices = listing(ctypes.byref(count))
    found, seen = [], {"usb": 0, "pci": 0}
    try:
        for i in range(count.value if devices else 0):
            kind = _TYPES.get(int(devices[i].type), "unknown")
            index = seen.setdefault(kind, 0)
            seen[kind] += 1
            found.append(EdgeTpu(kind, (devices[i].path or b"").decode("utf-8", "replace"), f"{kind}:{index}"))
    finally:
        if devices:
            free(devices)
    return found


def delegate_error(device: str | None, exc: BaseException) -> DeviceError:
    """The library loaded but the delegate did not: almost always no (such) device."""
    wanted = f"the Edge TPU {device!r}" if device else "an Edge TPU"
    return DeviceError(
        f"{library_name()} is installed but cannot open {wanted} ({one_line(str(exc))}): no such device is "
        f"attached or it is in use by another process; {PLUG_IN}, or if the runtime is too old, {INSTALL}"
    )


def is_edgetpu_model(path, data: bytes | None = None) -> bool:
    """Whether a .tflite needs the Edge TPU: named *_edgetpu.tflite (as edgetpu_compiler names
    its output), or holding the compiler's edgetpu-custom-op."""
    if path is not None and Path(path).name.endswith("_edgetpu.tflite"):
        return True
    if data is None or CUSTOM_OP.encode() not in data:
        return False
    from .tflite_file import describe

    try:
        return any(op.custom_code == CUSTOM_OP for op in describe(data).ops)
    except MissingDependencyError:
        return True  # no flatbuffer schema to read it by (tflite-runtime only): the name is in it
    except BadInputError:
        return False

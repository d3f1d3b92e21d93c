"""Where a benchmark runs: devices reached over SSH (the system OpenSSH client), alone or as a fleet.

    from edgekit.devices import load_inventory, resolve_devices, check_device, setup_device
    devices = resolve_devices("rpi", load_inventory())
    check_device(devices[0])                         # facts + runtime state, one round trip
    setup_device(devices[0])                         # install the runtime (no internet on the device)
    bench_on_devices(devices, ["m.tflite"], timing=TimingConfig())

Nothing here runs on the device itself: the device side is edgekit/bench/remote.py and the
standard-library scripts in edgekit/devices/scripts/.
"""

from .bench import Cancel, StoppedError, bench_on_device, prepare_inputs
from .fleet import FLEET_SCHEMA, Outcome, bench_on_devices, fleet_report
from .inventory import Device, Inventory, load_inventory, parse_ssh_url, resolve_devices
from .profiles import Profile, load_profile
from .provision import check_device, default_wheel_cache, setup_device

__all__ = [
    "FLEET_SCHEMA",
    "Cancel",
    "Device",
    "Inventory",
    "Outcome",
    "Profile",
    "StoppedError",
    "bench_on_device",
    "bench_on_devices",
    "check_device",
    "default_wheel_cache",
    "fleet_report",
    "load_inventory",
    "load_profile",
    "parse_ssh_url",
    "prepare_inputs",
    "resolve_devices",
    "setup_device",
]

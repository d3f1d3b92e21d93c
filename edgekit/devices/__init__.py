"""Where a benchmark runs: this machine, devices reached over SSH (the system OpenSSH client),
alone or as a fleet.

    from edgekit.devices import BenchRequest, benchmark, check_device, setup_device
    result = benchmark(["m.tflite"], BenchRequest(data="eval.npz"))            # here
    result = benchmark(["m.tflite"], BenchRequest(data="eval.npz"), devices="rpi")
    check_device(devices[0])        # facts + runtime state, one round trip
    setup_device(devices[0])        # install the runtime (no internet on the device)

Nothing here runs on the device itself: the device side is edgekit/bench/remote.py and the
standard-library scripts in edgekit/devices/scripts/.
"""

from .bench import BenchRequest, Cancel, HostInputs, StoppedError, bench_on_device, prepare_inputs
from .fleet import Outcome, bench_on_devices, fleet_result
from .inventory import Device, Inventory, load_inventory, one_device, parse_ssh_url, resolve_devices, trust_inventory
from .profiles import Profile, load_profile
from .provision import check_device, default_wheel_cache, setup_device
from .run import benchmark

__all__ = [
    "BenchRequest",
    "Cancel",
    "Device",
    "HostInputs",
    "Inventory",
    "Outcome",
    "Profile",
    "StoppedError",
    "bench_on_device",
    "bench_on_devices",
    "benchmark",
    "check_device",
    "default_wheel_cache",
    "fleet_result",
    "load_inventory",
    "load_profile",
    "one_device",
    "parse_ssh_url",
    "prepare_inputs",
    "resolve_devices",
    "setup_device",
    "trust_inventory",
]

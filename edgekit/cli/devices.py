"""`edgekit devices list`, `edgekit device check|setup`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app, handle_errors, ui
from .output import print_json

devices_app = typer.Typer(
    help="The device inventory: edgekit.toml here and ~/.config/edgekit/devices.toml.",
    no_args_is_help=True,
)
device_app = typer.Typer(
    help="One device over SSH: check what it is, install the edgekit runtime on it.",
    no_args_is_help=True,
)
app.add_typer(devices_app, name="devices")
app.add_typer(device_app, name="device")


@devices_app.command("list")
@handle_errors
def devices_list(
    as_json: bool = typer.Option(False, "--json", help="Print the inventory as JSON on stdout (schema edgekit.devices/1)."),
):
    """List the devices and groups of the inventory (nothing is contacted).

        edgekit devices list
        edgekit devices list --json
    """
    from ..devices import load_inventory
    from ..report.console import render_inventory

    inventory = load_inventory()
    if as_json:
        print_json(inventory.to_json())
    else:
        ui().print(*render_inventory(inventory))


@devices_app.command("trust")
@handle_errors
def devices_trust(
    inventory: Optional[Path] = typer.Argument(None, help="The edgekit.toml to trust (default: the one in this folder)."),
    as_json: bool = typer.Option(False, "--json", help="Print the trust record as JSON on stdout (schema edgekit.devices-trust/1)."),
):
    """Allow a working folder's edgekit.toml to use its [ssh] config (which can run commands).

    Read the inventory and its ssh config first: a ProxyCommand or Match exec line runs a
    program on this computer. The trust holds both files' SHA-256; changing either needs a new
    `edgekit devices trust`.

        edgekit devices trust
        edgekit devices trust ~/lab/edgekit.toml
    """
    from ..devices import trust_inventory

    done = trust_inventory(inventory)
    if as_json:
        print_json(done)
    else:
        ui().print(f"trusted {done['file']}" + (f" and {done['ssh_config']}" if done["ssh_config"] else "")
                   + f" (sha256 {done['sha256'][:12]}...); recorded in {done['record']}")


@device_app.command("check")
@handle_errors
def device_check(
    name: str = typer.Argument(..., help="An inventory name or ssh://user@host:port."),
    accept_new_host_key: bool = typer.Option(False, "--accept-new-host-key", help="Trust and record a host key not yet in known_hosts (a changed key is always refused)."),
    as_json: bool = typer.Option(False, "--json", help="Print the facts as JSON on stdout (schema edgekit.device-check/1)."),
):
    """One round trip: architecture, OS, Python, CPU, board, governor, throttling, disk, memory, runtime.

    Nothing is installed or written on the device.

        edgekit device check rpi
        edgekit device check ssh://pi@192.168.1.7:22 --accept-new-host-key
    """
    from ..devices import check_device, one_device
    from ..report.console import render_device_check

    found = check_device(one_device(name), accept_new_host_key=accept_new_host_key)
    if as_json:
        print_json(found)
    else:
        ui().print(*render_device_check(name, found))


@device_app.command("setup")
@handle_errors
def device_setup(
    name: str = typer.Argument(..., help="An inventory name or ssh://user@host:port."),
    wheels: Optional[Path] = typer.Option(None, "--wheels", help="Folder of downloaded wheels (default ~/.cache/edgekit/wheels); filled from PyPI unless --offline."),
    offline: bool = typer.Option(False, "--offline", help="Use only the wheels already in --wheels; never contact PyPI."),
    force: bool = typer.Option(False, "--force", help="Reinstall even when the device has these exact wheels."),
    accept_new_host_key: bool = typer.Option(False, "--accept-new-host-key", help="Trust and record a host key not yet in known_hosts (a changed key is always refused)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was installed as JSON on stdout (schema edgekit.device-setup/1)."),
):
    """Install the edgekit runtime (edgekit, numpy, ai-edge-litert) on a device with no internet.

    The host downloads the wheels for the device's exact platform and uploads them; the device
    needs only Python 3. Re-running with the same wheels does nothing.

        edgekit device setup rpi
        edgekit device setup rpi --wheels ./wheels --offline
    """
    from ..devices import one_device, setup_device
    from ..report.console import render_device_setup

    u = ui()
    done = setup_device(one_device(name), wheels=wheels, offline=offline, force=force,
                        accept_new_host_key=accept_new_host_key, on_step=u.step(not as_json))
    if as_json:
        print_json(done)
    else:
        u.print(*render_device_setup(name, done))

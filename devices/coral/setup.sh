#!/usr/bin/env bash
# Set up a Debian / Ubuntu / Raspberry Pi OS host for a Coral Edge TPU (edgekit's `coral` profile).
#
#   sudo devices/coral/setup.sh                 # USB Accelerator: Edge TPU runtime, standard clock
#   sudo devices/coral/setup.sh --max           # ... at the maximum clock (faster, runs hotter)
#   sudo devices/coral/setup.sh --pcie          # M.2 / Mini PCIe: also the Coral PCIe (gasket) driver
#   sudo devices/coral/setup.sh --compiler      # x86-64 only: edgetpu_compiler, for edgekit edgetpu compile
#   devices/coral/setup.sh --dry-run [...]      # print the commands, change nothing (no root needed)
#
# Steps (after Coral's "Get started" guides, coral.ai/docs/accelerator/get-started and
# coral.ai/docs/m2/get-started): add Coral's apt repository with its signing key, install
# libedgetpu1-std (or -max), give the user access to the device (USB: the package's udev rule
# and the plugdev group; PCIe: gasket-dkms, an apex udev rule and the apex group).
#
# NOT VERIFIED ON CORAL HARDWARE: this script was checked with bash -n, shellcheck and its
# --dry-run output only. See devices/coral/README.md for what is known to break.
set -euo pipefail

REPO_LINE="deb [signed-by=/usr/share/keyrings/coral-edgetpu-archive-keyring.gpg] https://packages.cloud.google.com/apt coral-edgetpu-stable main"
KEY_URL="https://packages.cloud.google.com/apt/doc/apt-key.gpg"
KEYRING="/usr/share/keyrings/coral-edgetpu-archive-keyring.gpg"
SOURCES="/etc/apt/sources.list.d/coral-edgetpu.list"
APEX_RULE='SUBSYSTEM=="apex", MODE="0660", GROUP="apex"'

runtime="libedgetpu1-std"
pcie=0
compiler=0
dry_run=0

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
    case "$arg" in
        --max) runtime="libedgetpu1-max" ;;
        --pcie) pcie=1 ;;
        --compiler) compiler=1 ;;
        --dry-run) dry_run=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "setup.sh: unknown option '$arg'; allowed: --max --pcie --compiler --dry-run --help" >&2; exit 2 ;;
    esac
done

# The account that gets device access: the one that ran sudo, else the current one.
target_user="${SUDO_USER:-$(id -un)}"

run() {
    # Print each command; run it unless --dry-run.
    printf '+ %s\n' "$*"
    if [ "$dry_run" -eq 0 ]; then
        "$@"
    fi
}

if [ "$dry_run" -eq 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup.sh: run it as root (sudo $0 $*), or with --dry-run to see the commands" >&2
        exit 2
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup.sh: this needs a Debian-based system (apt-get); see coral.ai/docs for others" >&2
        exit 2
    fi
fi

machine="$(uname -m)"
if [ "$compiler" -eq 1 ] && [ "$machine" != "x86_64" ]; then
    echo "setup.sh: edgetpu_compiler exists for x86-64 Linux only (this is $machine); compile on an" \
        "x86-64 machine or with Coral's web compiler (Colab) and copy the _edgetpu.tflite here" >&2
    exit 2
fi

echo "== Coral apt repository"
run apt-get update
run apt-get install -y curl gnupg ca-certificates
if [ "$dry_run" -eq 0 ]; then
    curl -fsSL "$KEY_URL" | gpg --dearmor --yes -o "$KEYRING"
    echo "$REPO_LINE" > "$SOURCES"
else
    printf '+ curl -fsSL %s | gpg --dearmor --yes -o %s\n' "$KEY_URL" "$KEYRING"
    printf "+ echo '%s' > %s\n" "$REPO_LINE" "$SOURCES"
fi
run apt-get update

echo "== Edge TPU runtime: $runtime"
if [ "$runtime" = "libedgetpu1-max" ]; then
    echo "note: libedgetpu1-max asks (debconf) to confirm the maximum clock; answer it on this terminal."
fi
run apt-get install -y "$runtime"

if [ "$pcie" -eq 1 ]; then
    echo "== Coral PCIe driver (gasket-dkms) and the apex group"
    run apt-get install -y gasket-dkms
    if [ "$dry_run" -eq 0 ]; then
        echo "$APEX_RULE" > /etc/udev/rules.d/65-apex.rules
    else
        printf "+ echo '%s' > /etc/udev/rules.d/65-apex.rules\n" "$APEX_RULE"
    fi
    run groupadd -f apex
    run usermod -aG apex "$target_user"
fi

echo "== USB access: the plugdev group (libedgetpu's udev rule grants it the device)"
run usermod -aG plugdev "$target_user"
run udevadm control --reload-rules
run udevadm trigger

if [ "$compiler" -eq 1 ]; then
    echo "== edgetpu_compiler"
    run apt-get install -y edgetpu-compiler
    run edgetpu_compiler --version
fi

cat <<EOF
== done
Next:
  - unplug and replug the USB Accelerator (or reboot for PCIe) so the udev rules apply, and log
    out and in so that $target_user's new group membership counts;
  - install edgekit's device runtime:  python3 -m venv ~/edgekit && ~/edgekit/bin/pip install edgekit
  - run a compiled model:  ~/edgekit/bin/python -c "from edgekit.runtime import load; \\
        print(load('model_int8_edgetpu.tflite', delegate='edgetpu', device='usb').inputs)"
Read devices/coral/README.md first: Coral's libedgetpu is built against TFLite 2.5, and newer
TFLite runtimes (ai-edge-litert included) are reported to crash with it.
EOF

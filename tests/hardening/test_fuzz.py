"""Property-based fuzzing (hypothesis): mutated .tflite files, manifests and labels files.

edgekit's own process never dies: every case ends in a result or an EdgekitError (a defined
exit code). CI runs at least 300 cases per target; set EDGEKIT_FUZZ_EXAMPLES=5000 for a
longer run on demand.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgekit.bench import TimingConfig, run_benchmark
from edgekit.convert.pipeline import read_labels
from edgekit.errors import BadInputError, EdgekitError
from edgekit.report.inspect import inspect_tflite
from edgekit.runtime import MANIFEST_METADATA_NAME, embed_metadata, load, read_manifest_bytes
from edgekit_testing import FIXTURES, assert_clean_error, run_cli

EXAMPLES = max(300, int(os.environ.get("EDGEKIT_FUZZ_EXAMPLES", "300")))
SEEDS = {name: (FIXTURES / name).read_bytes() for name in ("int8.tflite", "float32.tflite", "two_inputs.tflite")}
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = pytest.mark.slow


@st.composite
def mutated_tflite(draw) -> bytes:
    """A valid fixture with bit flips, a truncation and/or a tampered 32-bit offset."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    kind = draw(st.sampled_from(["flip", "truncate", "offset", "mix"]))
    if kind in ("flip", "mix"):
        for position in draw(st.lists(st.integers(0, len(data) * 8 - 1), min_size=1, max_size=12)):
            data[position // 8] ^= 1 << (position % 8)
    if kind in ("offset", "mix"):
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, (len(data) - 4) // 4)) * 4
            value = draw(st.one_of(st.integers(0, len(data) + 64), st.integers(0, 2**32 - 1)))
            data[at:at + 4] = struct.pack("<I", value)
    if kind in ("truncate", "mix"):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def _write(data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="edgekit-fuzz-"))
    path = folder / "fuzz.tflite"
    path.write_bytes(data)
    return path


@FUZZ
@given(mutated_tflite())
def test_inspect_never_dies(data):
    path = _write(data)
    try:
        info = inspect_tflite(path)
    except BadInputError as exc:
        assert "\n" not in exc.message and exc.message
    else:
        assert info["size_bytes"] == len(data)
        json.dumps(info)


@SLOW
@FUZZ
@given(mutated_tflite())
def test_bench_never_dies(data):
    """The CLI's path: probe in a child (crash isolation), then load and time in-process."""
    path = _write(data)
    try:
        result = run_benchmark([path], timing=TimingConfig(runs=2, min_time=0, warmup=1, warmup_time=0),
                               isolate=True)
    except EdgekitError as exc:
        assert exc.exit_code == 3 and "\n" not in exc.message
    else:
        assert result["models"][0]["latency"]["runs"] >= 2


@SLOW
@settings(max_examples=30, deadline=None, derandomize=True)
@given(mutated_tflite())
def test_cli_exit_codes_are_defined(data):
    path = _write(data)
    for command in (["inspect", path, "--json"], ["bench", path, "--runs", "2", "--min-time", "0", "--warmup-time", "0"]):
        result = run_cli(*command)
        if result.returncode != 0:
            assert_clean_error(result, 3)


@FUZZ
@given(st.one_of(st.binary(max_size=300), st.text(max_size=200).map(str.encode),
                 st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
                              lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
                              max_leaves=20).map(lambda v: json.dumps(v).encode())))
def test_embedded_manifest_parser(payload):
    data = embed_metadata(SEEDS["int8.tflite"], MANIFEST_METADATA_NAME, payload)
    try:
        manifest = read_manifest_bytes(data)
    except BadInputError as exc:
        assert "\n" not in exc.message
    else:
        assert manifest is None or isinstance(manifest, dict)
    try:
        model = load(_write(data))
    except BadInputError:
        pass
    else:
        assert model.predict(np.zeros((1, 8, 8, 3), np.float32)).shape == (1, 3)


@FUZZ
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "replace")))
def test_sidecar_manifest_and_labels_parsers(raw):
    folder = Path(tempfile.mkdtemp(prefix="edgekit-fuzz-"))
    (folder / "m.tflite").write_bytes(SEEDS["float32.tflite"])
    (folder / "m.json").write_bytes(raw)
    try:
        model = load(folder / "m.tflite")
    except BadInputError as exc:
        assert "\n" not in exc.message
    else:
        assert model.manifest is None or isinstance(model.manifest, dict)
    (folder / "labels.txt").write_bytes(raw)
    try:
        labels = read_labels(folder / "labels.txt")
    except BadInputError as exc:
        assert "\n" not in exc.message
    else:
        assert labels and all(label and label == label.strip() for label in labels)


TOML_PIECES = st.sampled_from([
    "[devices.rpi]\n", "host = \"pi@raspberrypi.local\"\n", "port = 22\n", "port = -1\n", "port = \"x\"\n",
    "profile = \"raspberrypi\"\n", "python = \"python3\"\n", "workdir = \"~/.cache/edgekit\"\n",
    "[groups]\n", "lab = [\"rpi\", \"rpi2\"]\n", "lab = \"rpi\"\n", "[ssh]\n", "config = \"/nope\"\n",
    "[devices]\n", "rpi = 3\n", "[[devices]]\n", "host = \"-oProxyCommand=evil\"\n", "= broken\n",
    "[devices.\"a b\"]\n", "unknown = true\n", "\x00", "[other]\n",
])


@FUZZ
@given(st.one_of(st.lists(TOML_PIECES, max_size=12).map("".join), st.text(max_size=200)),
       st.sampled_from(["rpi", "lab", "rpi,lab", "ssh://pi@127.0.0.1:2222", "ssh://[::1", "nope"]))
def test_inventory_parser(text, spec):
    from edgekit.devices.inventory import load_inventory, resolve_devices

    folder = Path(tempfile.mkdtemp(prefix="edgekit-fuzz-"))
    (folder / "edgekit.toml").write_text(text, encoding="utf-8", errors="replace")
    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(folder / "no-user-config")
    try:
        inventory = load_inventory(folder)
        devices = resolve_devices(spec, inventory)
    except EdgekitError as exc:
        assert exc.exit_code in (2, 3, 4) and "\n" not in exc.message
    else:
        assert devices and all(not d.host.startswith("-") for d in devices)
    finally:
        if old is None:
            os.environ.pop("XDG_CONFIG_HOME", None)
        else:
            os.environ["XDG_CONFIG_HOME"] = old

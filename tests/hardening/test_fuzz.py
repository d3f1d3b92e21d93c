"""Property-based fuzzing (hypothesis): mutated .tflite files, manifests and labels files.

edgekit's own process never dies: every case ends in a result or an EdgekitError (a defined
exit code). CI runs at least 300 cases per target; set EDGEKIT_FUZZ_EXAMPLES=5000 for a
longer run on demand.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgekit.artifact import Manifest, read_embedded
from edgekit.bench import TimingConfig, run_benchmark
from edgekit.convert.request import read_labels
from edgekit.errors import BadInputError, EdgekitError
from edgekit.report.console import render_bench, render_inspect
from edgekit.report.inspect import inspect_tflite
from edgekit.runtime import MANIFEST_METADATA_NAME, embed_metadata, load
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


@contextlib.contextmanager
def _written(data: bytes, name: str = "fuzz.tflite"):
    """`data` in a file of a fresh temp folder, removed when the example ends."""
    with tempfile.TemporaryDirectory(prefix="edgekit-fuzz-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield path


@FUZZ
@given(mutated_tflite())
def test_inspect_never_dies(data):
    with _written(data) as path:
        try:
            info = inspect_tflite(path)
        except BadInputError as exc:
            assert "\n" not in exc.message and exc.message
        else:
            assert info.info.size_bytes == len(data)
            json.dumps(info.to_json())
            render_inspect(info, show_tensors=True)


@SLOW
@FUZZ
@given(mutated_tflite())
def test_bench_never_dies(data):
    """The CLI's path: probe in a child (crash isolation), then load and time in-process."""
    with _written(data) as path:
        try:
            result = run_benchmark([path], timing=TimingConfig(runs=2, min_time=0, warmup=1, warmup_time=0),
                                   isolate=True)
        except EdgekitError as exc:
            assert exc.exit_code == 3 and "\n" not in exc.message
        else:
            assert result.models[0].latency.runs >= 2


@SLOW
@settings(max_examples=30, deadline=None, derandomize=True)
@given(mutated_tflite())
def test_cli_exit_codes_are_defined(data):
    with _written(data) as path:
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
        manifest = read_embedded(data)
    except BadInputError as exc:
        assert "\n" not in exc.message
    else:
        assert manifest is None or isinstance(manifest, Manifest)
    with _written(data) as path:
        try:
            model = load(path)
        except BadInputError:
            pass
        else:
            assert model.predict(np.zeros((1, 8, 8, 3), np.float32)).shape == (1, 3)


@FUZZ
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "replace")))
def test_sidecar_manifest_and_labels_parsers(raw):
    with _written(SEEDS["float32.tflite"], "m.tflite") as path:
        folder = path.parent
        (folder / "m.json").write_bytes(raw)
        try:
            model = load(folder / "m.tflite")
        except BadInputError as exc:
            assert "\n" not in exc.message
        else:
            assert model.manifest is None or isinstance(model.manifest, Manifest)
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

    with _written(text.encode("utf-8", "replace"), "edgekit.toml") as path:
        folder = path.parent
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


# --- realistic manifests, mutated, through bench and every renderer -----------------------

REAL_MANIFEST = json.loads((FIXTURES / "manifest_v1.json").read_text())
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() | st.text(max_size=12)
    | st.sampled_from(["inf", "nan", "int8", "", "edgekit.manifest/2"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node[:3]):
            yield from _paths(value, prefix + (i,))


ALL_PATHS = [p for p in _paths(REAL_MANIFEST) if p]


@st.composite
def mutated_manifest(draw) -> bytes:
    """The real schema-1 manifest with a few fields replaced by other JSON or removed."""
    data = copy.deepcopy(REAL_MANIFEST)
    if draw(st.booleans()):  # the same manifest as schema 2 writes it
        data = json.loads(json.dumps(Manifest.from_json(data).to_json()))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from([p for p in _paths(data) if p]))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.integers(0, 4)) == 0 and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return json.dumps(data, allow_nan=True).encode()


@SLOW
@FUZZ
@given(mutated_manifest(), st.booleans())
def test_mutated_manifests_through_bench_and_renderers(payload, as_sidecar):
    """A manifest is validated once where it enters; behind that, bench and the renderers read
    typed values and never crash, whatever the manifest held."""
    seed = SEEDS["int8.tflite"]
    content = seed if as_sidecar else embed_metadata(seed, MANIFEST_METADATA_NAME, payload)
    with _written(content, "m.tflite") as path:
        if as_sidecar:
            path.with_suffix(".json").write_bytes(payload)
        result = run_benchmark([path], timing=TimingConfig(runs=2, min_time=0, warmup=1, warmup_time=0))
        model = result.models[0]
        ignored = any("manifest ignored" in w for w in result.warnings)
        assert model.recipe is not None or ignored or as_sidecar  # a sidecar without our schema is not ours
        assert all("\n" not in w for w in result.warnings)
        render_bench(result)
        json.loads(result.dumps())
        info = inspect_tflite(path)
        render_inspect(info)
        assert info.manifest is None or info.manifest_problem is None
        try:
            from edgekit.report.html import render_bench_html
        except ImportError:
            return
        render_bench_html(result)

"""The second round of the bad-input catalogue: cases tried by an attacker and by a careless
user (issue "Hardening, second round"). Each asserts the exit code, one line naming the
problem, no traceback, and nothing left behind (and, for outputs, nothing replaced).
"""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest

from edgekit.errors import BadInputError, UsageError
from edgekit.runtime import MANIFEST_METADATA_NAME, embed_metadata, load
from edgekit_testing import FIXTURES, REPO, assert_clean_error, make_manifest, run_cli

INT8 = FIXTURES / "int8.tflite"
FAST = ["--runs", "2", "--min-time", "0", "--warmup-time", "0"]
X = np.random.default_rng(0).random((8, 8, 8, 3), dtype=np.float32)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _copy(src, dst):
    return _write(dst, src.read_bytes())


def _eval(d):
    np.savez(d / "e.npz", x=X, y=np.zeros(8, np.int64))
    return d / "e.npz"


def _fifo(path):
    os.mkfifo(path)
    return path


def _tree(d):
    """(relative path, mode) of everything under d, walked without recursion (a test below
    makes a folder 1000 levels deep)."""
    found, pending = [], [d]
    while pending:
        for entry in os.scandir(pending.pop()):
            path = d / os.path.relpath(entry.path, d)
            found.append((path.relative_to(d), entry.stat(follow_symlinks=False).st_mode))
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
    return sorted(found)


# --- outputs never replace what is not theirs ---------------------------------------------

OUTPUT_CASES = [
    ("-o is a FIFO", lambda d: ["bench", INT8, *FAST, "-o", _fifo(d / "pipe"), "--force"], 3,
     ["not a regular file"]),
    ("-o is /dev/null", lambda d: ["bench", INT8, *FAST, "-o", "/dev/null", "--force"], 3,
     ["/dev/null", "not a regular file"]),
    ("-o is the model benchmarked", lambda d: ["bench", _copy(INT8, d / "m.tflite"), *FAST, "-o",
                                                   d / "m.tflite", "--force"], 2, ["also an input"]),
    ("--save-reference is the data", lambda d: ["bench", INT8, *FAST, "--data", _eval(d), "--reference", INT8,
                                                "--save-reference", d / "e.npz", "--force"], 2, ["also an input"]),
    ("-o and --report are one file", lambda d: ["bench", INT8, *FAST, "-o", d / "out.x", "--report",
                                                    d / "out.x"], 2, ["named twice"]),
    ("-o in /proc", lambda d: ["bench", INT8, "--runs", "100000", "--min-time", "30", "-o",
                                   "/proc/x.json"], 3, ["/proc", "cannot write"]),
    ("--save-reference in /proc", lambda d: ["bench", INT8, *FAST, "--data", _eval(d), "--reference", INT8,
                                             "--save-reference", "/proc/r.npz"], 3, ["/proc"]),
    ("--report is a folder", lambda d: ["bench", INT8, *FAST, "--report", _mkdir(d / "rep"), "--force"], 3,
     ["rep", "not a regular file"]),
    ("convert -o names a folder ending in .tflite", lambda d: ["convert", _cnn(d), "--float32", "-o",
                                                               _mkdir(d / "x.tflite"), "--force"], 3,
     ["x.tflite", "not a regular file"]),
    ("convert over a folder named like its manifest", lambda d: ["convert", _cnn(d), "--float32", "-o",
                                                                 _mkdir_sibling(d), "--force"], 3,
     ["x.json", "not a regular file"]),
    ("demo --output in /proc", lambda d: ["demo", "--output", "/proc/d"], 3, ["/proc"]),
]


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def _mkdir_sibling(d):
    _mkdir(d / "x.json")
    return d / "x.tflite"


def _cnn(d):
    """A tiny Keras CNN (8x8x3 -> 3), made once and copied."""
    keras = pytest.importorskip("keras")
    cache = REPO / ".pytest-models"
    path = d / "cnn.keras"
    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x)).save(path)
    del cache
    return path


@pytest.mark.parametrize("name,setup,code,words", OUTPUT_CASES, ids=[c[0] for c in OUTPUT_CASES])
def test_outputs_are_checked_before_the_work_and_never_replace_what_is_not_theirs(tmp_path, name, setup,
                                                                                   code, words):
    argv = setup(tmp_path)
    before = _tree(tmp_path)
    result = run_cli(*argv, cwd=tmp_path, timeout=120)
    assert_clean_error(result, code, *words)
    assert _tree(tmp_path) == before
    assert "latency:" not in result.stderr, "the outputs must be refused before measuring"


@pytest.mark.skipif(os.geteuid() != 0, reason="making a character device node needs root")
def test_a_character_device_is_never_replaced(tmp_path):
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    result = run_cli("bench", INT8, *FAST, "-o", node, "--force", cwd=tmp_path)
    assert_clean_error(result, 3, "not a regular file")
    assert stat.S_ISCHR(node.stat().st_mode)


# --- numbers and arguments -------------------------------------------------------------

ARGUMENT_CASES = [
    ("--threads 50000", ["bench", INT8, *FAST, "--threads", "50000"], 2, ["--threads", "from 1 to 256"]),
    ("--runs 10^12", ["bench", INT8, "--runs", "1000000000000"], 2, ["--runs", "10,000,000"]),
    ("--min-time nan", ["bench", INT8, "--min-time", "nan"], 2, ["--min-time", "nan"]),
    ("--min-time inf", ["bench", INT8, "--min-time", "inf"], 2, ["--min-time", "inf"]),
    ("--warmup-time inf", ["bench", INT8, "--warmup-time", "inf"], 2, ["--warmup-time"]),
    ("--scale 0", ["convert", "MODEL", "--int8", "--calib", "IMAGES", "--scale", "0"], 2, ["--scale"]),
    ("--std 0,1,1", ["convert", "MODEL", "--int8", "--calib", "IMAGES", "--std", "0,1,1"], 2, ["--std", "0"]),
    ("--mean nan", ["convert", "MODEL", "--int8", "--calib", "IMAGES", "--mean", "nan"], 2, ["--mean", "finite"]),
    ("--input-shape 1x100000x100000x3", ["convert", "MODEL", "--float32", "--input-shape", "1x100000x100000x3"],
     2, ["--input-shape", "values per input"]),
    ("ssh://h:0", ["device", "check", "ssh://pi@127.0.0.1:0"], 2, ["port"]),
    ("ssh://h:99999", ["device", "check", "ssh://pi@127.0.0.1:99999"], 2, ["Port out of range"]),
]


@pytest.mark.parametrize("name,argv,code,words", ARGUMENT_CASES, ids=[c[0] for c in ARGUMENT_CASES])
def test_arguments_get_a_usage_error_before_any_work(tmp_path, name, argv, code, words):
    from PIL import Image

    _mkdir(tmp_path / "imgs")
    Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "imgs" / "a.png")
    argv = [a if a not in ("MODEL", "IMAGES") else (_cnn(tmp_path) if a == "MODEL" else tmp_path / "imgs")
            for a in argv]
    before = _tree(tmp_path)
    result = run_cli(*argv, cwd=tmp_path)
    assert_clean_error(result, code, *words)
    assert _tree(tmp_path) == before


def test_fifos_as_model_or_data_are_refused_without_waiting(tmp_path):
    pipe = _fifo(tmp_path / "m.tflite")
    assert_clean_error(run_cli("bench", pipe, *FAST, timeout=60), 3, "not a regular file")
    assert_clean_error(run_cli("inspect", pipe, timeout=60), 3, "not a regular file")
    keras_pipe = _fifo(tmp_path / "m.keras")
    assert_clean_error(run_cli("convert", keras_pipe, "--float32", timeout=60), 3, "not a regular file")
    calib = _fifo(tmp_path / "c.npy")
    assert_clean_error(run_cli("convert", _cnn(tmp_path), "--int8", "--calib", calib, timeout=60), 3,
                       "not a regular file")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# --- manifests are untrusted input --------------------------------------------------------

def _embedded(d, payload: bytes, name="m.tflite"):
    return _write(d / name, embed_metadata(INT8.read_bytes(), MANIFEST_METADATA_NAME, payload))


BAD_MANIFESTS = {
    "recipe a string": {"schema": "edgekit.manifest/1", "recipe": "int8"},
    "source not an object": make_manifest().to_json() | {"source": "x.keras"},
    "verification not an object": make_manifest().to_json() | {"verification": [1, 2]},
    "numeric labels": make_manifest().to_json() | {"labels": [1, 2, 3]},
    "preprocessing a string": make_manifest().to_json() | {"preprocessing": "rgb"},
    "scale not a number": make_manifest().to_json() | {"preprocessing": {"scale": "abc", "mean": [0], "std": [1]}},
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_a_manifest_of_the_wrong_types_is_ignored_with_one_line(tmp_path, case):
    model = _embedded(tmp_path, json.dumps(BAD_MANIFESTS[case]).encode())
    bench = run_cli("bench", model, *FAST, "--json")
    assert bench.returncode == 0, bench.stderr
    data = json.loads(bench.stdout)
    assert data["models"][0]["recipe"] is None
    assert any("manifest ignored" in w for w in data["warnings"])
    inspect = run_cli("inspect", model)
    assert inspect.returncode == 0 and "manifest not used" in inspect.stdout and "Traceback" not in inspect.stderr


def test_a_sidecar_whose_recipe_is_a_list_and_deep_nesting(tmp_path):
    model = _copy(FIXTURES / "float32.tflite", tmp_path / "m.tflite")
    (tmp_path / "m.json").write_text(json.dumps(make_manifest().to_json() | {"recipe": ["int8"]}))
    result = run_cli("bench", model, *FAST, "--json")
    assert result.returncode == 0 and any("recipe" in w for w in json.loads(result.stdout)["warnings"])
    deep = '{"schema": "edgekit.manifest/2", "training": ' + "[" * 100_000 + "]" * 100_000 + "}"
    nested = _embedded(tmp_path, deep.encode(), "deep.tflite")
    result = run_cli("bench", nested, *FAST, "--json")
    assert result.returncode == 0 and any("nested too deeply" in w for w in json.loads(result.stdout)["warnings"])
    assert load(nested).manifest is None


# --- names that are not UTF-8 -----------------------------------------------------------

def _rename_first_tensor(content: bytes, name: bytes) -> bytes:
    from edgekit.runtime.tflite_file import _pack, _unpack, flatbuffer_schema

    model = _unpack(content, "m")
    model.subgraphs[0].tensors[0].name = name
    model.signatureDefs = []  # the signature would otherwise name the tensor in UTF-8
    return _pack(model, flatbuffer_schema(), len(content))


def test_a_tensor_name_that_is_not_utf8_is_bad_input(tmp_path):
    bad = _write(tmp_path / "m.tflite", _rename_first_tensor(INT8.read_bytes(), b"in\xfe\xff"))
    try:
        model = load(bad)
    except BadInputError as exc:
        assert "\n" not in exc.message
    else:  # the interpreter decoded it with replacement characters: then it must run
        assert model.predict(X[:1]).shape == (1, 3)
    result = run_cli("bench", bad, *FAST)
    assert result.returncode in (0, 3) and "Traceback" not in result.stderr


def test_a_file_name_that_is_not_utf8(tmp_path):
    name = os.fsdecode(b"ok\xfe.keras")
    (tmp_path / name).write_bytes(b"not a zip")
    result = subprocess.run([sys.executable, "-m", "edgekit", "convert", name, "--float32"], cwd=tmp_path,
                            capture_output=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 3, err
    assert "Traceback" not in err and "internal error" not in err and len(err.strip().splitlines()) == 1


# --- silently wrong data ------------------------------------------------------------------

def test_16_bit_pngs_keep_their_values(tmp_path):
    from PIL import Image

    from edgekit.data import load_data

    folder = _mkdir(tmp_path / "imgs")
    values = np.linspace(624, 39321, 64).reshape(8, 8).astype(np.uint16)
    Image.fromarray(values).save(folder / "a.png")
    assert Image.open(folder / "a.png").mode == "I;16"
    x = load_data(folder, (1, 8, 8, 1), scale=1.0).x[0, ..., 0]
    np.testing.assert_allclose(x, np.rint(values / 65535 * 255), atol=0)
    assert x.min() == 2 and x.max() == 153  # not 255 everywhere


# --- a model that fails only on real data ---------------------------------------------------

@pytest.fixture(scope="module")
def gather_model(tmp_path_factory):
    """A float model whose GATHER index comes from its input: fine on zeros, out of range on
    the data below."""
    tf = pytest.importorskip("tensorflow")
    folder = tmp_path_factory.mktemp("gather")
    table = tf.constant(np.arange(12, dtype=np.float32).reshape(4, 3))

    @tf.function(input_signature=[tf.TensorSpec((1, 1), tf.float32)])
    def lookup(x):
        return tf.gather(table, tf.cast(x[:, 0], tf.int32))

    converter = tf.lite.TFLiteConverter.from_concrete_functions([lookup.get_concrete_function()], lookup)
    path = _write(folder / "gather.tflite", converter.convert())
    np.savez(folder / "data.npz", x=np.array([[1.0], [7.0]], np.float32))
    return path, folder / "data.npz"


@pytest.mark.convert
def test_an_interpreter_failure_on_the_data_is_bad_input(gather_model):
    path, data = gather_model
    model = load(path)
    assert model.predict(np.array([[1.0]], np.float32)).shape == (1, 3)
    with pytest.raises(BadInputError, match="failed in the interpreter on this input"):
        model.predict(np.array([[9.0]], np.float32))
    assert_clean_error(run_cli("bench", path, *FAST, "--data", data), 3, "gather.tflite", "interpreter")


# --- one model shared by threads ----------------------------------------------------------

def test_one_model_shared_by_32_threads_gives_each_its_own_answer():
    model = load(FIXTURES / "float32.tflite")
    inputs = np.random.default_rng(1).random((32, 1, 8, 8, 3), dtype=np.float32)
    expected = [model.predict(x) for x in inputs]
    results, errors = [None] * 32, []

    def work(i):
        try:
            for _ in range(50):
                results[i] = model.predict(inputs[i])
                np.testing.assert_array_equal(results[i], expected[i])
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


# --- untrusted sizes and shapes ------------------------------------------------------------

def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels (its data is not even there)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _npy_claiming(path, shape):
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return _write(path, buffer.getvalue() + b"\0" * 512)


def _deep_folder(d):
    """imgs/cls/d/d/.../d, 1000 levels (made and later removed without recursion)."""
    deep = d / "imgs" / "cls"
    deep.mkdir(parents=True)
    for _ in range(1000):
        deep = deep / "d"
        os.mkdir(deep)
    return d / "imgs"


def _remove_deep(d):
    """Remove the 1000-level folder from the bottom up (shutil.rmtree recurses per level)."""
    top = d / "imgs"
    if not (top / "cls").is_dir():
        return
    while True:
        deepest = top
        while True:
            subs = [e for e in os.scandir(deepest) if e.is_dir(follow_symlinks=False)]
            if not subs:
                break
            deepest = deepest / subs[0].name
        if deepest == top:
            break
        os.rmdir(deepest)
    os.rmdir(top)


def _deep_keras(d):
    import zipfile

    path = d / "deep.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
        archive.writestr("metadata.json", "{}")
    return path


def _h5_int_config(d):
    h5py = pytest.importorskip("h5py")
    path = d / "weird.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = np.arange(10)
    return path


def _deep_inventory(d):
    (d / "edgekit.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    return ["devices", "list"]


def _edited_tflite(d, edit, name):
    from edgekit.runtime.tflite_file import _pack, _unpack, flatbuffer_schema

    model = _unpack(INT8.read_bytes(), "m")
    edit(model)
    return _write(d / name, _pack(model, flatbuffer_schema(), 4096))


def _no_outputs(model):
    model.subgraphs[0].outputs = []
    model.signatureDefs = []


def _zero_batch(model):
    sub = model.subgraphs[0]
    sub.tensors[sub.inputs[0]].shape = np.array([0, 8, 8, 3], np.int32)
    model.signatureDefs = []


SIZE_CASES = [
    ("config.json nested 100,000 deep", lambda d: ["convert", _deep_keras(d), "--float32"], 3, ["nested"]),
    ("h5 model_config an int array", lambda d: ["convert", _h5_int_config(d), "--float32"], 3, ["not JSON text"]),
    (".npy claiming 10^12 samples", lambda d: ["convert", _cnn(d), "--int8", "--calib",
                                               _npy_claiming(d / "c.npy", (10**12, 8, 8, 3))], 3, ["claims", "c.npy"]),
    (".npz claiming 10^12 samples", lambda d: ["bench", INT8, *FAST, "--data", _npz_claiming(d)], 3, ["claims"]),
    ("a 20000x20000 PNG", lambda d: ["convert", _cnn(d), "--int8", "--calib",
                                     _write(_mkdir(d / "imgs") / "big.png", _png_header(20000, 20000)).parent], 3,
     ["big.png", "too large"]),
    ("a class folder 1000 levels deep", lambda d: ["convert", _cnn(d), "--int8", "--calib", _deep_folder(d)], 3,
     ["levels deep"]),
    ("a .tflite with no outputs", lambda d: ["bench", _edited_tflite(d, _no_outputs, "o.tflite"), *FAST], 3,
     ["no outputs"]),
    ("a .tflite with a zero batch and --data", lambda d: ["bench", _edited_tflite(d, _zero_batch, "z.tflite"), *FAST,
                                                          "--data", _eval(d)], 3, ["0"]),
    ("an inventory nested 100,000 deep", _deep_inventory, 3, ["edgekit.toml", "deeply"]),
    ("connect_timeout = inf", lambda d: _inventory_with(d, "connect_timeout = inf"), 3, ["connect_timeout"]),
    ("connect_timeout = nan", lambda d: _inventory_with(d, "connect_timeout = nan"), 3, ["connect_timeout"]),
]


def _npz_claiming(d):
    import zipfile

    npy = _npy_claiming(d / "x.npy", (10**12, 8, 8, 3))
    with zipfile.ZipFile(d / "e.npz", "w") as archive:
        archive.write(npy, "x.npy")
    npy.unlink()
    return d / "e.npz"


def _inventory_with(d, line: str):
    (d / "edgekit.toml").write_text(f'[devices.rpi]\nhost = "pi@127.0.0.1"\n{line}\n')
    return ["devices", "list"]


@pytest.mark.parametrize("name,setup,code,words", SIZE_CASES, ids=[c[0] for c in SIZE_CASES])
def test_untrusted_sizes_and_shapes_are_bad_input(tmp_path, tmp_path_factory, monkeypatch, name, setup, code,
                                                  words):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("no-user-config")))
    argv = setup(tmp_path)
    before = _tree(tmp_path)
    try:
        result = run_cli(*argv, cwd=tmp_path, timeout=300)
        assert_clean_error(result, code, *words)
        assert _tree(tmp_path) == before
    finally:
        _remove_deep(tmp_path)


@pytest.mark.convert
def test_a_string_input_model_is_refused_in_one_line(tmp_path):
    keras = pytest.importorskip("keras")
    text = keras.Input((1,), dtype="string", name="text")
    keras.Model(text, keras.layers.StringLookup(vocabulary=["a", "b"])(text)).save(tmp_path / "s.keras")
    result = run_cli("convert", tmp_path / "s.keras", "--float32", cwd=tmp_path)
    assert_clean_error(result, 3, "'text'", "string", "numeric inputs")
    assert len(result.stderr.splitlines()) <= 3  # one error line, no tensor dump


# --- classification of errors and their messages --------------------------------------------

def _custom_module(d, body: str):
    return _write(d / "layers.py", body.encode())


@pytest.mark.parametrize("body,words", [
    ("import sys\nsys.exit(0)\n", ["sys.exit(0)"]),
    ("raise SystemExit('boom')\n", ["sys.exit('boom')"]),
])
def test_a_custom_objects_module_that_exits_does_not_end_edgekit(tmp_path, body, words):
    result = run_cli("convert", _cnn(tmp_path), "--float32", "--custom-objects", _custom_module(tmp_path, body),
                     cwd=tmp_path)
    assert_clean_error(result, 3, "--custom-objects", *words)
    assert not list(tmp_path.glob("*.tflite"))


def test_a_newline_in_a_path_keeps_the_error_on_one_line(tmp_path):
    result = run_cli("inspect", tmp_path / "two\nlines.tflite")
    assert_clean_error(result, 3, "not found")
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1


def test_python_api_misuse_is_a_usage_error():
    for bad in (b"abc", None, 42):
        with pytest.raises(UsageError, match="`path` is the path of a .tflite file"):
            load(bad)
    model = load(FIXTURES / "float32.tflite")
    nested = X[:2].tolist()  # a correctly shaped nested list is the batch itself
    np.testing.assert_allclose(model.predict(nested), model.predict(X[:2]), rtol=1e-6)


def test_a_manifest_error_does_not_blame_flags_the_user_never_passed(tmp_path):
    data = make_manifest().to_json() | {"preprocessing": {"scale": 1.0, "mean": [0.0], "std": [0.0]}}
    model = _embedded(tmp_path, json.dumps(data).encode())
    result = run_cli("bench", model, *FAST, "--json")
    warning = next(w for w in json.loads(result.stdout)["warnings"] if "manifest" in w)
    assert "--std" not in warning and "std must not contain 0" in warning


# --- the safety scan, defence in depth ------------------------------------------------------

def _config_keras(d, config: dict):
    import zipfile

    path = d / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
    return path


def _dense_config(activation):
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "in"}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2,
                                                                      "activation": activation}}]}}


@pytest.mark.parametrize("activation,words", [
    ({"module": "builtins", "class_name": "__lambda__", "config": {"code": "YWJj", "defaults": None,
                                                                    "closure": None}}, ["__lambda__"]),
    ({"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization",
      "registered_name": "function"}, ["enable_unsafe_deserialization"]),
])
def test_the_scan_refuses_code_that_keras_safe_mode_would_also_refuse(tmp_path, activation, words):
    path = _config_keras(tmp_path, _dense_config(activation))
    assert_clean_error(run_cli("convert", path, "--float32", cwd=tmp_path), 3, "refusing to load", *words)

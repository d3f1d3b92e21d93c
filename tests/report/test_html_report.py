"""The HTML benchmark report: a self-contained page whose plots put the numbers where they belong.

Result dicts are built here with synthetic latencies (fixed seeds); no TensorFlow, no interpreter.
The page is walked with the standard library's html.parser.
"""

from __future__ import annotations

import math
from html.parser import HTMLParser

import numpy as np
import pytest

from edgekit.report.html import nice_ticks, render_bench_html, write_bench_html

ODD_NAME = "a<b>&c.tflite"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# --- building results -------------------------------------------------------------------


def _latency(samples_ns: np.ndarray) -> dict:
    ms = samples_ns.astype(np.float64) / 1e6
    mean, std = float(ms.mean()), float(ms.std(ddof=1)) if ms.size > 1 else 0.0
    stats = {f"p{q}_ms": float(np.percentile(ms, q)) for q in (50, 90, 99)}
    return {"runs": int(ms.size), "min_ms": float(ms.min()), "mean_ms": mean, **stats,
            "max_ms": float(ms.max()), "std_ms": std, "cv": std / mean, "throughput_per_s": 1000 / mean}


def make_model(name, size_bytes, p50_ms, *, seed, accuracy=0.97, verdict="PASS", n=3000,
               spread=0.08, recipe="int8", samples=None, snr_db=35.2) -> dict:
    rng = np.random.default_rng(seed)
    if samples is None:
        samples = (rng.lognormal(math.log(p50_ms * 1e6), spread, n)).astype(np.int64)
    samples = np.asarray(samples, dtype=np.int64)
    latency = _latency(samples) if samples.size else {}
    return {
        "name": name, "path": f"/models/{name}", "size_bytes": size_bytes, "backend": "litert",
        "threads": None, "recipe": recipe, "inputs": [], "outputs": [], "load_ms": 2.1,
        "first_invoke_ms": 0.3, "warmup_runs": 40, "latency": latency,
        **{k: latency.get(k) for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms")},
        "samples_ns": samples.tolist(), "interrupted": False, "rss_growth_mib": 1.2, "peak_rss_mib": 300.0,
        "accuracy": accuracy, "top5_accuracy": None if accuracy is None else 0.999,
        "agreement": None if accuracy is None else 0.995, "max_abs_error": 0.01, "rmse": 0.002,
        "snr_db": snr_db, "cosine": 0.9999, "verdict": verdict,
        "verdict_reason": "the reference" if verdict is None else f"accuracy {verdict.lower()}",
        "vs_first": {"size_ratio": 1.0, "speedup": 1.0, "accuracy_delta": 0.0},
    }


def make_result(models, *, warnings=(), interrupted=False, reference_accuracy=0.97) -> dict:
    first = models[0]
    for m in models:
        m["vs_first"] = {
            "size_ratio": m["size_bytes"] / first["size_bytes"],
            "speedup": first["p50_ms"] / m["p50_ms"] if m["p50_ms"] and first["p50_ms"] else None,
            "accuracy_delta": None if m["accuracy"] is None or first["accuracy"] is None
            else m["accuracy"] - first["accuracy"],
        }
    has_acc = any(m["accuracy"] is not None for m in models)
    return {
        "schema": "edgekit.bench/1", "created": "2026-11-22T03:30:00+00:00", "edgekit_version": "0.1.0",
        "system": {"machine": "aarch64", "system": "Linux", "release": "6.6.31+rpt-rpi-2712",
                   "os": "Debian GNU/Linux 12 (bookworm)", "python": "3.11.2",
                   "cpu_model": "Cortex-A76", "cpu_count": 4, "board": "Raspberry Pi 5 Model B Rev 1.0",
                   "governors": ["ondemand"], "throttled": "0x0", "executable": "/usr/bin/python3"},
        "config": {"runs": 100, "min_time_s": 1.0, "warmup": 10, "warmup_time_s": 0.5, "max_runs": 100000,
                   "threads": None, "backend": "auto", "min_relative_accuracy": 0.99},
        "data": {"source": "eval.npz", "kind": "npz", "n": 450, "shape": [450, 8, 8, 1],
                 "has_labels": has_acc} if has_acc else None,
        "reference": {"kind": "first-model", "path": first["path"],
                      "accuracy": reference_accuracy if has_acc else None},
        "models": models, "warnings": list(warnings), "interrupted": interrupted,
    }


def three_models() -> dict:
    return make_result([
        make_model("m_float32.tflite", 156_000, 1.20, seed=1, accuracy=0.9711, verdict=None,
                   recipe="float32", snr_db="inf"),
        make_model(ODD_NAME, 44_000, 0.55, seed=2, accuracy=0.9689, verdict="PASS"),
        make_model("m_int16x8.tflite", 80_000, 0.90, seed=3, accuracy=0.9400, verdict="FAIL", spread=0.2),
    ], warnings=["CPU frequency governor is ondemand, not 'performance': latencies include ramp-up"])


# --- walking the page -------------------------------------------------------------------


class Page(HTMLParser):
    """Every element with its attributes, its text (descendants included) and its ancestors."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements, self.stack, self.decls, self.unbalanced = [], [], [], []
        self.feed(text)
        self.close()

    def handle_decl(self, decl):
        self.decls.append(decl)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": "", "ancestors": list(self.stack)}
        self.elements.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1]["tag"] != tag:
            self.unbalanced.append(tag)
            return
        self.stack.pop()

    def handle_data(self, data):
        for element in self.stack:
            element["text"] += data

    def find(self, css=None, tag=None, within=None) -> list[dict]:
        return [e for e in self.elements
                if (css is None or css in e["attrs"].get("class", "").split())
                and (tag is None or e["tag"] == tag)
                and (within is None or any(a is within for a in e["ancestors"]))]

    def svgs(self) -> list[dict]:
        return self.find(tag="svg")


def parse(result: dict) -> tuple[str, Page]:
    text = render_bench_html(result)
    return text, Page(text)


def axis_map(page: Page, svg: dict, axis: str):
    """pixel -> value along the x or y axis of `svg`, read back from its labelled ticks."""
    labels = page.find(css="tick-label", within=svg)
    ticks = [(float(e["attrs"][axis]), float(e["text"])) for e in labels if axis in e["attrs"]["class"].split()]
    assert len(ticks) >= 2, ticks
    if axis == "y":  # the label sits 4 px below its grid line, on the baseline
        ticks = [(px - 4, value) for px, value in ticks]
    (p0, v0), (p1, v1) = ticks[0], ticks[-1]
    per_px = (v1 - v0) / (p1 - p0)
    return (lambda px: v0 + (px - p0) * per_px), abs(per_px)


# --- the page as a whole ----------------------------------------------------------------


def test_page_is_balanced_html5_with_two_plots():
    text, page = parse(three_models())
    assert page.decls == ["DOCTYPE html"]
    assert not page.unbalanced and not page.stack
    assert [e["tag"] for e in page.elements[:3]] == ["html", "head", "meta"]
    svgs = page.svgs()
    assert len(svgs) == 2
    for svg in svgs:
        assert {"width", "height", "viewbox"} <= svg["attrs"].keys()
        assert page.find(tag="title", within=svg)
    latency, accuracy = svgs
    assert len(page.find(css="box", within=latency)) == 3
    assert len(page.find(css="median", within=latency)) == 3
    assert len(page.find(css="hist", within=latency)) == 3
    assert len(page.find(css="point", within=accuracy)) == 3
    # every box and point carries hover text
    for group in page.find(css="box") + page.find(css="point"):
        assert any(e["tag"] == "title" for e in page.find(within=group))


def test_sections_come_in_order():
    text, _ = parse(three_models())
    order = ["<h1>", "Machine", "class=\"warnings\"", "<table>", "svg class=\"plot latency\"",
             "svg class=\"plot accuracy\"", "Configuration", "How to read this page"]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_self_contained():
    text, page = parse(three_models())
    lower = text.lower()
    for banned in ("http://", "https://", "<script", "<link", "@import", "url("):
        assert banned not in lower, banned
    assert page.find(tag="style")
    assert not any(k.startswith("on") for e in page.elements for k in e["attrs"])


def test_model_names_are_escaped():
    text, page = parse(three_models())
    assert "a<b>" not in text and "&c.tflite" not in text.replace("&amp;c.tflite", "")
    assert "a&lt;b&gt;&amp;c.tflite" in text
    # decoded back, the name is in the table, the latency row label and the scatter label
    cells = [e for e in page.find(tag="td") if e["text"].strip().startswith(ODD_NAME)]
    assert len(cells) == 1
    assert any(e["text"].endswith(ODD_NAME) for e in page.find(css="row-label"))
    assert any(e["text"] == ODD_NAME for e in page.find(css="point-label"))


def test_badges_warnings_and_machine():
    _, page = parse(three_models())
    assert [e["text"] for e in page.find(css="pass")] == ["PASS"]
    assert [e["text"] for e in page.find(css="fail")] == ["FAIL"]
    assert [e["text"] for e in page.find(css="ref")] == ["REF"]
    (warning,) = page.find(css="warning")
    assert "not 'performance'" in warning["text"]
    assert not page.find(css="interrupted")
    (machine,) = page.find(css="machine")
    for fact in ("aarch64", "Debian GNU/Linux 12", "Cortex-A76", "Raspberry Pi 5", "ondemand", "0x0", "3.11.2"):
        assert fact in machine["text"], fact
    assert page.find(css="bad", tag="dd")  # the ondemand governor is flagged


def test_table_numbers_are_right_aligned_and_formatted():
    result = three_models()
    _, page = parse(result)
    header = [e["text"] for e in page.find(tag="th")]
    assert header[:5] == ["model", "recipe", "size KiB", "size vs first", "p50 ms"]
    rows = page.find(tag="tr", within=page.find(tag="tbody")[0])
    assert len(rows) == 3
    cells = [[e for e in page.find(tag="td", within=row)] for row in rows]
    for row in cells:
        assert all("num" in c["attrs"].get("class", "") for c in row[2:-1])
    odd = [c["text"] for c in cells[1]]
    model = result["models"][1]
    assert odd[2] == f"{44_000 / 1024:,.1f}"
    assert odd[3] == f"{44_000 / 156_000:.2f}\u00d7"
    assert odd[4] == f"{model['p50_ms']:.3f}"
    assert odd[8] == f"{result['models'][0]['p50_ms'] / model['p50_ms']:.2f}\u00d7"
    assert odd[9] == "96.89" and odd[12] == "-0.22"
    assert "neg" in cells[1][12]["attrs"]["class"]
    assert cells[0][13]["text"] == "\u221e"  # snr_db "inf"
    assert odd[13] == "35.2"


def test_median_and_box_map_back_to_the_percentiles():
    result = three_models()
    _, page = parse(result)
    svg = page.svgs()[0]
    to_ms, ms_per_px = axis_map(page, svg, "x")
    medians = page.find(css="median", within=svg)
    boxes = page.find(css="iqr", within=svg)
    for model, median, box in zip(result["models"], medians, boxes):
        ms = np.asarray(model["samples_ns"]) / 1e6
        assert median["attrs"]["x1"] == median["attrs"]["x2"]
        assert abs(to_ms(float(median["attrs"]["x1"])) - model["p50_ms"]) <= ms_per_px
        left, width = float(box["attrs"]["x"]), float(box["attrs"]["width"])
        assert abs(to_ms(left) - np.percentile(ms, 25)) <= ms_per_px
        assert abs(to_ms(left + width) - np.percentile(ms, 75)) <= ms_per_px
    # the fastest model's median sits left of the slowest one's
    xs = [float(m["attrs"]["x1"]) for m in medians]
    assert xs[1] < xs[2] < xs[0]


def test_scatter_points_map_back_to_size_and_accuracy():
    result = three_models()
    _, page = parse(result)
    svg = page.svgs()[1]
    to_kib, kib_per_px = axis_map(page, svg, "x")
    to_pct, pct_per_px = axis_map(page, svg, "y")
    circles = page.find(tag="circle", within=svg)
    assert len(circles) == 3
    for model, circle in zip(result["models"], circles):
        assert abs(to_kib(float(circle["attrs"]["cx"])) - model["size_bytes"] / 1024) <= kib_per_px
        assert abs(to_pct(float(circle["attrs"]["cy"])) - 100 * model["accuracy"]) <= pct_per_px
    assert page.find(css="ref-line", within=svg) and page.find(css="bound-line", within=svg)
    (bound,) = [e for e in page.find(css="ref-label", within=svg) if "PASS" in e["text"]]
    assert f"{100 * 0.99 * 0.97:.2f}%" in bound["text"]


# --- edge cases -------------------------------------------------------------------------


def test_single_model():
    result = make_result([make_model("only.tflite", 50_000, 0.8, seed=4, verdict=None)])
    _, page = parse(result)
    latency, accuracy = page.svgs()
    assert len(page.find(css="box", within=latency)) == 1
    assert len(page.find(css="point", within=accuracy)) == 1


def test_identical_latencies_and_accuracies():
    same = np.full(500, 1_000_000)
    result = make_result([
        make_model("x.tflite", 10_000, 1.0, seed=5, samples=same, accuracy=0.9, verdict=None),
        make_model("y.tflite", 10_000, 1.0, seed=6, samples=same, accuracy=0.9),
    ], reference_accuracy=None)
    _, page = parse(result)
    latency = page.svgs()[0]
    to_ms, ms_per_px = axis_map(page, latency, "x")
    for median in page.find(css="median", within=latency):
        assert abs(to_ms(float(median["attrs"]["x1"])) - 1.0) <= ms_per_px
    for box in page.find(css="iqr", within=latency):
        assert float(box["attrs"]["width"]) >= 1.0  # still drawn, not a zero-width rect
    assert len(page.find(css="point")) == 2


def test_no_accuracy_shows_a_note_instead_of_the_scatter():
    result = make_result([make_model("a.tflite", 10_000, 1.0, seed=7, accuracy=None, verdict=None),
                          make_model("b.tflite", 5_000, 0.5, seed=8, accuracy=None, verdict=None)])
    for m in result["models"]:
        m["verdict_reason"] = "no verdict: needs labelled --data and a reference"
        m["snr_db"] = None
    text, page = parse(result)
    assert len(page.svgs()) == 1
    assert "no labelled --data: accuracy not measured" in text
    assert not page.find(css="point") and not page.find(css="badge")
    assert "none: latency measured on zeros" in text


def test_interrupted_run_with_a_model_that_has_no_samples():
    result = make_result([make_model("a.tflite", 10_000, 1.0, seed=9, verdict=None),
                          make_model("b.tflite", 5_000, 0.5, seed=10, samples=[])], interrupted=True)
    result["models"][1]["interrupted"] = True
    _, page = parse(result)
    (banner,) = page.find(css="interrupted")
    assert "partial results" in banner["text"].lower()
    latency = page.svgs()[0]
    assert len(page.find(css="box", within=latency)) == 1
    (note,) = page.find(css="nosamples", within=latency)
    assert "no latency samples" in note["text"]
    assert page.find(css="tag")[0]["text"] == "partial"


def test_nothing_measured_at_all():
    result = make_result([make_model("a.tflite", 10_000, 1.0, seed=11, samples=[], accuracy=None)])
    result.update(models=[], interrupted=True, system={}, config={}, reference=None, data=None)
    text, page = parse(result)
    assert not page.svgs() and "No model was measured" in text


def test_missing_and_odd_values_render_as_dashes():
    result = three_models()
    model = result["models"][2]
    model.update(recipe=None, accuracy=None, top5_accuracy=None, agreement=None, snr_db=float("inf"),
                 vs_first={"size_ratio": 0.5, "speedup": None, "accuracy_delta": None})
    result["system"].update(board=None, governors=[], throttled=None, cpu_model=None)
    _, page = parse(result)
    rows = page.find(tag="tr", within=page.find(tag="tbody")[0])
    cells = [e["text"] for e in page.find(tag="td", within=rows[2])]
    assert cells[1] == cells[8] == cells[9] == cells[12] == "\u2013"
    assert cells[13] == "\u221e"
    assert len(page.find(css="point")) == 2


def test_a_hundred_thousand_samples_stay_small():
    models = [make_model(f"m{i}.tflite", 10_000 * (i + 1), 0.2 * (i + 1), seed=20 + i, n=100_000)
              for i in range(3)]
    result = make_result(models)
    text = render_bench_html(result)
    assert len(text) < 100_000  # samples are summarised, never dumped into the page
    assert len(Page(text).find(css="box")) == 3


# --- ticks and writing ------------------------------------------------------------------


@pytest.mark.parametrize("lo, hi", [(0.31, 1.27), (96.5, 97.3), (0.0041, 0.0067), (0, 156.25),
                                    (1.0, 1.0), (0.0, 0.0), (12_000, 980_000), (-3, 7)])
def test_nice_ticks_are_round_and_cover_the_range(lo, hi):
    ticks = nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi and len(ticks) >= 2
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 5, 10))
    assert np.allclose(np.diff(ticks), step, rtol=1e-6)
    assert 2 <= len(ticks) <= 12


def test_write_bench_html_writes_the_page(tmp_path):
    result = three_models()
    path = write_bench_html(result, tmp_path / "bench.html")
    assert path.read_text(encoding="utf-8") == render_bench_html(result)
    assert [p.name for p in tmp_path.iterdir()] == ["bench.html"]  # no temp file left behind

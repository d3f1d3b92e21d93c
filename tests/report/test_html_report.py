"""The HTML benchmark report: a self-contained page that answers "which model do I ship" first.

Typed results are built here with synthetic latencies (report_builders.py, fixed seeds): no
TensorFlow, no interpreter. The page is walked with the standard library's html.parser; the
charts' numbers are read back from the SVG that matplotlib wrote (tick labels and marker
positions). The layout in a real browser is checked in test_report_browser.py.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from edgekit.errors import MissingDependencyError
from edgekit_testing import REPO
from report_builders import ODD_NAME, five_models, fleet, model, result, three_models

pytest.importorskip("matplotlib", reason="the report needs edgekit[report] (matplotlib)")

from edgekit.report.fleet import render_fleet_html  # noqa: E402
from edgekit.report.html import render_bench_html, write_bench_html  # noqa: E402
from edgekit.report.summary import summarize  # noqa: E402

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


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

    def find(self, css=None, tag=None, within=None, id=None) -> list[dict]:
        return [e for e in self.elements
                if (css is None or css in e["attrs"].get("class", "").split())
                and (tag is None or e["tag"] == tag)
                and (id is None or e["attrs"].get("id") == id)
                and (within is None or any(a is within for a in e["ancestors"]))]

    def one(self, **how) -> dict:
        found = self.find(**how)
        assert len(found) == 1, (how, len(found))
        return found[0]

    def rows(self, table_css: str) -> list[list[dict]]:
        table = self.one(tag="table", css=table_css)
        return [self.find(tag="td", within=row) for row in self.find(tag="tr", within=table)[1:]]


def parse(res) -> tuple[str, Page]:
    text = render_bench_html(res)
    return text, Page(text)


def cell_text(cell: dict) -> str:
    return " ".join(cell["text"].split())


# --- reading numbers back from the charts ---------------------------------------------------


def tick_map(page: Page, chart: str, axis: str, log: bool):
    """pixel -> value along `axis` of `chart`, fitted through its labelled ticks."""
    pairs = []
    for k in range(1, 30):
        group = page.find(tag="g", id=f"{chart}-{axis}tick_{k}")
        if not group:
            break
        mark = [u for u in page.find(tag="use", within=group[0])][0]
        label = page.find(tag="text", within=group[0])[0]["text"].replace(",", "")
        pairs.append((float(mark["attrs"][axis]), float(label)))
    assert len(pairs) >= 2, pairs
    px = np.array([p for p, _ in pairs])
    values = np.array([v for _, v in pairs])
    slope, offset = np.polyfit(px, np.log10(values) if log else values, 1)
    fitted = slope * px + offset
    assert np.allclose(fitted, np.log10(values) if log else values, atol=1e-6)  # the ticks are on a straight line

    def to_value(p: float) -> float:
        v = slope * p + offset
        return 10 ** v if log else v
    return to_value


def marker_at(page: Page, gid: str) -> tuple[float, float]:
    use = page.find(tag="use", within=page.one(tag="g", id=gid))[0]
    return float(use["attrs"]["x"]), float(use["attrs"]["y"])


# --- the page as a whole --------------------------------------------------------------------


def test_page_is_balanced_html5_with_two_charts():
    text, page = parse(five_models())
    assert page.decls == ["DOCTYPE html"]
    assert not page.unbalanced and not page.stack
    assert [e["tag"] for e in page.elements[:3]] == ["html", "head", "meta"]
    svgs = page.find(tag="svg")
    assert [s["attrs"]["class"] for s in svgs] == ["chart tradeoff", "chart latency"]
    for svg in svgs:
        assert {"viewbox", "width", "height", "role", "aria-label"} <= svg["attrs"].keys()
        assert page.find(tag="title", within=svg)
    ids = [e["attrs"]["id"] for e in page.elements if "id" in e["attrs"]]
    assert len(ids) == len(set(ids))  # two charts in one page share no id


def test_the_answer_comes_first_then_the_verdicts():
    res = five_models()
    text, page = parse(res)
    order = ["<h1>", "class=\"answer\"", "<table class=\"stack primary\"", "class=\"warnings\"",
             "svg class=\"chart tradeoff\"", "svg class=\"chart latency\"", "Latency details", "Runtime and fidelity",
             "class=\"machine\"", "Configuration", "How to read this page"]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)
    summary = summarize(res)
    assert cell_text(page.one(css="sentence")) == summary.sentence
    assert summary.sentence.startswith("Ship int8: the fastest model that passes the accuracy check")
    picks = [cell_text(e) for e in page.find(css="pick")]
    assert picks[0] == f"Fastest passing int8 {res.models[3].latency.p50_ms:.3f} ms \u00b7 1.65x speed"
    assert picks[1].startswith("Smallest passing dynamic 108.4 KiB")
    assert picks[2].startswith("Most accurate float32 97.11%")
    assert picks[3] == "Verdicts 3 PASS 1 FAIL 1 REF"
    (note,) = page.find(tag="li", within=page.one(css="notes"))
    assert "int16x8 (10.0x slower than float32) is slower" in note["text"] and "reference kernels" in note["text"]


def test_self_contained():
    text, page = parse(five_models())
    lower = text.lower()
    for banned in ("http://", "https://", "<script", "<link", "@import", "<iframe", "<img", "xlink:", "<?xml"):
        assert banned not in lower, banned
    assert page.find(tag="style")
    assert not any(k.startswith("on") for e in page.elements for k in e["attrs"])
    hrefs = [e["attrs"]["href"] for e in page.elements if "href" in e["attrs"]]
    assert hrefs and all(h.startswith("#") for h in hrefs)  # chart-internal references only
    ids = {e["attrs"]["id"] for e in page.elements if "id" in e["attrs"]}
    assert all(h[1:] in ids for h in hrefs)
    urls = [u for u in text.split("url(")[1:]]
    assert urls and all(u.startswith("#") and u[1: u.index(")")] in ids for u in urls)


def test_rendering_is_deterministic():
    res = five_models()
    assert render_bench_html(res) == render_bench_html(res)


def test_model_names_are_escaped():
    text, page = parse(three_models())
    assert "a<b>" not in text and "&c.tflite" not in text.replace("&amp;c.tflite", "")
    assert "a&lt;b&gt;&amp;c" in text
    # decoded back, the short name is in each table, the chart's label and the sentence
    names = [e for e in page.find(css="name") if e["text"] == "a<b>&c"]
    assert len(names) == 3 and all(e["attrs"]["title"] == f"{ODD_NAME} (/models/{ODD_NAME})" for e in names)
    assert page.one(tag="g", id="tradeoff-label-1")["text"].strip() == "a<b>&c"
    assert "Ship a<b>&c:" in page.one(css="sentence")["text"]


def test_dollar_signs_in_names_are_not_math():
    res = result([model("price$1$.tflite", 10_000, 1.0, seed=1, verdict="REF"),
                  model("price$2$.tflite", 5_000, 0.5, seed=2)])
    _, page = parse(res)
    assert page.one(tag="g", id="tradeoff-label-1")["text"].strip() == "price$2$"  # not mathtext
    labels = [e["text"] for e in page.find(tag="text", within=page.one(tag="svg", css="latency"))]
    assert "price$1$" in labels


def test_badges_warnings_and_machine():
    _, page = parse(three_models())
    table = page.one(tag="table", css="primary")
    assert [e["text"] for e in page.find(css="pass", within=table)] == ["PASS"]
    assert [e["text"] for e in page.find(css="fail", within=table)] == ["FAIL"]
    assert [e["text"] for e in page.find(css="ref", within=table)] == ["REF"]
    (warning,) = page.find(css="warning")
    assert "not 'performance'" in warning["text"]
    assert not page.find(css="interrupted")
    machine = page.one(css="machine")
    for fact in ("aarch64", "Debian GNU/Linux 12", "Cortex-A76", "Raspberry Pi 5", "ondemand", "0x0", "3.11.2"):
        assert fact in machine["text"], fact
    assert page.find(css="bad", tag="dd")  # the ondemand governor is flagged


def test_model_warnings_are_grouped_into_one_line():
    res = five_models()
    same = "latency spread 14% (IQR/p50): the machine was busy"
    models = list(res.models)
    for i in (1, 2):
        models[i] = dataclasses.replace(models[i], warnings=(same,))
    _, page = parse(dataclasses.replace(res, models=tuple(models)))
    lines = [cell_text(e) for e in page.find(css="warning")]
    assert lines.count(f"dynamic, float16: {same}") == 1 and len(lines) == 2


# --- the verdict table ----------------------------------------------------------------------


def test_verdict_table_puts_the_verdict_second_and_numbers_map_back():
    res = five_models()
    _, page = parse(res)
    header = [cell_text(e) for e in page.find(tag="th", within=page.one(tag="table", css="primary"))]
    assert header == ["model", "verdict", "p50 ms", "speed-up", "size KiB", "size vs first", "accuracy",
                      "\u0394 accuracy pt", "agreement"]
    rows = page.rows("primary")
    assert len(rows) == 5
    for m, row in zip(res.models, rows):
        cells = [cell_text(c) for c in row]
        assert cells[1] == m.verdict.word
        assert cells[2] == f"{m.latency.p50_ms:.3f}"
        assert cells[3] == f"{m.vs_first.speedup:.2f}x"
        assert cells[4] == f"{m.size_bytes / 1024:.1f}"
        assert cells[5] == f"{m.vs_first.size_ratio:.2f}x"
        assert cells[6] == f"{100 * m.accuracy:.2f}%"
        assert cells[7] == f"{100 * m.vs_first.accuracy_delta:+.2f}"
        assert cells[8] == "99.50%"
        assert all(c["attrs"]["data-label"] for c in row)  # the phone layout's labels
    int8, int16 = rows[3], rows[4]
    assert cell_text(int8[0]) == "int8 ship" and "neg" in int8[7]["attrs"]["class"]
    assert "reference kernels" in cell_text(int16[0])
    best = {cell_text(c): c["attrs"]["title"] for row in rows for c in row if "best" in c["attrs"]["class"].split()}
    assert best == {f"{res.models[3].latency.p50_ms:.3f}": "fastest passing model", "108.4": "smallest passing model",
                    "97.11%": "most accurate model"}


def test_secondary_tables_hold_the_rest():
    res = five_models()
    _, page = parse(res)
    details = page.find(tag="table", css="details")
    assert len(details) == 2
    latency = [[cell_text(c) for c in row] for row in page.rows("latency")]
    int8 = res.models[3].latency
    assert latency[3][1:6] == [f"{v:.3f}" for v in (int8.p25_ms, int8.p50_ms, int8.p75_ms, int8.p90_ms, int8.p99_ms)]
    assert latency[3][6] == f"{100 * int8.robust_spread:.1f}%" and latency[3][7] == f"{100 * int8.cv:.1f}%"
    assert latency[3][8] == str(int8.outliers) and int8.outliers == 75  # the 5 ms calls
    assert latency[3][9:] == ["3,000", "min time", f"{int8.throughput_per_s:,.0f}"]
    runtime = [[cell_text(c) for c in row] for row in page.rows("runtime")]
    assert runtime[4][1:9] == ["2.100", "0.300", "3.4", "4", "no", "\u2013", "litert", "99.90%"]
    assert runtime[0][9] == "\u221e" and runtime[1][9] == "35.2"


def test_missing_values_render_as_dashes():
    res = three_models()
    models = list(res.models)
    models[2] = dataclasses.replace(models[2], recipe=None, comparison=None, memory_mib=None, xnnpack=None,
                                    threads=None, vs_first=dataclasses.replace(models[2].vs_first, speedup=None,
                                                                               accuracy_delta=None))
    _, page = parse(dataclasses.replace(res, models=tuple(models),
                                        system=dataclasses.replace(res.system, board=None, governors=(),
                                                                   throttled=None, cpu_model=None)))
    cells = [cell_text(c) for c in page.rows("primary")[2]]
    assert cells[3] == cells[6] == cells[7] == cells[8] == "\u2013"
    row = [cell_text(c) for c in page.rows("runtime")[2]]
    assert row[3] == row[4] == row[5] == row[8] == row[9] == row[10] == "\u2013"
    assert len(page.find(tag="g", id="tradeoff-point-2")) == 0  # no accuracy: no point


# --- the charts -----------------------------------------------------------------------------


def test_tradeoff_points_map_back_to_latency_and_accuracy():
    res = five_models()
    _, page = parse(res)
    to_ms = tick_map(page, "tradeoff", "x", log=True)
    to_pct = tick_map(page, "tradeoff", "y", log=False)
    for i, m in enumerate(res.models):
        x, y = marker_at(page, f"tradeoff-point-{i}")
        assert to_ms(x) == pytest.approx(m.latency.p50_ms, rel=0.002)
        assert to_pct(y) == pytest.approx(100 * m.accuracy, abs=0.002)
        tip = page.one(tag="g", id=f"tradeoff-point-{i}")
        assert f"p50 {m.latency.p50_ms:.3f} ms" in tip["text"]
    # the Pareto front: int8 (fastest) and float32 (most accurate; float16 is as accurate but slower)
    assert summarize(res).pareto == (3, 0)
    assert page.one(tag="g", id="tradeoff-pareto")
    assert "on the Pareto front" in page.one(tag="g", id="tradeoff-point-3")["text"]
    assert "on the Pareto front" not in page.one(tag="g", id="tradeoff-point-2")["text"]
    bound = page.one(tag="g", id="tradeoff-bound-label")
    assert f"{100 * 0.99 * 0.9711:.2f}%" in bound["text"]
    assert page.one(tag="g", id="tradeoff-reference-line")


def test_latency_medians_map_back_to_p50_on_a_log_axis():
    res = five_models()
    _, page = parse(res)
    to_ms = tick_map(page, "latency", "x", log=True)
    medians = []
    for i, m in enumerate(res.models):
        path = page.find(tag="path", within=page.one(tag="g", id=f"latency-median-{i}"))[0]
        x1, x2 = (float(v) for v in path["attrs"]["d"].replace("M", " ").replace("L", " ").split()[::2])
        assert x1 == x2
        assert to_ms(x1) == pytest.approx(m.latency.p50_ms, rel=0.002)
        medians.append(x1)
    assert medians[3] < medians[0] < medians[1] < medians[4]  # int8 < float32 < dynamic < int16x8
    # one model's slow tail (p99 5 ms, 20x its median) leaves every box wider than a few pixels
    for i in range(5):
        assert page.one(tag="g", id=f"latency-box-{i}") and page.one(tag="g", id=f"latency-hist-{i}")
    ticks = [float(e["text"]) for e in page.find(tag="text") if e["ancestors"] and any(
        a["attrs"].get("id", "").startswith("latency-xtick") for a in e["ancestors"])]
    assert ticks[0] <= min(m.latency.p50_ms for m in res.models) and ticks[-1] >= 4.1


def test_labels_in_a_crowded_chart_do_not_overlap():
    from edgekit.report.charts import styled, tradeoff_figure

    models = [model(f"net_{name}.tflite", 100_000, 0.50 + 0.002 * k, seed=k, accuracy=0.95 + 0.0005 * k)
              for k, name in enumerate(["float32", "float16", "dynamic", "int8", "int8_per_tensor", "mixed",
                                        "int16x8", "selective"])]
    res = result(models, reference_accuracy=0.955)
    summary = summarize(res)
    with styled("crowded"):
        fig, _ = tradeoff_figure(res.models, summary.labels, summary.pareto, 0.955, 0.955 * 0.99)
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        labels = [t for t in ax.texts if t.get_gid() and t.get_gid().startswith("label-")]
        assert len(labels) == 8
        boxes = [t.get_window_extent(renderer) for t in labels]
        frame = ax.get_window_extent(renderer)
    for a in range(len(boxes)):
        assert frame.x0 - 1 <= boxes[a].x0 and boxes[a].x1 <= frame.x1 + 1
        for b in range(a + 1, len(boxes)):
            assert not boxes[a].overlaps(boxes[b]), (labels[a].get_text(), labels[b].get_text())


# --- edge cases -----------------------------------------------------------------------------


def test_single_model():
    text, page = parse(result([model("only.tflite", 50_000, 0.8, seed=4, verdict="REF")]))
    assert len(page.find(tag="svg")) == 2
    assert cell_text(page.one(css="sentence")).startswith("One model measured: only, p50 0.80")


def test_identical_latencies_and_accuracies():
    same = np.full(500, 1_000_000)
    res = result([model("x.tflite", 10_000, 1.0, seed=5, samples=same, accuracy=0.9, verdict="REF"),
                  model("y.tflite", 10_000, 1.0, seed=6, samples=same, accuracy=0.9)], reference_accuracy=0.9)
    _, page = parse(res)
    to_ms = tick_map(page, "latency", "x", log=True)
    for i in range(2):
        path = page.find(tag="path", within=page.one(tag="g", id=f"latency-median-{i}"))[0]
        assert to_ms(float(path["attrs"]["d"].split()[1])) == pytest.approx(1.0, rel=0.002)
        assert page.one(tag="g", id=f"latency-box-{i}")  # still drawn with p25 == p75
    assert len(page.find(tag="g", id="tradeoff-point-1")) == 1
    assert "Keep x:" in page.one(css="sentence")["text"]


def test_no_accuracy_shows_a_note_instead_of_the_tradeoff():
    res = result([model("a.tflite", 10_000, 1.0, seed=7, accuracy=None, verdict=None, snr_db=None),
                  model("b.tflite", 5_000, 0.5, seed=8, accuracy=None, verdict=None, snr_db=None)])
    text, page = parse(res)
    assert [s["attrs"]["class"] for s in page.find(tag="svg")] == ["chart latency"]
    assert "accuracy was not measured" in text
    assert not page.find(css="badge", within=page.one(tag="table", css="primary"))
    assert "none: latency measured on zeros" in text
    assert page.one(css="sentence")["text"].startswith("Accuracy was not checked")


def test_interrupted_run_marks_the_partial_model():
    res = result([model("a.tflite", 10_000, 1.0, seed=9, verdict="REF"),
                  model("b.tflite", 5_000, 0.5, seed=10, n=70, interrupted=True)], interrupted=True)
    _, page = parse(res)
    banner = page.one(css="interrupted")
    assert "partial results" in banner["text"].lower()
    assert len(page.find(tag="g", id="latency-box-1")) == 1
    assert [e["text"] for e in page.find(css="partial")] == ["partial"]
    assert "interrupted" in cell_text(page.rows("latency")[1][10])


def test_nothing_measured_at_all():
    res = result([], interrupted=True)
    text, page = parse(res)
    assert not page.find(tag="svg") and "No model was measured" in text
    assert cell_text(page.one(css="sentence")) == "No model was measured."


def test_a_model_without_timed_runs():
    res = result([model("a.tflite", 10_000, 1.0, seed=11, verdict="REF"),
                  model("b.tflite", 5_000, 0.5, seed=12, samples=[])])
    _, page = parse(res)
    assert cell_text(page.rows("primary")[1][2]) == "\u2013"
    assert not page.find(tag="g", id="latency-box-1")
    assert any("no timed runs" in e["text"] for e in page.find(tag="text"))


def test_a_hundred_thousand_samples_stay_small():
    models = [model(f"m{i}.tflite", 10_000 * (i + 1), 0.2 * (i + 1), seed=20 + i, n=100_000) for i in range(3)]
    text = render_bench_html(result(models))
    assert len(text) < 150_000  # samples are summarised, never dumped into the page
    assert len(Page(text).find(tag="g", id="latency-box-2")) == 1


def test_write_bench_html_writes_the_page(tmp_path):
    res = three_models()
    path = write_bench_html(res, tmp_path / "bench.html")
    assert path.read_text(encoding="utf-8") == render_bench_html(res)
    assert [p.name for p in tmp_path.iterdir()] == ["bench.html"]  # no temp file left behind


# --- without matplotlib ---------------------------------------------------------------------


def test_without_matplotlib_the_report_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # an import of it now fails
    with pytest.raises(MissingDependencyError) as caught:
        render_bench_html(three_models())
    assert 'pip install "edgekit[report]"' in caught.value.message
    assert caught.value.exit_code == 2
    with pytest.raises(MissingDependencyError, match=r'pip install "edgekit\[report\]"'):
        render_fleet_html(fleet(("pi", three_models())))
    assert summarize(three_models()).ship.label == "a<b>&c"  # the terminal's sentence needs no matplotlib


def test_the_report_modules_import_without_matplotlib():
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "import edgekit.report.html, edgekit.report.fleet, edgekit.report.summary, edgekit.report.charts\n"
            "from edgekit.report.html import require_plotting\n"
            "try:\n    require_plotting()\nexcept Exception as e:\n    print(type(e).__name__, e.message)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("MissingDependencyError ") and 'pip install "edgekit[report]"' in done.stdout
    assert "matplotlib" in done.stdout


# --- the fleet page -------------------------------------------------------------------------


def test_fleet_page():
    page_text = render_fleet_html(fleet(("pi5", five_models()), ("pi<4>", three_models()), ("pi3", None)))
    page = Page(page_text)
    assert page.decls == ["DOCTYPE html"] and not page.unbalanced and not page.stack
    assert "pi&lt;4&gt;" in page_text and "pi<4>" not in page_text
    banner = page.one(css="interrupted")
    assert "1 of 3 devices failed" in banner["text"] and "pi3" in banner["text"]
    answers = page.find(tag="li", within=page.one(css="device-answers"))
    assert [cell_text(a) for a in answers] == [f"pi5: {summarize(five_models()).sentence}",
                                               f"pi<4>: {summarize(three_models()).sentence}"]
    assert page_text.index("device-answers") < page_text.index("<table")  # the answer first
    header = [cell_text(e) for e in page.find(tag="th", within=page.one(tag="table", css="primary"))]
    assert header[:3] == ["device", "model", "verdict"]
    rows = page.rows("primary")
    assert len(rows) == 5 + 3 + 1
    assert [cell_text(r[2]) for r in rows[:5]] == ["REF", "PASS", "PASS", "PASS", "FAIL"]
    assert "failed: ssh: connect to host pi3 refused" in cell_text(rows[-1][1])
    assert [cell_text(r[1]) for r in rows if "ship" in cell_text(r[1])] == ["digits_cnn_int8 ship", "a<b>&c ship"]
    (svg,) = page.find(tag="svg")
    assert svg["attrs"]["class"] == "chart fleet"
    to_ms = tick_map(page, "fleet", "x", log=True)
    x, _ = marker_at(page, "fleet-dot-0-0")
    assert to_ms(x) == pytest.approx(five_models().models[0].latency.p50_ms, rel=0.002)
    assert len(page.find(css="machine")) == 2
    assert "int16x8 (10.0x slower than float32) is slower" in page.find(css="device")[0]["text"]


def test_fleet_page_when_every_device_failed():
    page = Page(render_fleet_html(fleet(("a", None), ("b", None))))
    assert "2 of 2 devices failed" in page.one(css="interrupted")["text"]
    assert not page.find(tag="svg") and not page.find(css="answer")

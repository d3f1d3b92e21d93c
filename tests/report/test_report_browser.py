"""The report as a browser lays it out: headless Chromium (Debian `chromium`) at 1400 px and at
phone width (400 px). The verdict column must be on screen at 1400 px, text readable (at
least 10 CSS px, chart text included) at 400 px, no label in a chart on another, nothing
scrolling sideways.

How: the page is put in an <iframe srcdoc> exactly WIDTH px wide (Chromium's --dump-dom
keeps a window at least 500 px wide, an iframe has the width it is given), a small script in
the wrapper (never in the report, which has no JavaScript) writes getBoundingClientRect and
computed font sizes into the DOM, and --dump-dom hands them back. A screenshot of each
width is taken too (kept in $EDGEKIT_SCREENSHOTS when set, for a person to look at).
Skipped with the reason when no Chromium is installed; a Chromium that is installed but
fails is a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from report_builders import five_models, fleet, model, result, three_models

pytest.importorskip("matplotlib", reason="the report needs edgekit[report] (matplotlib)")

BROWSER = os.environ.get("EDGEKIT_CHROMIUM") or next(
    (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="headless Chromium is not installed (Debian: apt-get install --no-install-recommends "
                            "chromium; or set EDGEKIT_CHROMIUM to a Chrome/Chromium binary)")

MIN_TEXT_PX = 10.0
FIRST_SCREEN = 900  # px of height a 1400 px wide laptop window shows without scrolling

MEASURE = r"""
window.addEventListener("load", function () {
  var doc = document.getElementById("page").contentDocument, win = doc.defaultView;
  function box(r) { return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }
  var out = {width: win.innerWidth, scrollWidth: doc.documentElement.scrollWidth,
             height: doc.documentElement.scrollHeight, verdicts: [], charts: [], small: [], overlaps: [], clipped: [],
             minText: null, texts: 0};
  doc.querySelectorAll("table.primary th.verdict, table.primary td.verdict").forEach(function (e) {
    out.verdicts.push(box(e.getBoundingClientRect()));
  });
  var walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT), node;
  while ((node = walker.nextNode())) {
    var el = node.parentElement;
    if (!node.nodeValue.trim() || el.closest("title, style") || !el.getClientRects().length) continue;
    var size = parseFloat(win.getComputedStyle(el).fontSize), svg = el.closest("svg");
    if (svg) size *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    out.texts++;
    if (out.minText === null || size < out.minText.size)
      out.minText = {size: size, text: node.nodeValue.trim().slice(0, 60)};
    if (size < MIN_PX) out.small.push([size, node.nodeValue.trim().slice(0, 60)]);
  }
  doc.querySelectorAll("svg.chart").forEach(function (svg) {
    var texts = Array.prototype.filter.call(svg.querySelectorAll("text"), function (t) {
      return t.textContent.trim(); });
    var rects = texts.map(function (t) { return t.getBoundingClientRect(); });
    var frame = svg.getBoundingClientRect();
    rects.forEach(function (r, i) {
      if (r.left < frame.left - 1 || r.right > frame.right + 1 || r.top < frame.top - 1 || r.bottom > frame.bottom + 1)
        out.clipped.push(texts[i].textContent);
    });
    out.charts.push({id: svg.getAttribute("class"), box: box(svg.getBoundingClientRect()), texts: texts.length});
    for (var i = 0; i < rects.length; i++) for (var j = i + 1; j < rects.length; j++) {
      var w = Math.min(rects[i].right, rects[j].right) - Math.max(rects[i].left, rects[j].left);
      var h = Math.min(rects[i].bottom, rects[j].bottom) - Math.max(rects[i].top, rects[j].top);
      if (w > 1 && h > 1) out.overlaps.push([texts[i].textContent, texts[j].textContent]);
    }
  });
  var pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
"""


def _wrapper(page: str, width: int, height: int, script: bool) -> str:
    code = f"<script>var MIN_PX = {MIN_TEXT_PX};{MEASURE}</script>" if script else ""
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body{margin:0}iframe{border:0;"
            f"display:block}}</style></head><body><iframe id=\"page\" width=\"{width}\" height=\"{height}\" "
            f"srcdoc=\"{html.escape(page, quote=True)}\"></iframe>{code}</body></html>")


def _chromium(tmp_path: Path, width: int, height: int, url: str, *extra: str) -> subprocess.CompletedProcess:
    argv = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--disable-extensions", "--mute-audio", f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={width},{height}", "--virtual-time-budget=10000", *extra, url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"{BROWSER} failed (exit {done.returncode}): {done.stderr[-2000:]}"
    return done


def measure(page: str, width: int, tmp_path: Path, name: str) -> dict:
    """Layout facts of `page` at `width` px (see MEASURE), and a screenshot of it."""
    wrapper = tmp_path / f"{name}-{width}.html"
    wrapper.write_text(_wrapper(page, width, FIRST_SCREEN, script=True), encoding="utf-8")
    dom = _chromium(tmp_path, max(width, 500), FIRST_SCREEN, wrapper.as_uri(), "--dump-dom").stdout
    found = re.search(r"<pre id=\"measured\">(.*?)</pre>", dom, re.S)
    assert found, f"the measuring script did not run; Chromium said: {dom[-500:]}"
    facts = json.loads(html.unescape(found.group(1)))
    _screenshot(page, width, facts["height"], tmp_path, name)
    return facts


def _screenshot(page: str, width: int, height: int, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("EDGEKIT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    height = min(int(height) + 10, 12_000)
    shot = tmp_path / f"{name}-{width}-shot.html"
    shot.write_text(_wrapper(page, width, height, script=False), encoding="utf-8")
    png = folder / f"{name}-{width}.png"
    _chromium(tmp_path, width, height, shot.as_uri(), f"--screenshot={png}")
    from PIL import Image

    with Image.open(png) as image:
        assert image.size == (width, height), image.size


@pytest.fixture(scope="module")
def bench_page() -> str:
    from edgekit.report.html import render_bench_html

    return render_bench_html(five_models())


def test_at_1400_px_the_verdicts_are_on_the_first_screen(bench_page, tmp_path):
    facts = measure(bench_page, 1400, tmp_path, "bench")
    assert facts["width"] == 1400 and facts["scrollWidth"] <= 1400  # nothing scrolls sideways
    assert len(facts["verdicts"]) == 1 + 5  # the heading and one cell per model
    assert max(v["right"] for v in facts["verdicts"]) <= 1400
    assert max(v["bottom"] for v in facts["verdicts"]) <= FIRST_SCREEN
    charts = {c["id"]: c for c in facts["charts"]}
    tradeoff = charts["chart tradeoff"]
    assert tradeoff["box"]["right"] <= 1400 and tradeoff["box"]["right"] - tradeoff["box"]["left"] >= 400
    assert not facts["overlaps"], facts["overlaps"]
    assert not facts["clipped"], facts["clipped"]  # every chart text inside its chart
    assert facts["minText"]["size"] >= MIN_TEXT_PX, facts["minText"]


def test_at_400_px_every_text_is_readable(bench_page, tmp_path):
    facts = measure(bench_page, 400, tmp_path, "bench")
    assert facts["width"] == 400 and facts["scrollWidth"] <= 400, facts["scrollWidth"]
    assert facts["texts"] > 200  # the walk saw the page, charts included
    assert not facts["small"], facts["small"][:10]
    assert facts["minText"]["size"] >= MIN_TEXT_PX
    assert len(facts["charts"]) == 2 and all(c["box"]["right"] <= 400 for c in facts["charts"])
    assert not facts["overlaps"], facts["overlaps"]
    assert not facts["clipped"], facts["clipped"]  # every chart text inside its chart
    assert all(v["right"] <= 400 for v in facts["verdicts"])


def test_long_names_wrap_instead_of_pushing_the_verdict_away(tmp_path):
    from edgekit.report.html import render_bench_html

    long = "mobilenet_v2_1.0_224_imagenet_full_integer_quantized_per_channel_edgetpu_compiled_v16"
    page = render_bench_html(result([model(f"{long}_float32.tflite", 14_000_000, 30.0, seed=1, verdict="REF"),
                                     model(f"other_{long}_int8.tflite", 3_500_000, 9.0, seed=2)]))
    for width in (1400, 400):
        facts = measure(page, width, tmp_path, "long")
        assert facts["scrollWidth"] <= width
        assert max(v["right"] for v in facts["verdicts"]) <= width
        assert not facts["overlaps"], facts["overlaps"]
        assert not facts["clipped"], facts["clipped"]  # every chart text inside its chart


@pytest.mark.parametrize("width", [1400, 400])
def test_fleet_page_fits(width, tmp_path):
    from edgekit.report.fleet import render_fleet_html

    page = render_fleet_html(fleet(("pi5", five_models()), ("pi4", five_models(scale=2.6)), ("zero2w", three_models()),
                                   ("pi3", None)))
    facts = measure(page, width, tmp_path, "fleet")
    assert facts["scrollWidth"] <= width
    assert facts["verdicts"] and max(v["right"] for v in facts["verdicts"]) <= width
    assert not facts["small"], facts["small"][:10]
    assert not facts["overlaps"], facts["overlaps"]
    assert not facts["clipped"], facts["clipped"]  # every chart text inside its chart

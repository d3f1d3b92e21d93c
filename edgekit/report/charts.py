"""The report's charts: matplotlib figures, saved with its SVG backend and inlined in the page.

Every chart is drawn at its natural size in CSS pixels (one SVG unit is one pixel, all text
13 px), so that shrunk to a phone's width (about 380 px) its text stays above 10 px. Text
stays text (`svg.fonttype` "none": a system font stack, selectable, measurable); ids are
prefixed per chart so that two charts in one page never share one; output is deterministic
(a fixed hash salt, no date). matplotlib comes with `edgekit[report]` and is imported only
inside these functions: the device install never needs it.
"""

from __future__ import annotations

import io
import math
import re
from contextlib import contextmanager
from html import escape

import numpy as np

from ..errors import require
from .format import fmt_ms, fmt_pct

__all__ = ["PALETTE", "WIDTH", "colour", "fit", "fleet_latency_figure", "latency_figure", "log_ticks",
           "require_matplotlib", "styled", "to_svg", "tradeoff_figure"]

WIDTH = 480  # px: two charts side by side in the 1120 px page, one at phone width
FONT = 13.0
INK, MUTED, GRID, FAIL_RED, PASS_GREEN = "#1d2433", "#5d6779", "#e3e7ee", "#c62828", "#1a7f37"
# Okabe-Ito: colours that stay distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999933")
MARKERS = {"PASS": "o", "REF": "D", "FAIL": "X"}
_ROW = 58  # px per model in the latency chart


def require_matplotlib():
    """matplotlib, or a MissingDependencyError naming `pip install "edgekit[report]"`."""
    return require("matplotlib", "report")


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@contextmanager
def styled(salt: str):
    """matplotlib's settings for one chart: text as text, a fixed font, no math parsing of
    model names (a `$` in a file name is a dollar sign), ids salted by `salt`."""
    mpl = require_matplotlib()
    rc = {"svg.fonttype": "none", "svg.hashsalt": salt, "text.parse_math": False,
          "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans", "Verdana", "Arial", "Helvetica"],
          "font.size": FONT, "axes.labelsize": FONT, "xtick.labelsize": FONT, "ytick.labelsize": FONT,
          "axes.edgecolor": "#8a93a3", "axes.labelcolor": INK, "xtick.color": "#8a93a3",
          "ytick.color": "#8a93a3", "xtick.labelcolor": INK, "ytick.labelcolor": INK,
          "axes.unicode_minus": False, "svg.image_inline": True}
    with mpl.rc_context(rc):
        yield


def _figure(height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH / 72, height / 72), dpi=72)  # 72 dpi: one point is one pixel
    FigureCanvasAgg(fig)  # a renderer to measure text with while placing labels
    return fig


def _axes(fig, left: float, right: float, top: float, bottom: float):
    """One axes with margins in px, a light frame and no top/right spines."""
    width, height = fig.get_size_inches() * 72
    ax = fig.add_axes((left / width, bottom / height, 1 - (left + right) / width, 1 - (top + bottom) / height))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=4)
    return ax


def fit(label: str, limit: int) -> str:
    """`label` in at most `limit` characters, cut in the middle (names differ at both ends:
    mobilenet_v2_..._int8): the full name is in the hover text and the tables."""
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return label[:head] + "\u2026" + label[len(label) - (limit - 1 - head):]


# --- ticks --------------------------------------------------------------------------------


def log_ticks(lo: float, hi: float) -> list[float]:
    """Round ticks for a log axis from `lo` to `hi`: powers of ten, 1-2-5, then finer round
    steps, whichever first gives at least three (at most eight, thinned evenly)."""
    if not (lo > 0 and hi > lo):
        raise ValueError(f"log ticks need 0 < lo < hi; received {lo}..{hi}")
    exponents = range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
    for mantissas in _MANTISSAS:
        ticks = sorted({float(f"{m * 10.0 ** e:.6g}") for e in exponents for m in mantissas})
        ticks = [t for t in ticks if lo <= t <= hi]
        if len(ticks) >= 3:
            return ticks if len(ticks) <= 8 else ticks[:: math.ceil(len(ticks) / 8)]
    return [float(f"{v:.3g}") for v in np.geomspace(lo, hi, 5)[1:-1]]


_MANTISSAS = ((1,), (1, 2, 5), (1, 1.5, 2, 3, 5, 7), tuple(range(1, 10)), tuple(np.arange(1, 10, 0.5)),
              tuple(np.arange(1, 10, 0.2)), tuple(np.arange(1, 10, 0.1)))


def tick_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


def _log_axis(ax, lo: float, hi: float, label: str) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(log_ticks(lo, hi)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: tick_text(v)))
    ax.grid(axis="x", color=GRID, linewidth=1)
    ax.set_axisbelow(True)
    ax.set_xlabel(label)


def _log_range(values: list[float], pad: float = 0.12) -> tuple[float, float]:
    """An axis range around `values`, widened in log space by `pad` of their span each side
    (at least 4%), so that neither a wide nor a narrow spread crowds the points."""
    lo, hi = min(values), max(values)
    span = math.log10(hi / lo)
    widen = 10 ** max(pad * span, 0.017)
    return lo / widen, hi * widen


# --- accuracy against latency -------------------------------------------------------------


def tradeoff_figure(models, labels, pareto, reference_accuracy: float | None, bound: float | None):
    """Accuracy (y, %) against p50 latency (x, ms, log) for the models that have both, the
    p25-p75 latency as a bar, the Pareto front as a staircase, the reference accuracy and
    the PASS bound as lines. Returns (figure, hover texts by gid), or None without points."""
    points = [i for i, m in enumerate(models)
              if m.accuracy is not None and m.latency.runs > 0 and m.latency.p50_ms > 0]
    if not points:
        return None
    fig = _figure(360)
    ax = _axes(fig, left=66, right=16, top=14, bottom=52)
    lat = [models[i].latency for i in points]
    lo, hi = _log_range([v for s in lat for v in (s.p25_ms or s.p50_ms, s.p75_ms or s.p50_ms)])
    _log_axis(ax, lo, hi, "p50 latency per call (ms, log scale)")
    accs = [100 * models[i].accuracy for i in points]
    lines = [(v, text) for v, text in ((reference_accuracy, "reference"), (bound, "PASS bound")) if v is not None]
    _accuracy_axis(ax, accs + [100 * v for v, _ in lines])
    obstacles = _reference_lines(ax, lines)
    front = [i for i in pareto if i in points]
    if len(front) > 1:
        ax.step([models[i].latency.p50_ms for i in front], [100 * models[i].accuracy for i in front],
                where="post", color="#b9c1ce", linewidth=7, alpha=0.6, zorder=1, solid_capstyle="round",
                solid_joinstyle="round", gid="pareto")
    tips = {}
    for i in points:
        tips[f"point-{i}"] = _draw_point(ax, models[i], labels[i], colour(i), i in front, i)
    renderer = fig.canvas.get_renderer()
    obstacles += [_marker_box(ax, models[i]) for i in points]
    _place_labels(ax, renderer, [(models[i].latency.p50_ms, 100 * models[i].accuracy, fit(labels[i], 22), f"label-{i}")
                                 for i in points], obstacles)
    return fig, tips


def _accuracy_axis(ax, values: list[float]) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    lo, hi = min(values), max(values)
    span = max(hi - lo, 0.5)
    ax.set_ylim(lo - 0.2 * span, hi + 0.2 * span)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    step = ax.get_yticks()[1] - ax.get_yticks()[0] if len(ax.get_yticks()) > 1 else 1.0
    digits = max(0, -math.floor(math.log10(step) + 1e-9))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.{digits}f}"))
    ax.grid(axis="y", color=GRID, linewidth=1)
    ax.set_ylabel("accuracy (%)")


def _reference_lines(ax, lines: list[tuple[float, str]]) -> list:
    """The reference accuracy (dashed, label above) and the PASS bound (dotted, label below,
    the FAIL side shaded). Returns the labels' boxes for the label placement to avoid."""
    from matplotlib.transforms import blended_transform_factory

    along = blended_transform_factory(ax.transAxes, ax.transData)
    texts = []
    for value, kind in lines:
        y = 100 * value
        bound = kind == "PASS bound"
        ax.axhline(y, color=PASS_GREEN if bound else MUTED, linewidth=1.3, linestyle=":" if bound else "--",
                   zorder=2, gid="bound-line" if bound else "reference-line")
        if bound:
            ax.axhspan(ax.get_ylim()[0], y, color=FAIL_RED, alpha=0.06, linewidth=0, zorder=0)
        text = f"PASS \u2265 {fmt_pct(value)}" if bound else f"reference {fmt_pct(value)}"
        texts.append(ax.text(0.99, y, text, transform=along, ha="right", va="top" if bound else "bottom",
                             color=PASS_GREEN if bound else MUTED, zorder=3,
                             gid="bound-label" if bound else "reference-label"))
    renderer = ax.figure.canvas.get_renderer()
    return [t.get_window_extent(renderer).padded(3) for t in texts]


def _draw_point(ax, m, label: str, colour_: str, on_front: bool, index: int) -> str:
    lat = m.latency
    y = 100 * m.accuracy
    if lat.p25_ms > 0 and lat.p75_ms > lat.p25_ms:
        ax.hlines(y, lat.p25_ms, lat.p75_ms, color=colour_, linewidth=2.5, alpha=0.55, zorder=3)
    ax.scatter([lat.p50_ms], [y], s=95, marker=MARKERS.get(m.verdict.word, "o"), color=colour_,
               edgecolors=INK if on_front else "white", linewidths=1.8 if on_front else 1.2, zorder=4,
               gid=f"point-{index}")
    verdict = f", {m.verdict.word}" if m.verdict.word else ""
    front = ", on the Pareto front" if on_front else ""
    return (f"{label}: p50 {fmt_ms(lat.p50_ms)} ms (p25 {fmt_ms(lat.p25_ms)}, p75 {fmt_ms(lat.p75_ms)}), "
            f"accuracy {fmt_pct(m.accuracy)}{verdict}{front}")


def _marker_box(ax, m):
    from matplotlib.transforms import Bbox

    x, y = ax.transData.transform((m.latency.p50_ms, 100 * m.accuracy))
    return Bbox.from_extents(x - 7, y - 7, x + 7, y + 7)


# offsets (px) of a label from its point, nearest first; the far ones get a leader line
_OFFSETS = [(dx * r, dy * r) for r in (10, 22, 36)
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))]


def _place_labels(ax, renderer, items: list[tuple[float, float, str, str]], obstacles: list) -> None:
    """Put each label next to its point where it overlaps no other label, marker or line
    label and stays inside the axes; where no place is free, the least-overlapping one."""
    frame = ax.get_window_extent(renderer)
    placed = list(obstacles)
    for x, y, text, gid in items:
        best = None
        for dx, dy in _OFFSETS:
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
            far = abs(dx) > 12 or abs(dy) > 12
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                                color=INK, zorder=5, gid=gid,
                                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
                                      "alpha": 0.85},
                                arrowprops={"arrowstyle": "-", "color": MUTED, "linewidth": 0.8,
                                            "shrinkA": 0, "shrinkB": 6} if far else None)
            box = label.get_window_extent(renderer).padded(2)
            cost = sum(_overlap(box, other) for other in placed) + 50 * _outside(box, frame)
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, label, box)
            else:
                label.remove()
            if cost == 0:
                break
        placed.append(best[2])


def _overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _outside(box, frame) -> float:
    return box.width * box.height - _overlap(box, frame)


# --- latency distributions ----------------------------------------------------------------


def _quantiles(m) -> dict | None:
    """p1, p25, p50, p75, p99 (ms) of one model: the recorded statistics, completed from its
    raw samples where a statistic is missing; None without timed runs."""
    lat = m.latency
    if lat.runs <= 0 or lat.p50_ms <= 0:
        return None
    ms = np.asarray(m.timing.samples_ns, dtype=np.float64) / 1e6
    have = ms.size > 0
    p1, p25, p75 = (np.percentile(ms, (1, 25, 75)) if have else (lat.min_ms, lat.p50_ms, lat.p50_ms))
    return {"p1": float(p1) if p1 > 0 else lat.p50_ms,
            "p25": lat.p25_ms if lat.p25_ms > 0 else float(p25),
            "p50": lat.p50_ms,
            "p75": lat.p75_ms if lat.p75_ms > 0 else float(p75),
            "p99": max(lat.p99_ms, lat.p50_ms), "ms": ms}


def latency_figure(models, labels):
    """One row per model on a shared log axis: a histogram of every timed call, the p25-p75
    box, the median, whiskers from p1 to p99. Returns (figure, hover texts by gid), or None
    when no model has a timed run."""
    stats = [_quantiles(m) for m in models]
    present = [q for q in stats if q is not None]
    if not present:
        return None
    rows = len(models)
    fig = _figure(18 + _ROW * rows + 50)
    ax = _axes(fig, left=14, right=16, top=18, bottom=50)
    lo, hi = _log_range([q["p1"] for q in present] + [q["p99"] for q in present], pad=0.05)
    _log_axis(ax, lo, hi, "latency per call (ms, log scale)")
    ax.set_ylim(-0.5, rows - 0.5)
    ax.yaxis.set_visible(False)
    ax.spines["left"].set_visible(False)
    edges = np.geomspace(lo, hi, 121)
    tips = {}
    for index, (m, q) in enumerate(zip(models, stats)):
        y0 = rows - 1 - index
        title = _row_title(ax, labels[index], y0, q, m)
        if q is not None:
            _draw_distribution(ax, q, y0, colour(index), edges, index)
            tips[f"box-{index}"] = tips[f"hist-{index}"] = title
    return fig, tips


def _row_title(ax, label: str, y0: float, q: dict | None, m) -> str:
    """The model's name and its numbers above its row; the numbers shorten, then the name,
    until the line fits the chart's width. Returns the hover text (everything, unshortened)."""
    from matplotlib.transforms import blended_transform_factory

    along = blended_transform_factory(ax.transAxes, ax.transData)
    if q is None:
        variants = ["no timed runs"]
    else:
        p50, p99 = fmt_ms(q["p50"]), fmt_ms(q["p99"])
        variants = [f"p50 {p50} \u00b7 p99 {p99} ms \u00b7 {m.latency.runs:,} runs", f"p50 {p50} \u00b7 p99 {p99} ms",
                    f"p50 {p50} ms"]
    renderer = ax.figure.canvas.get_renderer()
    right = ax.get_window_extent(renderer).x1
    for limit in (30, 20, 12):
        head = ax.text(0.005, y0 + 0.46, fit(label, limit), transform=along, ha="left", va="top",
                       fontweight="bold", color=INK)
        for numbers in variants:
            tail = ax.annotate(numbers, xy=(1, 0), xycoords=head, xytext=(8, 0), textcoords="offset points",
                               ha="left", va="bottom", color=MUTED)
            if tail.get_window_extent(renderer).x1 <= right:
                return f"{label}: {variants[0]}" + ("" if q is None else
                                                    f"; p1 {fmt_ms(q['p1'])}, p25 {fmt_ms(q['p25'])}, "
                                                    f"p75 {fmt_ms(q['p75'])} ms")
            tail.remove()
        head.remove()
    ax.text(0.005, y0 + 0.46, fit(label, 12), transform=along, ha="left", va="top", fontweight="bold", color=INK)
    return f"{label}: {variants[0]}"


def _draw_distribution(ax, q: dict, y0: float, colour_: str, edges, index: int) -> None:
    """The histogram (above), the box and whiskers (below) of one model's row."""
    base, box = y0 - 0.30, y0 - 0.36
    if q["ms"].size:
        counts, _ = np.histogram(q["ms"], bins=edges)
        if counts.max() > 0:
            ax.stairs(base + 0.42 * counts / counts.max(), edges, baseline=base, fill=True, color=colour_,
                      alpha=0.28, linewidth=0, gid=f"hist-{index}")
    ax.hlines(box, q["p1"], q["p99"], color=colour_, linewidth=1.6, zorder=3, gid=f"whisker-{index}")
    ax.vlines([q["p1"], q["p99"]], box - 0.07, box + 0.07, color=colour_, linewidth=1.6, zorder=3)
    left, right = q["p25"], max(q["p75"], q["p25"] * 1.004)  # an identical p25/p75 stays visible
    ax.fill_between([left, right], box - 0.09, box + 0.09, color=colour_, alpha=0.45, linewidth=1.2,
                    edgecolor=colour_, zorder=4, gid=f"box-{index}")
    ax.vlines(q["p50"], box - 0.13, box + 0.13, color=INK, linewidth=2.6, zorder=5, gid=f"median-{index}")


# --- fleet --------------------------------------------------------------------------------


def fleet_latency_figure(rows: list[tuple[str, list[tuple[int, object]]]]):
    """p50 latency (log) of each model on each device: `rows` is [(model label, [(device
    index, ModelResult), ...]), ...]; a dot per device (its colour), p25-p75 as a bar.
    Returns (figure, hover texts by gid), or None when nothing was timed."""
    timed = [m for _, entries in rows for _, m in entries if m.latency.runs > 0 and m.latency.p50_ms > 0]
    if not timed:
        return None
    fig = _figure(18 + 44 * len(rows) + 50)
    ax = _axes(fig, left=14, right=16, top=18, bottom=50)
    lo, hi = _log_range([v for m in timed for v in (m.latency.p25_ms or m.latency.p50_ms,
                                                     m.latency.p75_ms or m.latency.p50_ms)])
    _log_axis(ax, lo, hi, "p50 latency per call (ms, log scale)")
    ax.set_ylim(-0.5, len(rows) - 0.5)
    ax.yaxis.set_visible(False)
    ax.spines["left"].set_visible(False)
    tips = {}
    for r, (label, entries) in enumerate(rows):
        y0 = len(rows) - 1 - r
        ax.text(0.005, y0 + 0.46, fit(label, 40), transform=ax.get_yaxis_transform(), ha="left", va="top",
                fontweight="bold", color=INK)
        for k, (device, m) in enumerate(entries):
            if m.latency.runs <= 0 or m.latency.p50_ms <= 0:
                continue
            y = y0 - 0.05 - 0.32 * k / max(len(entries) - 1, 1)
            lat = m.latency
            if lat.p25_ms > 0 and lat.p75_ms > lat.p25_ms:
                ax.hlines(y, lat.p25_ms, lat.p75_ms, color=colour(device), linewidth=2.5, alpha=0.55)
            ax.scatter([lat.p50_ms], [y], s=60, color=colour(device), edgecolors="white", linewidths=1,
                       zorder=4, gid=f"dot-{r}-{k}")
            tips[f"dot-{r}-{k}"] = f"{label}: p50 {fmt_ms(lat.p50_ms)} ms"
    return fig, tips


# --- SVG ----------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]+>")
_SIZE = re.compile(r'viewBox="0 0 ([\d.]+) ([\d.]+)"')


def to_svg(fig, prefix: str, title: str, tips: dict[str, str] | None = None) -> str:
    """`fig` as an inline <svg> element: no XML prolog, no namespaces or external references,
    ids prefixed with `prefix`, `title` for screen readers, hover `tips` by gid."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):].strip()
    text = _TAG.sub(lambda tag: _fix_tag(tag.group(0), prefix), text)
    opening = text[: text.index(">") + 1]
    width, height = _SIZE.search(opening).groups()
    head = (f'<svg class="chart {prefix}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>')
    text = head + text[len(opening):]
    text = text.replace("<style type=\"text/css\">*{", "<style type=\"text/css\">svg.chart *{")
    for gid, tip in (tips or {}).items():
        text = text.replace(f'<g id="{prefix}-{gid}">', f'<g id="{prefix}-{gid}"><title>{escape(tip)}</title>', 1)
    return text


def _fix_tag(tag: str, prefix: str) -> str:
    tag = re.sub(r'\s(?:xmlns(?::\w+)?|version)="[^"]*"', "", tag)
    tag = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', tag)
    tag = tag.replace('xlink:href="#', f'href="#{prefix}-')
    return tag.replace("url(#", f"url(#{prefix}-")

"""`edgekit bench --report bench.html`: one self-contained HTML page for a benchmark result.

Inline CSS and hand-drawn inline SVG: no JavaScript, no external URL, no plotting library,
so the page can be archived next to the JSON and opened on a machine with no network.
Every string taken from the result is escaped (model names come from file names).
Standard library + numpy only, like the rest of the on-device path.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import atomic_write_text

__all__ = ["nice_ticks", "render_bench_html", "write_bench_html"]

# Okabe-Ito: colours that stay distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999933")
MISSING = "\u2013"  # en dash
MAX_CV = 0.10  # the same bound as edgekit.bench.system.validity_warnings


def render_bench_html(result: dict) -> str:
    """The whole page for one "edgekit.bench/1" result, as a string."""
    models = result.get("models") or []
    body = "\n".join([
        _header(result, models),
        _machine_box(result.get("system") or {}),
        _alerts(result),
        _section("Side by side", _model_table(models)),
        _section("Latency distribution", _latency_figure(models)),
        _section("Accuracy against size", _accuracy_figure(models, result)),
        _section("Configuration", _config_list(result)),
        _section("How to read this page", _legend(result)),
    ])
    title = f"edgekit benchmark: {len(models)} model{'s' if len(models) != 1 else ''}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def write_bench_html(result: dict, path) -> Path:
    """Render `result` and write it to `path` atomically; returns the Path written."""
    return atomic_write_text(path, render_bench_html(result))


# --- axes -------------------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values, 1, 2 or 5 x 10^k apart, from at or below `lo` to at or above `hi`.

    A zero range is widened by 10% either side (or by 1 around zero) so an axis always spans
    something."""
    lo, hi = float(min(lo, hi)), float(max(lo, hi))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"tick range must be finite; received {lo}..{hi}")
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi)):
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = _nice_step((hi - lo) / max(target - 1, 1))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    digits = _decimals(step) + 1
    return [round(k * step, digits) for k in range(first, last + 1)]


def _nice_step(raw: float) -> float:
    power = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5):
        if raw <= multiple * power * (1 + 1e-9):
            return multiple * power
    return 10 * power


def _decimals(step: float) -> int:
    """Digits after the point that tell ticks `step` apart (0.05 -> 2, 0.2 -> 1, 5 -> 0)."""
    return max(0, -math.floor(math.log10(step) + 1e-9))


def _tick_label(value: float, ticks: list[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return f"{value:.{_decimals(step)}f}"


@dataclass(frozen=True)
class _Scale:
    """Linear map from data [lo, hi] to pixels [start, end] (end < start for a y axis)."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)


def _px(value: float) -> str:
    return f"{value:.1f}"


# --- formatting -------------------------------------------------------------------------


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value, spec: str, scale: float = 1.0, suffix: str = "") -> str:
    """`value * scale` in `spec`, or a dash when there is no number."""
    if value is None or isinstance(value, bool):
        return MISSING
    try:
        number = float(value) * scale
    except (TypeError, ValueError):
        return _esc(value)
    if math.isnan(number):
        return MISSING
    return format(number, spec) + suffix


def _snr(value) -> str:
    """SNR in dB; the JSON writes identical outputs as the string "inf"."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "infinity"):
        return "\u221e"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isinf(value):
        return "\u221e" if value > 0 else "-\u221e"
    return _fmt(value, ".1f")


def _significant(value: float, digits: int = 3) -> str:
    """`value` with `digits` significant digits, trailing zeros kept (1.197 -> "1.20")."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.{max(0, digits - 1 - math.floor(math.log10(abs(value))))}f}"


def _short(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def _latency(model: dict, key: str):
    """A latency figure from the model entry, falling back to its `latency` block."""
    value = model.get(key)
    return value if value is not None else (model.get("latency") or {}).get(key)


def _class_attr(css: str) -> str:
    return f' class="{css}"' if css else ""


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


# --- page sections ----------------------------------------------------------------------


def _section(title: str, content: str) -> str:
    return f"<section>\n<h2>{_esc(title)}</h2>\n{content}\n</section>"


def _header(result: dict, models: list[dict]) -> str:
    created = result.get("created")
    try:
        created = _dt.datetime.fromisoformat(str(created)).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    except ValueError:
        pass
    parts = [f"{len(models)} model{'s' if len(models) != 1 else ''}",
             f"created {created or 'at an unknown time'}",
             f"edgekit {result.get('edgekit_version') or 'unknown version'}"]
    subtitle = " \u00b7 ".join(_esc(p) for p in parts)
    return f"<header>\n<h1>edgekit benchmark</h1>\n<p class=\"subtitle\">{subtitle}</p>\n</header>"


def _definition_list(rows: list[tuple[str, str, str]], css: str) -> str:
    """rows of (term, already-escaped value, extra class of the value or "")."""
    items = "\n".join(
        f"<div><dt>{_esc(term)}</dt><dd{_class_attr(cls)}>{value}</dd></div>" for term, value, cls in rows
    )
    return f"<dl class=\"{css}\">\n{items}\n</dl>"


def _machine_box(system: dict) -> str:
    governors = system.get("governors") or []
    slow_governor = any(g != "performance" for g in governors)
    throttled = system.get("throttled")
    throttle_text, throttle_bad = "not reported", False
    if throttled is not None:
        throttle_bad = str(throttled) not in ("0x0", "0")
        throttle_text = f"{throttled} ({'throttling or under-voltage seen' if throttle_bad else 'none'})"
    os_name = system.get("os") or " ".join(str(system[k]) for k in ("system", "release") if system.get(k))
    rows = [
        ("Machine", _esc(system.get("machine") or MISSING), ""),
        ("OS", _esc(os_name or MISSING), ""),
        ("Kernel", _esc(" ".join(str(system[k]) for k in ("system", "release") if system.get(k)) or MISSING), ""),
        ("CPU", _esc(system.get("cpu_model") or MISSING), ""),
        ("Cores", _esc(system.get("cpu_count") or MISSING), ""),
        ("Board", _esc(system.get("board") or MISSING), ""),
        ("Governor", _esc(", ".join(governors) or "not reported"), "bad" if slow_governor else ""),
        ("Throttled", _esc(throttle_text), "bad" if throttle_bad else ""),
        ("Python", _esc(system.get("python") or MISSING), ""),
    ]
    return ("<section class=\"machine\">\n<h2>Machine</h2>\n"
            f"{_definition_list(rows, 'facts')}\n</section>")


def _alerts(result: dict) -> str:
    parts = []
    if result.get("interrupted"):
        parts.append("<div class=\"banner interrupted\"><strong>Interrupted: partial results.</strong> "
                     "The run was stopped early; some models may be missing or measured with fewer "
                     "runs than asked for.</div>")
    warnings = result.get("warnings") or []
    if warnings:
        items = "\n".join(f"<li class=\"warning\">{_esc(w)}</li>" for w in warnings)
        parts.append("<div class=\"warnings\"><strong>Check before trusting the latencies:</strong>"
                     f"\n<ul>\n{items}\n</ul></div>")
    return "\n".join(parts)


# --- the table --------------------------------------------------------------------------

_COLUMNS = ["model", "recipe", "size KiB", "size vs first", "p50 ms", "p90 ms", "p99 ms", "CV %",
            "speed-up vs first", "accuracy %", "top-5 %", "agreement %", "\u0394 accuracy pt",
            "SNR dB", "verdict"]


def _model_table(models: list[dict]) -> str:
    if not models:
        return "<p class=\"note\">No model was measured.</p>"
    head = "".join(f"<th{_class_attr('num' if i >= 2 else '')}>{_esc(c)}</th>" for i, c in enumerate(_COLUMNS))
    rows = "\n".join(_table_row(i, m) for i, m in enumerate(models))
    return (f"<div class=\"table-wrap\"><table>\n<thead><tr>{head}</tr></thead>\n"
            f"<tbody>\n{rows}\n</tbody>\n</table></div>")


def _table_row(index: int, m: dict) -> str:
    vs_first = m.get("vs_first") or {}
    cv = (m.get("latency") or {}).get("cv")
    delta = vs_first.get("accuracy_delta")
    name = (f"<div class=\"model-cell\"><span class=\"swatch\" style=\"background:{_colour(index)}\"></span>"
            f"<span class=\"name\" title=\"{_esc(m.get('path') or '')}\">{_esc(m.get('name', '?'))}</span>"
            + (" <span class=\"tag\">partial</span>" if m.get("interrupted") else "") + "</div>")
    size = m.get("size_bytes")
    cells = [
        ("model", name),
        ("", _esc(m.get("recipe") or MISSING)),
        ("num", _fmt(size, ",.1f", 1 / 1024)),
        ("num", _fmt(vs_first.get("size_ratio"), ".2f", suffix="\u00d7")),
        ("num", _fmt(_latency(m, "p50_ms"), ".3f")),
        ("num", _fmt(_latency(m, "p90_ms"), ".3f")),
        ("num", _fmt(_latency(m, "p99_ms"), ".3f")),
        ("num bad" if cv is not None and cv > MAX_CV else "num", _fmt(cv, ".1f", 100)),
        ("num", _fmt(vs_first.get("speedup"), ".2f", suffix="\u00d7")),
        ("num", _fmt(m.get("accuracy"), ".2f", 100)),
        ("num", _fmt(m.get("top5_accuracy"), ".2f", 100)),
        ("num", _fmt(m.get("agreement"), ".2f", 100)),
        ("num" + (" neg" if delta is not None and delta < 0 else ""), _fmt(delta, "+.2f", 100)),
        ("num", _snr(m.get("snr_db"))),
        ("verdict", _badge(m.get("verdict"), m.get("verdict_reason"))),
    ]
    tds = "".join(f"<td{_class_attr(cls)}>{text}</td>" for cls, text in cells)
    return f"<tr>{tds}</tr>"


def _badge(word, reason) -> str:
    title = f" title=\"{_esc(reason)}\"" if reason else ""
    if word in ("PASS", "FAIL"):
        return f"<span class=\"badge {word.lower()}\"{title}>{word}</span>"
    if reason == "the reference":
        return f"<span class=\"badge ref\"{title}>REF</span>"
    return f"<span class=\"muted\"{title}>{MISSING}</span>"


# --- plot 1: latency distribution -------------------------------------------------------

_QUANTILES = (1, 25, 50, 75, 90, 99)
_LAT = {"width": 960, "left": 210, "right": 90, "top": 16, "row": 58, "bottom": 46, "bins": 60}


def _distribution(samples_ns) -> dict | None:
    """Percentiles (ms) of one model's raw samples; None when there are none."""
    ms = np.asarray(samples_ns if samples_ns is not None else [], dtype=np.float64) / 1e6
    if ms.size == 0:
        return None
    values = np.percentile(ms, _QUANTILES)
    stats = {f"p{q}": float(v) for q, v in zip(_QUANTILES, values)}
    return {**stats, "min": float(ms.min()), "max": float(ms.max()), "n": int(ms.size), "ms": ms}


def _latency_figure(models: list[dict]) -> str:
    dists = [_distribution(m.get("samples_ns")) for m in models]
    present = [d for d in dists if d is not None]
    if not present:
        return "<p class=\"note\">No latency samples were recorded.</p>"
    ticks = nice_ticks(min(d["p1"] for d in present), max(d["p99"] for d in present), target=8)
    L = _LAT
    plot_bottom = L["top"] + L["row"] * len(models)
    height = plot_bottom + L["bottom"]
    x = _Scale(ticks[0], ticks[-1], L["left"], L["width"] - L["right"])
    parts = [_x_axis(ticks, x, L["top"], plot_bottom, "latency per call (ms)")]
    for i, (model, dist) in enumerate(zip(models, dists)):
        parts.append(_latency_row(model, dist, i, x, L["top"] + i * L["row"]))
    svg = _svg(L["width"], height, "Latency distribution per model (ms)", parts, "latency")
    key = ("Box: p25\u2013p75 \u00b7 dark line: median (p50) \u00b7 whiskers: p1\u2013p99 with the p99 value "
           "printed \u00b7 short tick: p90 \u00b7 shaded: histogram of all runs. Hover for the numbers.")
    return f"<figure>{svg}<figcaption>{_esc(key)}</figcaption></figure>"


def _latency_row(model: dict, dist: dict | None, index: int, x: _Scale, top: float) -> str:
    name = str(model.get("name", "?"))
    label = (f"<text class=\"row-label\" x=\"{_LAT['left'] - 12}\" y=\"{_px(top + 34)}\" text-anchor=\"end\">"
             f"<title>{_esc(name)}</title>{_esc(_short(name, 25))}</text>")
    if dist is None:
        return (f"{label}<text class=\"nosamples\" x=\"{_px(x.start)}\" y=\"{_px(top + 34)}\">"
                "no latency samples for this model (stopped before any timed run)</text>")
    colour, mid, half = _colour(index), top + 38, 7
    p = {k: x(v) for k, v in dist.items() if k.startswith("p")}
    title = (f"{name}: {dist['n']} runs; min {dist['min']:.3f}, p1 {dist['p1']:.3f}, p25 {dist['p25']:.3f}, "
             f"p50 {dist['p50']:.3f}, p75 {dist['p75']:.3f}, p90 {dist['p90']:.3f}, p99 {dist['p99']:.3f}, "
             f"max {dist['max']:.3f} ms")
    shapes = [
        _histogram_path(dist["ms"], x, top + 4, top + 28, colour),
        f"<line class=\"whisker\" x1=\"{_px(p['p1'])}\" x2=\"{_px(p['p99'])}\" y1=\"{_px(mid)}\" y2=\"{_px(mid)}\" stroke=\"{colour}\"/>",
        f"<line class=\"cap\" x1=\"{_px(p['p1'])}\" x2=\"{_px(p['p1'])}\" y1=\"{_px(mid - 5)}\" y2=\"{_px(mid + 5)}\" stroke=\"{colour}\"/>",
        f"<line class=\"cap p99\" x1=\"{_px(p['p99'])}\" x2=\"{_px(p['p99'])}\" y1=\"{_px(mid - 8)}\" y2=\"{_px(mid + 8)}\" stroke=\"{colour}\"/>",
        f"<rect class=\"iqr\" x=\"{_px(p['p25'])}\" y=\"{_px(mid - half)}\" width=\"{_px(max(p['p75'] - p['p25'], 1.0))}\" "
        f"height=\"{2 * half}\" fill=\"{colour}\" fill-opacity=\"0.30\" stroke=\"{colour}\"/>",
        f"<line class=\"p90\" x1=\"{_px(p['p90'])}\" x2=\"{_px(p['p90'])}\" y1=\"{_px(mid - 4)}\" y2=\"{_px(mid + 4)}\" stroke=\"{colour}\"/>",
        f"<line class=\"median\" x1=\"{_px(p['p50'])}\" x2=\"{_px(p['p50'])}\" y1=\"{_px(mid - half - 2)}\" y2=\"{_px(mid + half + 2)}\"/>",
        f"<text class=\"p99-label\" x=\"{_px(p['p99'] + 6)}\" y=\"{_px(mid + 4)}\">p99 {_significant(dist['p99'])}</text>",
    ]
    return f"{label}<g class=\"box\"><title>{_esc(title)}</title>{''.join(shapes)}</g>"


def _histogram_path(ms: np.ndarray, x: _Scale, top: float, bottom: float, colour: str) -> str:
    """A step outline of the samples' histogram over the shared axis, scaled to the row."""
    counts, edges = np.histogram(ms, bins=_LAT["bins"], range=(x.lo, x.hi))
    peak = counts.max() if counts.size and counts.max() > 0 else 1
    points = [f"M{_px(x(edges[0]))},{_px(bottom)}"]
    for count, left, right in zip(counts, edges[:-1], edges[1:]):
        y = bottom - (bottom - top) * count / peak
        points.append(f"L{_px(x(left))},{_px(y)}L{_px(x(right))},{_px(y)}")
    points.append(f"L{_px(x(edges[-1]))},{_px(bottom)}Z")
    return f"<path class=\"hist\" d=\"{''.join(points)}\" fill=\"{colour}\" fill-opacity=\"0.18\"/>"


# --- plot 2: accuracy against size ------------------------------------------------------

_ACC = {"width": 960, "height": 400, "left": 70, "right": 190, "top": 18, "bottom": 50}


def _accuracy_figure(models: list[dict], result: dict) -> str:
    points = [(i, m) for i, m in enumerate(models)
              if m.get("accuracy") is not None and m.get("size_bytes") is not None]
    if not points:
        return "<p class=\"note\">no labelled --data: accuracy not measured.</p>"
    ref_acc = (result.get("reference") or {}).get("accuracy")
    lines = _reference_lines(ref_acc, (result.get("config") or {}).get("min_relative_accuracy"))
    sizes = [m["size_bytes"] / 1024 for _, m in points]
    accs = [100 * m["accuracy"] for _, m in points] + [value for value, _, _ in lines]
    A = _ACC
    bottom, right = A["height"] - A["bottom"], A["width"] - A["right"]
    pad = 0.08 * (max(accs) - min(accs))  # keep points off the frame
    xt = nice_ticks(0.0, 1.04 * max(sizes), target=7)
    yt = nice_ticks(min(accs) - pad, min(max(accs) + pad, 100.0), target=6)
    x, y = _Scale(xt[0], xt[-1], A["left"], right), _Scale(yt[0], yt[-1], bottom, A["top"])
    parts = [_x_axis(xt, x, A["top"], bottom, "model size (KiB)"), _y_axis(yt, y, A["left"], right, "accuracy (%)")]
    for value, label, css in lines:
        parts.append(f"<line class=\"{css}\" x1=\"{A['left']}\" x2=\"{right}\" y1=\"{_px(y(value))}\" y2=\"{_px(y(value))}\"/>"
                     f"<text class=\"ref-label\" x=\"{right + 8}\" y=\"{_px(y(value) + 4)}\">{_esc(label)}</text>")
    placed: list[tuple[float, float, float]] = []
    for (i, m), size in zip(points, sizes):
        parts.append(_scatter_point(m, size, _colour(i), x, y, right, placed))
    svg = _svg(A["width"], A["height"], "Accuracy against model size", parts, "accuracy")
    key = "One point per model with a measured accuracy (labelled --data)."
    if ref_acc is not None:
        key += " Dashed: the reference's accuracy; dotted: the PASS bound."
    return f"<figure>{svg}<figcaption>{_esc(key)}</figcaption></figure>"


def _reference_lines(ref_acc, min_relative) -> list[tuple[float, str, str]]:
    """(accuracy %, label, class) of the reference accuracy and the PASS bound, when known."""
    if ref_acc is None:
        return []
    lines = [(100 * ref_acc, f"reference {100 * ref_acc:.2f}%", "ref-line")]
    if min_relative is not None:
        bound = 100 * min_relative * ref_acc
        lines.append((bound, f"PASS \u2265 {bound:.2f}%", "bound-line"))
    return lines


def _scatter_point(m: dict, size: float, colour: str, x: _Scale, y: _Scale, right: float, placed: list) -> str:
    name = str(m.get("name", "?"))
    px, py = x(size), y(100 * m["accuracy"])
    label = _short(name, 26)
    width = 6.6 * len(label)
    on_left = px + 10 + width > right + _ACC["right"] - 4
    lx = px - 10 - width if on_left else px + 10
    ly = _free_label_y(lx, py + 4, width, placed)
    title = f"{name}: {size:,.1f} KiB, accuracy {100 * m['accuracy']:.2f}%"
    return (f"<g class=\"point\"><title>{_esc(title)}</title>"
            f"<circle cx=\"{_px(px)}\" cy=\"{_px(py)}\" r=\"6\" fill=\"{colour}\"/>"
            f"<text class=\"point-label\" x=\"{_px(lx)}\" y=\"{_px(ly)}\">{_esc(label)}</text></g>")


def _free_label_y(x: float, y: float, width: float, placed: list) -> float:
    """The first of y, y+14, y-14, y+28, ... where a label does not overlap one already placed."""
    for shift in (0, 14, -14, 28, -28, 42, -42, 56, -56):
        candidate = y + shift
        if all(abs(candidate - other_y) >= 13 or x + width < other_x or other_x + other_w < x
               for other_x, other_y, other_w in placed):
            placed.append((x, candidate, width))
            return candidate
    placed.append((x, y, width))
    return y


# --- shared SVG pieces ------------------------------------------------------------------


def _svg(width: int, height: float, title: str, parts: list[str], css: str) -> str:
    return (f"<svg class=\"plot {css}\" width=\"{width}\" height=\"{_px(height)}\" "
            f"viewBox=\"0 0 {width} {_px(height)}\" role=\"img\">"
            f"<title>{_esc(title)}</title>{''.join(parts)}</svg>")


def _x_axis(ticks: list[float], x: _Scale, top: float, bottom: float, title: str) -> str:
    parts = [f"<line class=\"axis\" x1=\"{_px(x.start)}\" x2=\"{_px(x.end)}\" y1=\"{_px(bottom)}\" y2=\"{_px(bottom)}\"/>"]
    for tick in ticks:
        at = _px(x(tick))
        parts.append(f"<line class=\"grid\" x1=\"{at}\" x2=\"{at}\" y1=\"{_px(top)}\" y2=\"{_px(bottom + 5)}\"/>"
                     f"<text class=\"tick-label x\" x=\"{at}\" y=\"{_px(bottom + 19)}\" text-anchor=\"middle\">"
                     f"{_tick_label(tick, ticks)}</text>")
    parts.append(f"<text class=\"axis-title\" x=\"{_px((x.start + x.end) / 2)}\" y=\"{_px(bottom + 39)}\" "
                 f"text-anchor=\"middle\">{_esc(title)}</text>")
    return "".join(parts)


def _y_axis(ticks: list[float], y: _Scale, left: float, right: float, title: str) -> str:
    parts = [f"<line class=\"axis\" x1=\"{_px(left)}\" x2=\"{_px(left)}\" y1=\"{_px(y.start)}\" y2=\"{_px(y.end)}\"/>"]
    for tick in ticks:
        at = _px(y(tick))
        parts.append(f"<line class=\"grid\" x1=\"{_px(left - 5)}\" x2=\"{_px(right)}\" y1=\"{at}\" y2=\"{at}\"/>"
                     f"<text class=\"tick-label y\" x=\"{_px(left - 9)}\" y=\"{_px(float(at) + 4)}\" text-anchor=\"end\">"
                     f"{_tick_label(tick, ticks)}</text>")
    mid = (y.start + y.end) / 2
    parts.append(f"<text class=\"axis-title\" x=\"16\" y=\"{_px(mid)}\" text-anchor=\"middle\" "
                 f"transform=\"rotate(-90 16 {_px(mid)})\">{_esc(title)}</text>")
    return "".join(parts)


# --- configuration and legend -----------------------------------------------------------


def _config_list(result: dict) -> str:
    c = result.get("config") or {}
    rows = [
        ("Timed runs", _esc(f"at least {c.get('runs', MISSING)} runs and {c.get('min_time_s', MISSING)} s "
                            f"(at most {c.get('max_runs', MISSING)})"), ""),
        ("Warm-up", _esc(f"at least {c.get('warmup', MISSING)} runs and {c.get('warmup_time_s', MISSING)} s"), ""),
        ("Threads", _esc(c.get("threads") if c.get("threads") is not None else "interpreter default"), ""),
        ("Backend", _esc(c.get("backend") or MISSING), ""),
        ("PASS bound", _esc(_fmt(c.get("min_relative_accuracy"), "g", 100, "% of the reference accuracy")), ""),
        ("Data", _esc(_describe_data(result.get("data"))), ""),
        ("Reference", _esc(_describe_reference(result.get("reference"))), ""),
    ]
    return _definition_list(rows, "facts config")


def _describe_data(data: dict | None) -> str:
    if not data:
        return "none: latency measured on zeros, accuracy not measured"
    shape = "\u00d7".join(str(d) for d in data.get("shape") or [])
    details = [str(data[k]) for k in ("kind",) if data.get(k)]
    if data.get("n") is not None:
        details.append(f"{data['n']} samples")
    if shape:
        details.append(f"shape {shape}")
    details.append("labelled" if data.get("has_labels") else "no labels")
    return f"{data.get('source', '?')} ({', '.join(details)})"


def _describe_reference(reference: dict | None) -> str:
    if not reference:
        return "none"
    kind = "the first model" if reference.get("kind") == "first-model" else str(reference.get("kind", "?"))
    text = f"{kind}: {reference.get('path', '?')}"
    if reference.get("accuracy") is not None:
        text += f" (accuracy {100 * reference['accuracy']:.2f}%)"
    return text


def _legend(result: dict) -> str:
    bound = (result.get("config") or {}).get("min_relative_accuracy")
    share = _fmt(bound, "g", 100, "%") if bound is not None else "the --min-relative-accuracy share"
    rows = [
        ("p50 / p90 / p99", "the latency that 50%, 90% and 99% of timed calls stay under; p50 is the median, "
                            "p99 the near-worst case a user notices."),
        ("CV", f"coefficient of variation: standard deviation / mean of the latencies. Above {100 * MAX_CV:.0f}% "
               "the machine was busy or changing frequency; the number is marked red."),
        ("size / speed-up vs first", "file size and p50 speed relative to the first model in the table "
                                     "(speed-up 2\u00d7 = half the median latency)."),
        ("agreement", "share of inputs where the model's top-1 class equals the reference model's."),
        ("\u0394 accuracy pt", "accuracy minus the first model's accuracy, in percentage points."),
        ("SNR dB", "signal-to-noise ratio of the outputs against the reference: 10\u00b7log10(signal power "
                   "/ error power); higher is closer, \u221e means identical outputs."),
        ("PASS / FAIL", f"PASS when accuracy \u2265 {share} \u00d7 the reference's accuracy (MLPerf-style); "
                        "REF marks the model that is the reference; a dash: no labelled data or no reference."),
    ]
    return _definition_list([(term, _esc(text), "") for term, text in rows], "legend")


_CSS = """
:root { --ink:#1d2433; --muted:#5d6779; --line:#dde2ea; --soft:#f5f7fa; --pass:#1a7f37; --fail:#c62828; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 28px 56px; }
h1 { font-size: 28px; margin: 0; letter-spacing: -0.01em; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.subtitle { color: var(--muted); margin: 4px 0 0; }
.machine { background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 4px 18px 14px;
  margin-top: 20px; }
.machine h2 { border: 0; margin: 10px 0 6px; font-size: 15px; text-transform: uppercase; letter-spacing: .06em;
  color: var(--muted); }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 6px 24px; margin: 0; }
dl.facts div { display: flex; gap: 10px; min-width: 0; }
dl.facts dt { flex: 0 0 90px; color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
dl.config { grid-template-columns: 1fr; }
dl.config dt { flex-basis: 110px; }
dd.bad, td.bad { color: var(--fail); font-weight: 600; }
.banner, .warnings { border-radius: 8px; padding: 10px 16px; margin-top: 16px; }
.banner.interrupted { background: #fdecea; border: 1px solid #f3b8b2; color: #8a1c12; }
.warnings { background: #fff8e1; border: 1px solid #f2d48a; color: #6b4e00; }
.warnings ul { margin: 4px 0 0; padding-left: 20px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 9px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { font-size: 12px; font-weight: 600; color: var(--muted); vertical-align: bottom; white-space: normal;
  border-bottom: 2px solid #c5ccd8; }
th.num, td.num { text-align: right; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #eef3fb; }
td.neg { color: var(--fail); }
td.model { white-space: normal; overflow-wrap: anywhere; min-width: 13em; }
.model-cell { display: flex; align-items: baseline; gap: 6px; }
.name { font-weight: 600; }
.swatch { flex: 0 0 10px; height: 10px; border-radius: 2px; }
.tag { font-size: 11px; color: #8a1c12; background: #fdecea; border-radius: 4px; padding: 1px 5px; }
.badge { display: inline-block; min-width: 44px; text-align: center; font-size: 12px; font-weight: 700;
  letter-spacing: .04em; border-radius: 999px; padding: 2px 10px; }
.badge.pass { background: #dcf5e3; color: var(--pass); border: 1px solid #9fd8b0; }
.badge.fail { background: #fde2e0; color: var(--fail); border: 1px solid #f1a9a3; }
.badge.ref { background: #e8ecf3; color: var(--muted); border: 1px solid #c5ccd8; }
.muted, .note { color: var(--muted); }
.note { font-style: italic; }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
svg.plot { display: block; width: 100%; height: auto; font-family: inherit; }
svg .grid { stroke: #e6e9ef; }
svg .axis { stroke: #8a93a3; }
svg .tick-label, svg .p99-label, svg .ref-label { font-size: 11px; fill: var(--muted); }
svg .axis-title { font-size: 12px; fill: var(--ink); }
svg .row-label, svg .point-label { font-size: 12px; fill: var(--ink); }
svg .nosamples { font-size: 12px; fill: var(--muted); font-style: italic; }
svg .whisker, svg .cap, svg .p90 { stroke-width: 1.5; }
svg .median { stroke: var(--ink); stroke-width: 2.5; }
svg .point circle { stroke: #fff; stroke-width: 1.5; }
svg .ref-line { stroke: #5d6779; stroke-dasharray: 6 4; }
svg .bound-line { stroke: var(--pass); stroke-dasharray: 2 3; }
dl.legend { margin: 0; }
dl.legend div { display: flex; gap: 12px; padding: 3px 0; }
dl.legend dt { flex: 0 0 180px; font-weight: 600; }
dl.legend dd { margin: 0; color: #38404f; }
@media print { main { max-width: none; padding: 0; } tbody tr:hover { background: none; } }
"""

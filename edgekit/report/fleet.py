"""A fleet benchmark (FleetResult, schema edgekit.fleet/2) on one page, in the style of the
single-run report (its CSS, tables, badges, answer box and machine box are shared): which
model to ship on each device first, then a row per device and model (the verdict third, never
off-screen), a chart of every model's p50 on every device, each device's facts and warnings,
and every failure named.
"""

from __future__ import annotations

from .charts import fleet_latency_figure, styled, to_svg
from .format import fmt_ms, fmt_pct, fmt_points, fmt_ratio
from .html import (
    Column, badge, cell, created_text, esc, machine_box, model_cell, page, require_plotting, section, table,
    swatch, warnings_box,
)
from .summary import short_names, summarize

__all__ = ["render_fleet_html"]

DASH = "\u2013"

_COLUMNS = [
    Column("device", "model"), Column("model", "model"),
    Column("verdict", "verdict", "PASS: accuracy at least the bound; REF: the reference"),
    Column("p50 ms", hint="median latency per call"), Column("p99 ms"),
    Column("speed-up", hint="p50 of the device's first model / this p50"),
    Column("accuracy"), Column("\u0394 accuracy pt", hint="accuracy minus the device's first model's"),
    Column("agreement", hint="top-1 agreement with the reference"),
]


def render_fleet_html(fleet) -> str:
    """The whole page for a FleetResult, as a string."""
    require_plotting()
    devices = fleet.devices
    names = _model_names(fleet)
    labels = dict(zip(names, short_names(names)))
    body = [
        f"<header>\n<h1>edgekit fleet benchmark</h1>\n<p class=\"subtitle\">{len(devices)} device"
        f"{'s' if len(devices) != 1 else ''} \u00b7 created {esc(created_text(fleet.created) or 'at an unknown time')}"
        "</p>\n</header>",
        _failures(fleet),
        _answers(fleet),
        section("Side by side", _table(fleet, labels), "verdicts"),
        section("Latency on each device", _chart(fleet, names, labels), "plots"),
        *(_device_section(d) for d in devices if d.result is not None),
    ]
    return page(f"edgekit fleet benchmark: {len(devices)} devices", body)


def _answers(fleet) -> str:
    """Which model to ship on each device: one sentence per device that answered."""
    items = [f"<li>{swatch(k)}<strong>{esc(d.name)}</strong>: {esc(summarize(d.result).sentence)}</li>"
             for k, d in enumerate(fleet.devices) if d.result is not None]
    if not items:
        return ""
    return ("<section class=\"answer\" aria-label=\"Summary\">\n<h2>Which model to ship, per device</h2>\n"
            f"<ul class=\"device-answers\">{''.join(items)}</ul>\n</section>")


def _model_names(fleet) -> list[str]:
    """Every model name measured on any device, in the order first seen."""
    names: list[str] = []
    for entry in fleet.devices:
        for m in () if entry.result is None else entry.result.models:
            if m.name not in names:
                names.append(m.name)
    return names


def _failures(fleet) -> str:
    failed = [d for d in fleet.devices if d.error is not None]
    if not failed and not fleet.interrupted:
        return ""
    items = "".join(f"<li>{esc(d.name)} ({esc(d.address)}): {esc(d.error.message)}</li>" for d in failed)
    head = f"{len(failed)} of {len(fleet.devices)} devices failed." if failed else "Interrupted: partial results."
    return f"<div class=\"banner interrupted\"><strong>{esc(head)}</strong><ul>{items}</ul></div>"


def _table(fleet, labels: dict[str, str]) -> str:
    rows = []
    for k, entry in enumerate(fleet.devices):
        device = cell(f"{swatch(k)}<strong>{esc(entry.name)}</strong>")
        if entry.result is None:
            message = "failed: " + (entry.error.message if entry.error is not None else "no result")
            rows.append([device, cell(f"<span class=\"bad\">{esc(message)}</span>")] + [cell(DASH)] * 7)
            continue
        ship = summarize(entry.result).ship
        for i, m in enumerate(entry.result.models):
            vs, lat = m.vs_first, m.latency
            delta = None if vs is None else vs.accuracy_delta
            tags = ("ship",) if ship is not None and ship.index == i else ()
            rows.append([
                device, model_cell(labels[m.name], m.name, m.path, None, tags=tags),
                cell(badge(m.verdict.word, m.verdict.reason), title=m.verdict.reason),
                cell(fmt_ms(lat.p50_ms if lat.runs else None, DASH)),
                cell(fmt_ms(lat.p99_ms if lat.runs else None, DASH)),
                cell(fmt_ratio(None if vs is None else vs.speedup, DASH)),
                cell(fmt_pct(m.accuracy, missing=DASH)),
                cell(fmt_points(delta, missing=DASH), "neg" if delta is not None and delta < 0 else ""),
                cell(fmt_pct(m.top1_agreement, missing=DASH)),
            ])
    if not rows:
        return "<p class=\"note\">No device answered.</p>"
    return table(_COLUMNS, rows, "primary")


def _chart(fleet, names: list[str], labels: dict[str, str]) -> str:
    answered = [(k, d) for k, d in enumerate(fleet.devices) if d.result is not None]
    rows = []
    for name in names:
        entries = [(k, m) for k, d in answered for m in d.result.models if m.name == name]
        rows.append((labels[name], entries))
    with styled("fleet"):
        made = None if not rows else fleet_latency_figure(rows)
        svg = None if made is None else to_svg(made[0], "fleet", "p50 latency of each model on each device", made[1])
    if svg is None:
        return "<p class=\"note\">No latency was measured.</p>"
    key = "".join(f"<li>{swatch(k)}{esc(d.name)}</li>"
                  for k, d in answered)
    return (f"<figure>\n<ul class=\"device-key\">{key}</ul>\n{svg}\n<figcaption>One row per model, one dot per "
            "device (its colour above), log axis; bar: p25\u2013p75.</figcaption>\n</figure>")


def _device_section(entry) -> str:
    result = entry.result
    notes = "".join(f"<li>{esc(n)}</li>" for n in summarize(result).notes)
    notes = f"<ul class=\"notes\">{notes}</ul>" if notes else ""
    return section(f"{entry.name} ({entry.address})",
                   notes + machine_box(result.system, "Machine") + warnings_box(result), "device")

"""A fleet benchmark (schema edgekit.fleet/1) side by side: a row per device and model.

`fleet_rows` feeds the terminal table and `render_fleet_html` a self-contained page in the
style of the single-run report (its CSS, badges and machine box are reused), with every
device's facts and every failure named.
"""

from __future__ import annotations

from .html import _CSS, _badge, _esc, _fmt, _machine_box, _section

MISSING = "\u2013"


def fleet_rows(fleet: dict) -> list[dict]:
    """One row per (device, model); a failed device gets one row holding its error."""
    rows = []
    for entry in fleet.get("devices") or []:
        result = entry.get("result") or {}
        system = result.get("system") or {}
        where = {"device": entry["name"], "board": system.get("board") or system.get("machine")}
        if entry.get("error"):
            rows.append({**where, "error": entry["error"]["message"]})
            continue
        for m in result.get("models") or []:
            vs = m.get("vs_first") or {}
            rows.append({**where, "model": m.get("name"), "recipe": m.get("recipe"), "p50_ms": m.get("p50_ms"),
                         "p90_ms": m.get("p90_ms"), "p99_ms": m.get("p99_ms"), "speedup": vs.get("speedup"),
                         "accuracy": m.get("accuracy"), "agreement": m.get("agreement"),
                         "accuracy_delta": vs.get("accuracy_delta"), "verdict": m.get("verdict"),
                         "verdict_reason": m.get("verdict_reason"), "interrupted": m.get("interrupted")})
    return rows


_COLUMNS = ["device", "board", "model", "recipe", "p50 ms", "p90 ms", "p99 ms", "speed-up vs first",
            "accuracy %", "agreement %", "\u0394 accuracy pt", "verdict"]


def _row_html(row: dict) -> str:
    head = f"<td><strong>{_esc(row['device'])}</strong></td><td>{_esc(row.get('board') or MISSING)}</td>"
    if row.get("error"):
        return f"<tr>{head}<td colspan=\"{len(_COLUMNS) - 2}\" class=\"bad\">failed: {_esc(row['error'])}</td></tr>"
    cells = [
        ("", _esc(row["model"])), ("", _esc(row.get("recipe") or MISSING)),
        ("num", _fmt(row["p50_ms"], ".3f")), ("num", _fmt(row["p90_ms"], ".3f")), ("num", _fmt(row["p99_ms"], ".3f")),
        ("num", _fmt(row["speedup"], ".2f", suffix="\u00d7")), ("num", _fmt(row["accuracy"], ".2f", 100)),
        ("num", _fmt(row["agreement"], ".2f", 100)), ("num", _fmt(row["accuracy_delta"], "+.2f", 100)),
        ("verdict", _badge(row.get("verdict"), row.get("verdict_reason"))),
    ]
    return f"<tr>{head}" + "".join(f"<td class=\"{cls}\">{text}</td>" for cls, text in cells) + "</tr>"


def _table(rows: list[dict]) -> str:
    numeric = ' class="num"'
    head = "".join(f"<th{numeric if 4 <= i < 11 else ''}>{_esc(c)}</th>" for i, c in enumerate(_COLUMNS))
    body = "\n".join(_row_html(r) for r in rows)
    return f"<div class=\"table-wrap\"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table></div>"


def _device_section(entry: dict) -> str:
    result = entry.get("result") or {}
    warnings = result.get("warnings") or []
    items = "".join(f"<li class=\"warning\">{_esc(w)}</li>" for w in warnings)
    notes = f"<div class=\"warnings\"><ul>{items}</ul></div>" if items else ""
    return _section(f"{entry['name']} ({entry.get('address')})", _machine_box(result.get("system") or {}) + notes)


def render_fleet_html(fleet: dict) -> str:
    devices = fleet.get("devices") or []
    failed = [d for d in devices if d.get("error")]
    banner = ""
    if failed:
        items = "".join(f"<li>{_esc(d['name'])}: {_esc(d['error']['message'])}</li>" for d in failed)
        banner = f"<div class=\"banner interrupted\"><strong>{len(failed)} of {len(devices)} devices failed.</strong><ul>{items}</ul></div>"
    body = "\n".join([
        f"<header>\n<h1>edgekit fleet benchmark</h1>\n<p class=\"subtitle\">{len(devices)} devices \u00b7 "
        f"created {_esc(fleet.get('created') or 'at an unknown time')}</p>\n</header>",
        banner,
        _section("Side by side", _table(fleet_rows(fleet))),
        *(_device_section(d) for d in devices if not d.get("error")),
    ])
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>edgekit fleet benchmark: {len(devices)} devices</title>\n<style>{_CSS}</style>\n</head>\n"
            f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")

"""Comparison rows (plain dicts) and the demo's Markdown report."""

from __future__ import annotations

from .format import fmt_kib, fmt_ms, fmt_pct, fmt_points, fmt_ratio


def comparison_rows(result) -> list[dict]:
    """One row per artifact of a ConvertResult: size, ratio, agreement, accuracy, delta."""
    rows = []
    for artifact in result.artifacts:
        m, v = artifact.manifest, artifact.manifest.verification
        rows.append({
            "recipe": artifact.recipe.name, "io": artifact.recipe.io, "path": str(artifact.path),
            "size_bytes": m.size.size_bytes, "ratio_vs_float32": m.size.ratio_vs_float32,
            "top1_agreement": v.top1_agreement, "accuracy": v.accuracy, "accuracy_delta": v.accuracy_delta,
            "snr_db": v.snr_db, "conversion_s": m.conversion_s,
        })
    return rows


TABLE_HEADER = ["recipe", "I/O", "KiB", "vs f32", "agree", "accuracy", "delta pt"]
DEMO_HEADER = ["recipe", "KiB", "size", "accuracy", "delta pt", "agree", "p50 ms", "speed", "verdict"]


def table_cells(row: dict) -> list[str]:
    """The human-readable cells of one comparison row (TABLE_HEADER)."""
    return [row["recipe"], row["io"], fmt_kib(row["size_bytes"]), fmt_ratio(row["ratio_vs_float32"]),
            fmt_pct(row["top1_agreement"]), fmt_pct(row["accuracy"]), fmt_points(row["accuracy_delta"])]


def demo_cells(row: dict) -> list[str]:
    """The cells of one demo row (DEMO_HEADER): size and speed relative to float32."""
    return [row["recipe"], fmt_kib(row["size_bytes"]), fmt_ratio(row["ratio_vs_float32"]), fmt_pct(row["accuracy"]),
            fmt_points(row["accuracy_delta"]), fmt_pct(row["top1_agreement"]), fmt_ms(row.get("p50_ms")),
            fmt_ratio(row.get("speedup_vs_float32")), row.get("verdict") or "-"]


def markdown_report(report: dict) -> str:
    """The demo's report.md: the data, the table, the answer and why a recipe is slower."""
    lines = [
        "# edgekit demo",
        "",
        f"Data: {report['dataset']['name']}: {report['dataset']['train']} training, "
        f"{report['dataset'].get('validation', 0)} validation and {report['dataset']['test']} held-out test images "
        f"(calibration: {report['dataset']['calibration']}; verification and benchmark: "
        f"{report['dataset']['evaluation']}).",
        f"Float Keras model accuracy on the held-out test images: {fmt_pct(report['float_accuracy'])}.",
        "",
        f"**{report['summary']}**",
        "",
        "| " + " | ".join(DEMO_HEADER) + " |",
        "|---|" + "---:|" * (len(DEMO_HEADER) - 1),
    ]
    lines += ["| " + " | ".join(demo_cells(row)) + " |" for row in report["rows"]]
    lines += [""] + [f"- {note}" for note in report["notes"]] + ([""] if report["notes"] else [])
    lines += [
        "size, speed: file size and p50 speed relative to the float32 artifact (speed 2.00x: twice as fast). "
        "agree: share of held-out images where the artifact's top-1 class equals the float Keras model's. "
        "delta pt: accuracy change in points against the float Keras model. p50: median latency of one image "
        f"through edgekit.runtime on this machine, {report['threads']} thread(s). verdict: PASS when accuracy "
        ">= 0.99 x the Keras model's. Every number: bench.json (and report.html).",
        "",
        f"Finished in {report['seconds']} s.",
        "",
    ]
    return "\n".join(lines)

"""Comparison tables (rows of plain dicts) and the demo's Markdown report."""

from __future__ import annotations


def comparison_rows(result) -> list[dict]:
    """One row per artifact of a ConvertResult: size, ratio, agreement, accuracy, delta."""
    rows = []
    for artifact in result.artifacts:
        summary = artifact.summary()
        rows.append({key: summary[key] for key in (
            "recipe", "io", "path", "bytes", "ratio_vs_float32", "top1_agreement",
            "accuracy", "accuracy_delta", "snr_db", "conversion_seconds",
        )})
    return rows


def fmt_pct(value) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def fmt_delta(value) -> str:
    return "-" if value is None else f"{100 * value:+.2f}"


def fmt_ms(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def fmt_kb(value) -> str:
    return f"{value / 1024:.1f}"


def table_cells(row: dict) -> list[str]:
    """The human-readable cells of one comparison row (shared by the terminal and Markdown)."""
    return [
        row["recipe"],
        row["io"],
        fmt_kb(row["bytes"]),
        f"{row['ratio_vs_float32']:.2f}x",
        fmt_pct(row["top1_agreement"]),
        fmt_pct(row["accuracy"]),
        fmt_delta(row["accuracy_delta"]),
        fmt_ms(row.get("p50_ms")),
    ]


TABLE_HEADER = ["recipe", "I/O", "KiB", "vs f32", "agree", "accuracy", "delta pt", "p50 ms"]


def markdown_report(report: dict) -> str:
    lines = [
        "# edgekit demo",
        "",
        f"Data: {report['dataset']['name']}, {report['dataset']['train']} training and "
        f"{report['dataset']['test']} held-out images.",
        f"Float Keras model accuracy on the held-out set: {fmt_pct(report['float_accuracy'])}.",
        "",
        "| " + " | ".join(TABLE_HEADER) + " |",
        "|" + "---|" * len(TABLE_HEADER),
    ]
    lines += ["| " + " | ".join(table_cells(row)) + " |" for row in report["rows"]]
    lines += [
        "",
        "vs f32: file size relative to the float32 artifact. agree: share of held-out images where the artifact's top-1 class equals the float "
        "Keras model's. delta pt: accuracy change in points against the float Keras model. "
        "p50: median "
        "latency of one image through edgekit.runtime on this machine, one thread.",
        "",
        f"Finished in {report['seconds']} s.",
        "",
    ]
    return "\n".join(lines)

"""Number formatting and plain-text tables shared by the report renderers."""

from __future__ import annotations

from collections.abc import Sequence

NOT_CAPTURED = "not captured"


def ms(value: float | None, missing: str = NOT_CAPTURED) -> str:
    """850 ms, 1.2 s, 2.0 min; ``missing`` for None."""
    if value is None:
        return missing
    if abs(value) < 1000:
        return f"{value:.0f} ms"
    if abs(value) < 120_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60_000:.1f} min"


def signed_ms(value: float | None, missing: str = "-") -> str:
    if value is None:
        return missing
    return ("+" if value >= 0 else "-") + ms(abs(value))


def pct(value: float | None, missing: str = "-", signed: bool = False) -> str:
    if value is None:
        return missing
    return f"{value:+.1f}%" if signed else f"{value:.1f}%"


def stage_name(stage_id: int, attempt: int) -> str:
    return f"{stage_id}" if attempt == 0 else f"{stage_id}.{attempt}"


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
               right: Sequence[bool] | None = None, indent: str = "  ") -> list[str]:
    """Columns padded to their widest cell; ``right`` marks right-aligned columns."""
    right = right or [False] * len(headers)
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w)
                 for c, w, r in zip(cells, widths, right, strict=True)]
        return (indent + "  ".join(parts)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
             right: Sequence[bool] | None = None) -> list[str]:
    right = right or [False] * len(headers)

    def escape(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    rule = ["---:" if r else "---" for r in right]
    return ["| " + " | ".join(escape(h) for h in headers) + " |",
            "| " + " | ".join(rule) + " |",
            *("| " + " | ".join(escape(c) for c in row) + " |" for row in rows)]

"""Small pieces the tables share: numbers, settings and statuses as short, coloured cells."""

from __future__ import annotations

from rich.markup import escape

from mnistcli.config.schema import DATASET_NAMES

STATUS_STYLE = {
    "completed": "green", "duplicate": "green", "running": "cyan", "interrupted": "yellow",
    "failed": "red", "died": "red",
}


def pct(value, digits: int = 2) -> str:
    return "[dim]-[/]" if value is None else f"{value:.{digits}%}"


def seconds(value) -> str:
    return "[dim]-[/]" if value is None else f"{value:.1f} s"


def count(value) -> str:
    return "[dim]-[/]" if value is None else f"{value:,}"


def size(value) -> str:
    """A parameter count in a narrow column: 7,850 -> 7.8k, 203,530 -> 204k, 1,234,567 -> 1.2M."""
    if value is None:
        return "[dim]-[/]"
    for limit, unit in ((1e6, "M"), (1e3, "k")):
        if value >= limit:
            n = value / limit
            return f"{n:.1f}{unit}" if n < 10 else f"{n:.0f}{unit}"
    return str(value)


def short_path(path: str, width: int) -> str:
    """A path in at most `width` characters where it can be: whole, or "…/" and as many of its last parts as fit.

    Never cut inside a part: the run folder's own name is kept whole even where it alone is wider.
    """
    if len(path) <= width:
        return path
    parts = path.split("/")
    kept = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + 1 + len(kept) + 2 > width:
            break
        kept = f"{part}/{kept}"
    return f"…/{kept}"


def status_cell(status: str, text: str | None = None) -> str:
    """The status word (or `text`) in the status's colour."""
    return f"[{STATUS_STYLE.get(status, 'yellow')}]{escape(text or status)}[/]"


def setting(value) -> str:
    """A setting as a short cell: [128, 64] -> 128-64, 0.00065362640 -> 0.000654."""
    if value is None:
        return "[dim]-[/]"
    if isinstance(value, (list, tuple)):
        return "-".join(str(v) for v in value) or "none"
    if isinstance(value, str) and any(c in value for c in ".eE"):
        try:
            value = float(value)  # override values arrive as text; Optuna's floats have 17 digits
        except ValueError:
            pass
    if isinstance(value, float):
        return f"{value:.3g}"
    return escape(str(value))


def dataset_name(name: str | None, source: str | None = None) -> str:
    """A data set as people write it: MNIST, Fashion-MNIST; the offline fallback says it is a sample."""
    shown_name = DATASET_NAMES.get(str(name), str(name or "?"))
    if source and "offline" in source:
        return f"{shown_name} (offline 5,000-digit sample)"
    return shown_name

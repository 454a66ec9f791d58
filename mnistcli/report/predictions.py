"""What `predict` shows: which run read the images, then per image the number read, its confidence, each digit
(doubtful ones flagged, with their runner-up), the top-k probabilities of a one-digit image as bars, and with
--show the picture with the digits' boxes and each 28x28 input the model saw."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from rich.text import Text

from mnistcli.report.console import console, error

SHADES = " ░▒▓█"


def _shade(v: float) -> str:
    """A pixel's value in [0, 1] as one of SHADES."""
    return SHADES[min(int(float(v) * len(SHADES)), len(SHADES) - 1)]


def _digit_drawing(pixels) -> Text:
    """The model's input as shaded blocks, two characters a pixel: readable with or without colour."""
    text = Text()
    for row in pixels:
        line = "".join(_shade(v) * 2 for v in row)
        text.append(line.rstrip() + "\n", style="bright_white")
    return text


def run_line(run: Mapping) -> Text:
    """Which model read the images: model, dataset, test accuracy; then, dim, the run folder and backend."""
    text = Text.assemble(("read by ", "dim"), (str(run.get("model")), "bold cyan"))
    if run.get("description"):
        text.append(f" ({run['description']})")
    text.append(f", trained on {run.get('dataset')}")
    if run.get("test_accuracy") is not None:
        text.append(f", test accuracy {run['test_accuracy']:.2%}")
    text.append(f"\n  run {run.get('dir')}", "dim")
    if run.get("backend") and run.get("backend") != "auto":
        text.append(f" ({run['backend']})", "dim")
    return text


def predictions(result: Mapping, top: int = 3, show: bool = False) -> None:
    """The run, then per file: the number (or digit), confidences, and optionally the pictures."""
    classes = result["classes"]
    run = dict(result.get("run") or {}, backend=result.get("backend"))
    if run.get("dir") is not None:
        console.print(run_line(run))  # wrapped at words on a narrow terminal
    for r in result["results"]:
        if "error" in r:
            error(r["error"])
            continue
        console.print(_prediction(r, classes, top), soft_wrap=True)
        if show:
            _show(r)


def _prediction(r: Mapping, classes: list, top: int) -> Text:
    """One file's answer, built as Text rather than markup and grids: 1,000 files render in ~0.1 s, not 3 s."""
    digits = r.get("digits") or []
    if len(digits) <= 1 and "digit" in r:  # one digit: as predict has always shown it, with top-k bars
        text = Text.assemble((r["file"], "bold"), ": ", (str(r["digit"]), "bold cyan"), f" ({r['confidence']:.1%})")
        if r["low_confidence"]:
            text.append("  low confidence", "bold yellow")
        _warning(text, r)
        order = sorted(range(len(classes)), key=lambda k: -r["probabilities"][k])[:top]
        width = max([3, *(len(str(c)) for c in classes)])  # the bars start in one column, whatever the class names
        for k in order:
            p = r["probabilities"][k]
            text.append(f"\n  {classes[k]:>{width}} ")
            text.append(f"{'█' * round(p * 30):<30}", "cyan")
            text.append(f" {p:6.1%}")
        return text
    text = Text.assemble((r["file"], "bold"), ": ")
    for d in digits:
        text.append(str(d["digit"]), "bold yellow reverse" if d["low_confidence"] else "bold cyan")
    text.append(f"  ({len(digits)} digits, {r['confidence']:.1%} sure of all)")
    doubtful = [i for i, d in enumerate(digits) if d["low_confidence"]]
    if doubtful:
        text.append(f"  {len(doubtful)} doubtful", "bold yellow")
    _warning(text, r)
    for i, d in enumerate(digits, 1):
        text.append(f"\n  digit {i:>2}: ")
        text.append(str(d["digit"]), "bold yellow" if d["low_confidence"] else "cyan")
        text.append(f" {d['confidence']:6.1%}")
        if d["low_confidence"]:
            order = sorted(range(len(classes)), key=lambda k: -d["probabilities"][k])[1:top]
            alternatives = ", ".join(f"{classes[k]} {d['probabilities'][k]:.1%}" for k in order)
            text.append(f"  doubtful - or {alternatives}", "yellow")
    return text


def _warning(text: Text, r: Mapping) -> None:
    if r.get("warning"):
        text.append(f"\n  warning: {r['warning']}", "bold yellow")


def _show(r: Mapping) -> None:
    """The picture with each digit's box, then the inputs the model saw."""
    inputs = r.get("inputs")
    if r.get("thumbnail") is not None and r.get("digits"):
        console.print(_thumbnail_drawing(r["thumbnail"], r["thumb_scale"], r["digits"]))
    if inputs is None or len(inputs) == 0:
        return
    if len(inputs) == 1:
        console.print(_digit_drawing(inputs[0]))
        return
    console.print(_inputs_drawing(inputs, [d["digit"] for d in r["digits"]], console.width))


def _thumbnail_drawing(thumb, scale, digits, width: int = 76) -> Text:
    """The picture's ink, one character per cell (a cell two pixels tall for the terminal's aspect), with
    each digit's box drawn around it (yellow for a doubtful digit) and its number above the top left corner."""
    from PIL import Image

    thumb = np.asarray(thumb, np.float32)
    h, w = thumb.shape
    f = max(1.0, w / width)
    cols, rows = max(1, round(w / f)), max(1, round(h / (2 * f)))
    cells = np.asarray(Image.fromarray(thumb, "F").resize((cols, rows), Image.BOX), np.float32)
    cells = np.clip(cells * 1.5, 0, 1)  # a cell is mostly paper even where a stroke crosses it
    chars = [[_shade(v) for v in row] for row in cells]
    styles = [[None] * cols for _ in range(rows)]
    sx, sy = scale if isinstance(scale, (tuple, list)) else (scale, scale)
    for n, d in enumerate(digits, 1):
        x0, y0, x1, y1 = d["box"]
        c0, c1 = int(x0 * sx / f), min(cols - 1, int(x1 * sx / f))
        r0, r1 = int(y0 * sy / (2 * f)), min(rows - 1, int(y1 * sy / (2 * f)))
        style = "bold yellow" if d["low_confidence"] else "bold green"
        for c in range(c0, c1 + 1):
            for rr in (r0, r1):
                if 0 <= rr < rows and 0 <= c < cols:
                    chars[rr][c], styles[rr][c] = "─", style
        for rr in range(r0, r1 + 1):
            for c in (c0, c1):
                if 0 <= rr < rows and 0 <= c < cols:
                    chars[rr][c], styles[rr][c] = "│", style
        for rr, c, ch in ((r0, c0, "┌"), (r0, c1, "┐"), (r1, c0, "└"), (r1, c1, "┘")):
            if 0 <= rr < rows and 0 <= c < cols:
                chars[rr][c], styles[rr][c] = ch, style
        label = str(n)
        for k, ch in enumerate(label):  # the digit's position in the number, on its box's top edge
            if 0 <= r0 < rows and c0 + 1 + k < cols:
                chars[r0][c0 + 1 + k], styles[r0][c0 + 1 + k] = ch, style
    # Empty rows above and below (paper, no box) are left out.
    used = [r for r in range(rows) if any(ch != " " for ch in chars[r])]
    first, last = (used[0], used[-1]) if used else (0, rows - 1)
    text = Text()
    for row_chars, row_styles in zip(chars[first : last + 1], styles[first : last + 1]):
        for ch, st in zip(row_chars, row_styles):
            text.append(ch, st or "bright_white")
        text.append("\n")
    return text


def _inputs_drawing(inputs, labels, width: int) -> Text:
    """Each 28x28 input the model saw, side by side (one character per pixel, a row per two pixel rows)."""
    cell = inputs.shape[2] + 2
    per_row = max(1, width // cell)
    text = Text()
    for start in range(0, len(inputs), per_row):
        group = inputs[start : start + per_row]
        text.append("".join(f"{start + i + 1:>2} {labels[start + i]}".ljust(cell) for i in range(len(group))) + "\n", "dim")
        for y in range(0, group.shape[1], 2):
            line = ""
            for g in group:
                pair = g[y : y + 2].mean(axis=0)
                line += "".join(_shade(v) for v in pair) + "  "
            text.append(line.rstrip() + "\n", "bright_white")
    return text

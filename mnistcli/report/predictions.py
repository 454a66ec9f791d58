"""What `predict` shows: per image, the digit, its confidence, the top-k probabilities as bars, the model's input."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from mnistcli.report.console import console, error

def _digit_drawing(pixels) -> Text:
    """The model's input as shaded blocks, two characters a pixel: readable with or without colour."""
    shades = " ░▒▓█"
    text = Text()
    for row in pixels:
        line = "".join(shades[min(int(float(v) * len(shades)), len(shades) - 1)] * 2 for v in row)
        text.append(line.rstrip() + "\n", style="bright_white")
    return text


def predictions(result: Mapping, top: int = 3, show: bool = False) -> None:
    """Per file: the digit, its confidence, the top-k probabilities as bars, and optionally the input."""
    classes = result["classes"]
    for r in result["results"]:
        if "error" in r:
            error(r["error"])
            continue
        console.print(_prediction(r, classes, top), soft_wrap=True)
        if show:
            console.print(_digit_drawing(r["pixels"]))


def _prediction(r: Mapping, classes: list, top: int) -> Text:
    """One file's answer, built as Text rather than markup and grids: 1,000 files render in ~0.1 s, not 3 s."""
    text = Text.assemble((r["file"], "bold"), ": ", (str(r["digit"]), "bold cyan"), f" ({r['confidence']:.1%})")
    if r["low_confidence"]:
        text.append("  low confidence", "bold yellow")
    order = sorted(range(len(classes)), key=lambda k: -r["probabilities"][k])[:top]
    width = max([3, *(len(str(c)) for c in classes)])  # the bars start in one column, whatever the class names' lengths
    for k in order:
        p = r["probabilities"][k]
        text.append(f"\n  {classes[k]:>{width}} ")
        text.append(f"{'█' * round(p * 30):<30}", "cyan")
        text.append(f" {p:6.1%}")
    return text

"""What a person sees: `train`, `evaluate`, `predict`, a sweep's summary, `runs` and `train --help` run in a real
terminal (tmux) at 80 and 150 columns, captured, and checked for a wrapped line, a cut path or a word cut to "…".

Each command runs in a fresh tmux pane of the given width (a private tmux server, so nobody's sessions are
touched); the capture is the pane as the person sees it after the command ends, scroll-back included. Checks:
- no line wrapped by the terminal (tmux's capture with -J, which joins wrapped lines, has as many lines);
- no "…" (Rich's mark for a cut cell or title);
- every path shown (outputs/..., /...) exists whole: a wrapped or cut path does not.
For `train` it also times, from the moment the command starts, the first thing on screen, the run's header
and the first progress bar (polling the pane every 50 ms).

    python bench/tmux_captures.py                       # ../shared/mnist, 80 and 150 columns
    python bench/tmux_captures.py --widths 80 --out docs/captures --data DIR --quick

Exit status 1 when a check fails; the captures are left in --out (a temporary folder by default) to look at.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "mnist"
SERVER = ["tmux", "-L", f"mnistcli-captures-{os.getpid()}"]  # a private server: other sessions are not touched
PATH_TOKEN = re.compile(r"(?<![\w.~=-])(?:outputs/|/)[\w./-]*")


def tmux(*args: str, check: bool = True) -> str:
    proc = subprocess.run([*SERVER, *args], capture_output=True, text=True)
    if check and proc.returncode:
        raise RuntimeError(f"tmux {' '.join(args[:3])}: {proc.stderr.strip()}")
    return proc.stdout


def run_in_pane(name: str, command: str, width: int, workdir: Path, timeout: float, watch=None):
    """Run `command` alone in a new pane `width` columns wide; (rows as shown, rows with wraps joined, seconds)."""
    script = f"cd {shlex.quote(str(workdir))} && {command}; echo \"[exit $?]\"; sleep 3600"
    start = time.monotonic()
    tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", "50", "bash", "--norc", "--noprofile", "-c", script)
    try:
        while True:
            screen = tmux("capture-pane", "-p", "-t", name, "-S", "-", "-E", "-")
            if watch is not None:
                watch(screen, time.monotonic() - start)
            if re.search(r"^\[exit \d+\]", screen, re.M):
                break
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{command!r} did not end within {timeout:.0f} s:\n{screen}")
            time.sleep(0.05)
        seconds = time.monotonic() - start
        rows = tmux("capture-pane", "-p", "-t", name, "-S", "-", "-E", "-").rstrip("\n").splitlines()
        joined = tmux("capture-pane", "-p", "-J", "-t", name, "-S", "-", "-E", "-").rstrip("\n").splitlines()
    finally:
        tmux("kill-session", "-t", name, check=False)
    end = max(i for i, row in enumerate(rows) if row.startswith("[exit "))
    end_joined = max(i for i, row in enumerate(joined) if row.startswith("[exit "))
    return rows[: end + 1], joined[: end_joined + 1], seconds


def problems(rows: list[str], joined: list[str], width: int, workdir: Path) -> list[str]:
    found = []
    if len(joined) != len(rows):
        wrapped = [row.rstrip() for row in joined if len(row.rstrip()) > width]
        found += [f"wrapped by the terminal: {row[:width + 20]}..." for row in wrapped] or ["a line wrapped"]
    if not rows[-1].startswith("[exit 0]"):
        found.append(f"the command failed: {rows[-1]}")
    for row in rows:
        if "…" in row:
            found.append(f"cut: {row.rstrip()}")
        for token in PATH_TOKEN.findall(row):
            path = token.rstrip(".,:;")
            if len(path) > 1 and "DATE" not in path and not (workdir / path).exists() and not Path(path).exists():
                found.append(f"not a whole path: {path!r} in {row.rstrip()!r}")
    return found


def digit_png(data: Path, folder: Path) -> Path:
    """One test digit as a photographed one would be: dark ink on white, 112x112, for `predict`."""
    import numpy as np
    from PIL import Image

    name = next(p for p in (data / "t10k-images-idx3-ubyte.gz", data / "t10k-images-idx3-ubyte") if p.exists())
    raw = name.read_bytes()
    raw = gzip.decompress(raw) if name.suffix == ".gz" else raw
    first = np.frombuffer(raw, dtype=np.uint8, count=28 * 28, offset=16).reshape(28, 28)
    path = folder / "digit.png"
    Image.fromarray(255 - first).resize((112, 112), Image.Resampling.BILINEAR).save(path)
    return path


class TrainClock:
    """When the first output, the run's header and the first progress bar appeared in the pane."""

    def __init__(self) -> None:
        self.first = self.header = self.bars = None

    def __call__(self, screen: str, seconds: float) -> None:
        if self.first is None and screen.strip():
            self.first = seconds
        if self.header is None and "mnistcli train" in screen:
            self.header = seconds
        if self.bars is None and re.search(r"epoch .*━", screen):
            self.bars = seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=MNIST, help="the IDX files (default: ../shared/mnist)")
    parser.add_argument("--widths", type=int, nargs="+", default=[80, 150])
    parser.add_argument("--out", type=Path, help="where the captures are written (default: a temporary folder)")
    parser.add_argument("--quick", action="store_true", help="train on 1,000 images for 2 epochs (for the tests)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one command may take")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed (apt-get install tmux)", file=sys.stderr)
        return 2
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    for var in ("COLUMNS", "LINES"):  # the pane's own size must decide the width
        os.environ.pop(var, None)
    exe = Path(sys.executable).with_name("mnistcli")
    mnistcli = shlex.quote(str(exe)) if exe.exists() else f"{shlex.quote(sys.executable)} -m mnistcli"
    data = shlex.quote(str(args.data.resolve()))
    limit = "data.train_limit=1000 train.epochs=2" if args.quick else "train.epochs=3"
    out = args.out or Path(tempfile.mkdtemp(prefix="mnistcli-captures-"))
    out.mkdir(parents=True, exist_ok=True)
    failed = False
    # One idle session keeps the private server up between the commands' own sessions.
    tmux("new-session", "-d", "-s", "keep", "sleep", "3600")
    for width in args.widths:
        workdir = Path(tempfile.mkdtemp(prefix=f"mnistcli-{width}-"))
        png = digit_png(args.data, workdir)
        clock = TrainClock()
        steps = [
            ("train", f"mnistcli train model=hidden128 {limit} data.dir={data}", clock),
            ("evaluate", "mnistcli evaluate RUN", None),
            ("predict", f"mnistcli predict {png.name} --run RUN", None),
            ("sweep", f"mnistcli train -m model=softmax,hidden128 train.epochs=1 data.train_limit=1000 "
                      f"train.progress=false data.dir={data}", None),
            ("runs", "mnistcli runs", None),
            ("help", "mnistcli train --help", None),
        ]
        run = None
        for name, shown, watch in steps:
            if run is not None:
                shown = shown.replace("RUN", run)
            command = shown.replace("mnistcli ", f"{mnistcli} ", 1)
            rows, joined, seconds = run_in_pane(f"{name}-{width}", command, width, workdir, args.timeout, watch)
            if name == "train":
                runs = sorted(p.parent for p in (workdir / "outputs").glob("*/*/metrics.json"))
                run = str(runs[-1].relative_to(workdir)) if runs else "outputs/none"
            found = problems(rows, joined, width, workdir)
            (out / f"{name}-{width}.txt").write_text(f"$ {shown}\n" + "\n".join(r.rstrip() for r in rows) + "\n")
            print(f"{width:>4} columns  {name:<9} {len(rows):>4} lines  {seconds:5.1f} s  "
                  f"{'ok' if not found else f'{len(found)} problem(s)'}")
            for problem in found:
                print(f"      {problem}")
            failed = failed or bool(found)
        if clock.first is not None and clock.bars:
            # Before issue 15 nothing was shown until the header, printed with the bars once TensorFlow had loaded.
            print(f"     train: first output after {clock.first:.1f} s, the run's header after "
                  f"{clock.header or float('nan'):.1f} s, progress bars after {clock.bars:.1f} s: the screen is "
                  f"blank for {clock.first / clock.bars:.0%} of the wait it used to be blank for")
        shutil.rmtree(workdir, ignore_errors=True)
    tmux("kill-server", check=False)
    print(f"captures in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

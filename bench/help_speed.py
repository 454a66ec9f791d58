"""How long `mnistcli train --help` takes, as whole cold processes, against Hydra's own help in the same run.

Three commands, interleaved, each `--repeat` times (median wall seconds):
- `mnistcli train --help`: mnistcli's help (mnistcli/config/help.py: Hydra's compose API, no launch);
- Hydra's help: the same app's @hydra.main with --help, as `mnistcli train --help` was rendered before;
- `mnistcli --version`: the floor, Python and Typer starting and nothing else.
Target (issue 15): under a second on a quiet machine; no TensorFlow import (tests/cli/test_help.py).

    python bench/help_speed.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HYDRA_HELP = (
    "import sys; sys.argv = ['mnistcli train', '--help']\n"
    "from mnistcli.training.hydra_app import hydra_main\n"
    "try:\n    hydra_main()\nexcept SystemExit:\n    pass\n"
)
COMMANDS = {
    "mnistcli train --help": [sys.executable, "-m", "mnistcli", "train", "--help"],
    "Hydra's own help": [sys.executable, "-c", HYDRA_HELP],
    "mnistcli --version": [sys.executable, "-m", "mnistcli", "--version"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, command in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    ours, hydra, floor = median["mnistcli train --help"], median["Hydra's own help"], median["mnistcli --version"]
    for name, t in median.items():
        print(f"{name:<24} {t:6.2f} s  (min {min(times[name]):.2f}, max {max(times[name]):.2f})")
    print(f"mnistcli train --help: {hydra / ours:.1f}x faster than Hydra's help; "
          f"{ours - floor:.2f} s above the bare start-up; target < 1 s: {'met' if ours < 1 else 'NOT met'}")
    return 0 if ours < 1 else 1


if __name__ == "__main__":
    sys.exit(main())

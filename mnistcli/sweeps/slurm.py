"""Sweeps on Slurm: the request checked against the nodes, the jobs submitted with submitit, waited on with squeue."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from mnistcli.errors import MnistcliError, one_line

log = logging.getLogger(__name__)

LOG_FILE = "slurm.log"  # in the sweep folder, made only when submitit has something to say (whoever debugs the cluster)
# Slurm states in which a job may still write its result; any other state is an end.
WAITING = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
           "RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "STOPPED"}
# squeue forgets a job MinJobAge seconds after it ends (Slurm's default 300; scripts/local-slurm.sh sets 600); a job
# missing this many polls in a row is over.
# (Polls are 1 s apart at first, growing to 5 s.)
MISSING_POLLS = 3
WHY = {
    "TIMEOUT": "stopped by Slurm at its time limit of {timeout} min (hydra.launcher.timeout_min)",
    "CANCELLED": "cancelled (scancel, or an administrator)",
    "OUT_OF_MEMORY": "ran out of its memory, {mem} GB (hydra.launcher.mem_gb)",
    "NODE_FAIL": "its node failed",
    "PREEMPTED": "preempted by a job of higher priority",
    "BOOT_FAIL": "its node failed to boot",
    "DEADLINE": "its deadline passed",
    "FAILED": "its batch script failed before mnistcli started (a hydra.launcher.setup line?)",
}


# ------------------------------------------------------------------------------------------ before submitting


def _slurm(*args: str) -> str:
    """Run a Slurm client command; MnistcliError, in one line, when there is no cluster to ask."""
    if shutil.which(args[0]) is None:
        raise MnistcliError(
            f"hydra/launcher=slurm needs a Slurm cluster, but `{args[0]}` is not on PATH "
            "(bash scripts/local-slurm.sh starts a one-node cluster on this machine)"
        )
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise MnistcliError(f"Slurm did not answer `{' '.join(args[:2])}` in 30 s: is slurmctld running?") from None
    if proc.returncode != 0:
        raise MnistcliError(f"`{' '.join(args[:2])}` failed: {one_line(Exception(proc.stderr or proc.stdout))}")
    return proc.stdout


def nodes() -> list[dict]:
    """Slurm's nodes, one entry per node and partition: name, partition, CPUs, memory (MB), default partition."""
    rows = []
    for line in _slurm("sinfo", "--noheader", "--Node", "--format=%N|%P|%c|%m").splitlines():
        name, partition, cpus, mem = (line.split("|") + ["", "", "", ""])[:4]
        try:
            rows.append({"node": name, "partition": partition.rstrip("*"), "default": partition.endswith("*"),
                         "cpus": int(cpus), "mem_mb": int(mem.rstrip("+"))})
        except ValueError:
            continue
    return rows


def check_fits(params: dict, found: list[dict], preset: set[str] = frozenset()) -> None:
    """Fail fast, in one line, when no node of the partition could ever run one job of this size. `preset`: the
    keys whose values are hydra/launcher=slurm's own (the line says so: the user did not ask for them)."""
    partition = params.get("partition")
    rows = [r for r in found if (r["partition"] == partition if partition else r["default"])]
    if not rows:
        names = sorted({r["partition"] for r in found})
        raise MnistcliError(
            f"Slurm has no partition '{partition}' (hydra.launcher.partition); valid: {', '.join(names) or 'none'}"
            if partition else "Slurm has no default partition: set hydra.launcher.partition"
        )
    tasks = int(params.get("tasks_per_node") or 1)
    cpus = int(params.get("cpus_per_task") or 1) * tasks
    mem_gb = params.get("mem_gb")
    mem_mb = int(float(mem_gb) * 1024) if mem_gb else 0  # submitit asks --mem=<mem_gb>GB; Slurm's GB is 1024 MB
    if any(r["cpus"] >= cpus and r["mem_mb"] >= mem_mb for r in rows):
        return
    big = max(rows, key=lambda r: (r["cpus"], r["mem_mb"]))
    asked, fix = [], []
    for key, value, text, limit, most in (
        ("cpus_per_task", cpus, f"{cpus} CPUs", big["cpus"], big["cpus"] // tasks),
        ("mem_gb", mem_mb, _gb(mem_mb), big["mem_mb"], big["mem_mb"] // 1024),
    ):
        if not value:
            continue
        if value > limit:
            fix.append(f"hydra.launcher.{key}={most}")
            text += " (hydra/launcher=slurm's default)" if key in preset else ""
        asked.append(text)
    raise MnistcliError(
        f"Slurm node {big['node']} (partition {big['partition']}) has {big['cpus']} CPUs, {_gb(big['mem_mb'])}; "
        f"these jobs ask {', '.join(asked)}: set {' and '.join(fix)} or less"
    )


def before_submitting(params: dict, config) -> None:
    """In the launcher's setup(), before Hydra writes the sweep folder: the size check (MnistcliError), and a
    warning when Slurm's time-limit warning would come as soon as each job starts."""
    check_fits(params, nodes(), preset_keys(config))
    delay, limit = params.get("signal_delay_s"), params.get("timeout_min")
    if delay is not None and limit and int(delay) >= int(limit) * 60:
        from mnistcli import report

        report.warning(
            f"hydra.launcher.signal_delay_s={delay} is not under timeout_min={limit} min: Slurm's time-limit "
            "warning comes as each job starts, stopping it there"
        )


def preset_keys(config) -> set[str]:
    """The sizing keys that hydra/launcher=slurm set and no override changed (the size error names them)."""
    from omegaconf import OmegaConf

    if OmegaConf.select(config, "hydra.runtime.choices", default={}).get("hydra/launcher") != "slurm":
        return set()
    given = {o.lstrip("+").split("=", 1)[0] for o in OmegaConf.select(config, "hydra.overrides.hydra", default=[])}
    return {k for k in ("cpus_per_task", "mem_gb") if f"hydra.launcher.{k}" not in given}


def _gb(mb: int) -> str:
    return f"{mb / 1024:.3g} GB"


# ------------------------------------------------------------------------------------------ submitting, waiting


@contextmanager
def scheduler_log(path: Path) -> Iterator[None]:
    """submitit's messages (its warnings came out three times: its two handlers and Hydra's) go to one file."""
    import submitit  # noqa: F401 - configures its logger when first imported: replace that here, afterwards

    logger = logging.getLogger("submitit")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)  # the file is made by its first message
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.handlers, logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])
        handler.close()


def _executor(launcher, folder: str):
    """submitit's executor with the launcher's parameters, as Hydra's submitit launcher builds it."""
    import submitit
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
    from omegaconf import OmegaConf

    params = dict(launcher.params)
    init = {"folder": folder}
    if "max_num_timeout" in params:
        init["slurm_max_num_timeout"] = params["max_num_timeout"]
    executor = submitit.AutoExecutor(cluster="slurm", **init)
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    executor.update_parameters(**{
        k if k in base else f"slurm_{k}": v for k, v in params.items() if k not in ("submitit_folder", "max_num_timeout")
    })
    return executor


def job_states(array_ids: set[str]) -> dict[str, tuple[str, str]] | None:
    """Every job of these arrays that Slurm still knows: id ("12_3") -> (state, reason); None when squeue failed."""
    try:
        out = _slurm("squeue", "--noheader", "--array", "--states=all", f"--jobs={','.join(sorted(array_ids))}",
                     "--format=%i|%T|%r")
    except MnistcliError:  # a controller busy for a moment: this poll says nothing about the jobs
        return None
    states = {}
    for line in out.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3:
            states[parts[0]] = (parts[1], parts[2])
    return states


def why_died(job_id: str, state: str | None, reason: str | None, params: dict, stderr: Path) -> str:
    """One line: which Slurm job, what Slurm says happened, what it means, where its log is."""
    if state is None:
        text = f"Slurm job {job_id} ended without a result and Slurm no longer knows it"
    else:
        why = WHY.get(state, "ended without a result").format(timeout=params.get("timeout_min"), mem=params.get("mem_gb"))
        said = f", reason {reason}" if reason and reason not in ("None", "(null)") else ""
        text = f"Slurm job {job_id} {state}{said}: {why}"
    return f"{text}; its log: {stderr}"


def launch(launcher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[Any]:
    """Submit one Slurm job per sweep job and wait for each result; a job Slurm ends early (time limit, scancel,
    memory, node) is recorded as died with Slurm's reason, and the sweep goes on to its summary.

    Follows hydra-submitit-launcher 1.2's BaseSubmititLauncher.launch (executor, hydra.sweep.mode, job arguments),
    with squeue waiting in place of its job.results(): pyproject.toml pins the plugin to 1.2.x for that."""
    from hydra.core.singleton import Singleton
    from hydra.core.utils import JobReturn, JobStatus

    params = launcher.params  # checked against the nodes in the launcher's setup(), before the sweep folder was made
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if "mode" in launcher.config.hydra.sweep:  # as Hydra's submitit launcher does: hydra.sweep.mode, octal
        os.chmod(sweep_dir, mode=int(str(launcher.config.hydra.sweep.mode), 8))
    first = initial_job_idx
    n = len(job_overrides)
    log.info(f"Submitting {n} job{'' if n == 1 else 's'} to Slurm")  # the summary names the sweep folder
    for line in job_lines(job_overrides, first):
        log.info(line)
    args = [(list(o), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state())
            for idx, o in enumerate(job_overrides, first)]
    with scheduler_log(sweep_dir / LOG_FILE):
        executor = _executor(launcher, str(params["submitit_folder"]))
        try:
            jobs = executor.map_array(launcher, *zip(*args))
        except Exception as exc:  # sbatch refused: a partition, account or size this cluster does not have
            raise MnistcliError(f"Slurm refused the jobs (sbatch): {one_line(exc)}") from None
        arrays = sorted({str(j.job_id).split("_")[0] for j in jobs})
        what = f"job {jobs[0].job_id}" if len(jobs) == 1 else f"array {', '.join(arrays)}: {len(jobs)} jobs"
        ids = jobs[0].job_id if len(jobs) == 1 else f"{arrays[0]}_*" if len(arrays) == 1 else "*"
        logs = f"{'its log' if len(jobs) == 1 else 'logs'}: {_where(str(params['submitit_folder']), ids, sweep_dir)}"
        log.info(f"Slurm {what}; {logs}")
        try:
            outcomes = _wait(jobs, params)
        except KeyboardInterrupt:  # Ctrl-C here would leave the jobs running on the cluster, unseen
            raise KeyboardInterrupt(f"interrupted: {cancel(jobs)}") from None
        results = []
        for (overrides, *_), job, outcome in zip(args, jobs, outcomes):
            if outcome is None:
                try:
                    results.append(job.results()[0])
                    continue
                except Exception as exc:  # noqa: BLE001 - the job's Python died outside mnistcli's own handling
                    outcome = f"Slurm job {job.job_id} raised outside the job: {one_line(exc)}; its log: {job.paths.stderr}"
            num = first + jobs.index(job)
            record_death(launcher, overrides, num, outcome)
            results.append(JobReturn(overrides=overrides, status=JobStatus.COMPLETED))
    if (sweep_dir / LOG_FILE).is_file() and (sweep_dir / LOG_FILE).stat().st_size:
        log.info(f"submitit's messages: {LOG_FILE} in the sweep folder")
    return results


def job_lines(job_overrides: Sequence[Sequence[str]], first: int) -> list[str]:
    """`#0 model=softmax seed=1`: one short line per job, with only the overrides that differ between the jobs
    (Hydra's `\t#0 : ` lines, with every override, wrapped in an 80-column terminal)."""
    from hydra.core.utils import filter_overrides

    jobs = [dict(o.split("=", 1) if "=" in o else (o, "") for o in filter_overrides(list(overrides)))
            for overrides in job_overrides]
    keys = list(dict.fromkeys(k for job in jobs for k in job))
    swept = [k for k in keys if len({job.get(k) for job in jobs}) > 1] if len(jobs) > 1 else keys
    return [" ".join([f"#{n}", *(f"{k}={job[k]}" for k in swept if k in job)]) for n, job in enumerate(jobs, first)]


def _where(folder: str, ids: str, sweep_dir: Path) -> str:
    """Where submitit keeps the jobs' logs (hydra.launcher.submitit_folder, %j their ids), short when in the sweep."""
    path = Path(folder.replace("%j", ids))
    try:
        return f"{path.relative_to(sweep_dir)}/ in the sweep folder"
    except ValueError:
        return f"{path}/"


def _wait(jobs: list, params: dict) -> list[str | None]:
    """Poll until every job has a result (None) or has ended without one (why, in one line)."""
    arrays = {str(j.job_id).split("_")[0] for j in jobs}
    outcomes: dict[int, str | None] = {}
    missing = {i: 0 for i in range(len(jobs))}
    delay = 1.0
    while len(outcomes) < len(jobs):
        states = job_states(arrays)  # asked before the result files are looked at: a job ends after writing
        for i, job in enumerate(jobs):
            if i in outcomes:
                continue
            if job.paths.result_pickle.exists():
                outcomes[i] = None
                continue
            if states is None:  # squeue failed: not a sign that the job is gone
                continue
            state = states.get(str(job.job_id))
            # COMPLETED without a result yet: a shared filesystem may show the file late; give it a few polls.
            settled = state is not None and state[0] != "COMPLETED"
            missing[i] = 0 if settled else missing[i] + 1
            if settled and state[0] not in WAITING:
                outcomes[i] = why_died(job.job_id, *state, params, job.paths.stderr)
            elif missing[i] >= MISSING_POLLS:
                outcomes[i] = why_died(job.job_id, *(state or (None, None)), params, job.paths.stderr)
        if len(outcomes) < len(jobs):
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)  # one squeue call per poll for the whole sweep
    return [outcomes[i] for i in range(len(jobs))]


def cancel(jobs: list) -> str:
    """scancel every job that has no result yet (submitit's job.cancel); one line saying which."""
    left = [job for job in jobs if not job.paths.result_pickle.exists()]
    for job in left:
        job.cancel(check=False)
    if not left:
        return "every Slurm job had already finished"
    ids = [str(job.job_id) for job in left]
    shown = ", ".join(ids) if len(ids) <= 6 else f"{', '.join(ids[:3])}, ..., {ids[-1]}"
    return f"cancelled Slurm job {shown}" if len(ids) == 1 else f"cancelled {len(ids)} Slurm jobs: {shown}"


def record_death(launcher, overrides: list[str], num: int, why: str) -> None:
    """Mark a job that Slurm ended as died, with Slurm's reason (the summary's footnote shows it, once)."""
    from mnistcli.sweeps.slurm_job import job_folder, record_ending

    job_dir, cfg = job_folder(launcher, overrides, num)
    record_ending(job_dir, overrides, cfg, "died", why)

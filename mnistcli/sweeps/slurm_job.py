"""Inside a Slurm job: Slurm's warning signal stops training as an interrupt; how a job's folder records its end."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any, Callable

from mnistcli.errors import MnistcliError

log = logging.getLogger(__name__)


def record_ending(job_dir: Path, overrides: list[str], cfg: dict, status: str, why: str) -> None:
    """Write a job's end that the job could not write itself, in its folder (made, with its overrides, if the
    job never started): a run still "running" takes `status`; one that recorded its own end keeps it."""
    from mnistcli.runs.record import RunRecord, now, read_record, write_record
    from mnistcli.runs.rundir import METRICS_FILE, write_text

    try:
        record = read_record(job_dir) if (job_dir / METRICS_FILE).is_file() else RunRecord(config=cfg)
    except MnistcliError:
        record = RunRecord(config=cfg)
    if record.status == "running":
        record = record.replace(status=status, error=why, finished_at=now())
    else:  # it wrote its own ending (interrupted, failed) before it was stopped: that stays, with the reason
        record = record.replace(error=record.error or why)
    hydra_dir = job_dir / ".hydra"
    if not hydra_dir.is_dir():  # the job never started: its folder holds what the summary and `runs` read
        import yaml

        hydra_dir.mkdir(parents=True)
        write_text(hydra_dir / "overrides.yaml", yaml.safe_dump(list(overrides)))
    write_record(job_dir, record)
    if (record.tracking or {}).get("mlflow"):  # its MLflow run would stay RUNNING forever
        from mnistcli.tracking.mlflow_run import end_killed

        try:
            end_killed(record.tracking)
        except MnistcliError as exc:
            log.warning(f"{job_dir}: its MLflow run was not closed: {exc}")


def job_folder(launcher, overrides: list[str], num: int) -> tuple[Path, dict]:
    """The job's folder (hydra.sweep.dir/subdir) and its composed config, as the job itself has them."""
    from omegaconf import OmegaConf, open_dict

    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    try:
        cfg = launcher.hydra_context.config_loader.load_sweep_config(launcher.config, list(overrides))
        with open_dict(cfg.hydra.job):
            cfg.hydra.job.num = num
        subdir = str(cfg.hydra.sweep.subdir)
        with open_dict(cfg):
            del cfg["hydra"]
        plain = OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # noqa: BLE001 - a config that cannot resolve still gets its row
        return sweep_dir / str(num), {}
    return sweep_dir / subdir, plain


def run_in_job(launcher, call: Callable[..., Any], overrides: list[str], job_dir_key: str, num: int, *args: Any) -> Any:
    """Run one sweep job in its Slurm job (`call` is the launcher's own __call__).

    submitit asks Slurm for SIGUSR2 hydra.launcher.signal_delay_s before the time limit (or on preemption). With
    hydra.launcher.max_num_timeout=0 (the default) its own handler raised "Job not requeued because: timed-out too
    many times" into training, which recorded a plain failure: here the signal interrupts training like Ctrl-C
    instead, and the run is marked interrupted where it stopped, resumable from its last epoch. With
    max_num_timeout above 0, submitit's handler is left in place: it requeues the job (which starts it again).
    """
    import submitit
    from hydra.core.utils import JobReturn, JobStatus

    from mnistcli.training.interrupts import Interrupted

    params = launcher.params
    if int(params.get("max_num_timeout") or 0) > 0:
        return call(overrides, job_dir_key, num, *args)
    warning = signal.Signals["SIG" + submitit.JobEnvironment.USR_SIG]

    def warned(signum, frame) -> None:
        raise Interrupted(f"stopped by {warning.name}", signum)

    previous = signal.signal(warning, warned)
    try:
        return call(overrides, job_dir_key, num, *args)
    except Interrupted as exc:
        limit = params.get("timeout_min")
        why = f"Slurm's time limit of {limit} min (hydra.launcher.timeout_min) was near, or it was preempted; {exc}"
        job_dir, cfg = job_folder(launcher, overrides, num)
        record_ending(job_dir, overrides, cfg, "interrupted", why)
        return JobReturn(overrides=overrides, status=JobStatus.COMPLETED)
    finally:
        signal.signal(warning, previous)

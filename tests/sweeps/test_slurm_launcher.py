"""hydra/launcher=slurm without a cluster: the size check's one line, Slurm's reasons, the launcher plugin's wiring and
submitit's log kept off the terminal (the real cluster runs are tests/integration/test_slurm.py)."""

from __future__ import annotations

import logging

import pytest
import yaml

from mnistcli.errors import MnistcliError
from mnistcli.sweeps import slurm

NODE = {"node": "vm", "partition": "local", "default": True, "cpus": 2, "mem_mb": 24105}
GPU_NODE = {"node": "big", "partition": "gpu", "default": False, "cpus": 32, "mem_mb": 256000}


def test_a_request_that_fits_passes():
    slurm.check_fits({"cpus_per_task": 2, "mem_gb": 8}, [NODE])
    slurm.check_fits({"cpus_per_task": 16, "mem_gb": 64, "partition": "gpu"}, [NODE, GPU_NODE])


def test_the_preset_on_a_small_node_is_one_short_line_naming_the_node_and_the_fix():
    with pytest.raises(MnistcliError) as info:
        slurm.check_fits({"cpus_per_task": 4, "mem_gb": 8}, [NODE, GPU_NODE], {"cpus_per_task", "mem_gb"})
    assert str(info.value) == (
        "Slurm node vm (partition local) has 2 CPUs, 23.5 GB; these jobs ask 4 CPUs (hydra/launcher=slurm's default), "
        "8 GB: set hydra.launcher.cpus_per_task=2 or less"
    )
    with pytest.raises(MnistcliError, match=r"ask 64 CPUs, 1 GB: set hydra.launcher.cpus_per_task=2 or less$"):
        slurm.check_fits({"cpus_per_task": 64, "mem_gb": 1}, [NODE], {"mem_gb"})  # the user's 64: no preset named


def test_memory_and_tasks_count_too():
    with pytest.raises(MnistcliError, match=r"ask 2 CPUs, 30 GB: set hydra.launcher.mem_gb=23 or less$"):
        slurm.check_fits({"cpus_per_task": 1, "tasks_per_node": 2, "mem_gb": 30}, [NODE])
    with pytest.raises(MnistcliError, match=r"ask 4 CPUs: set hydra.launcher.cpus_per_task=1 or less$"):
        slurm.check_fits({"cpus_per_task": 2, "tasks_per_node": 2}, [NODE])  # 2 tasks of 1 CPU fit


def test_the_preset_keys_are_those_no_override_changed():
    from omegaconf import OmegaConf

    def config(launcher, *overrides):
        return OmegaConf.create({"hydra": {"runtime": {"choices": {"hydra/launcher": launcher}},
                                           "overrides": {"hydra": list(overrides)}}})

    assert slurm.preset_keys(config("slurm")) == {"cpus_per_task", "mem_gb"}
    assert slurm.preset_keys(config("slurm", "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1")) == {"mem_gb"}
    assert slurm.preset_keys(config("submitit_slurm")) == set()


def test_an_unknown_partition_lists_the_valid_ones():
    with pytest.raises(MnistcliError, match=r"no partition 'cpu' \(hydra.launcher.partition\); valid: gpu, local"):
        slurm.check_fits({"cpus_per_task": 1, "partition": "cpu"}, [NODE, GPU_NODE])


def test_no_slurm_on_path_is_one_line(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MnistcliError, match=r"needs a Slurm cluster, but `sinfo` is not on PATH .*local-slurm.sh"):
        slurm.nodes()


@pytest.mark.parametrize(
    "state,reason,needle",
    [
        ("TIMEOUT", "TimeLimit", "TIMEOUT, reason TimeLimit: stopped by Slurm at its time limit of 1 min"),
        ("CANCELLED", "None", "CANCELLED: cancelled (scancel"),
        ("OUT_OF_MEMORY", "OutOfMemory", "ran out of its memory, 2 GB (hydra.launcher.mem_gb)"),
        (None, None, "ended without a result and Slurm no longer knows it"),
    ],
)
def test_why_a_job_died_is_one_line_with_its_log(state, reason, needle):
    text = slurm.why_died("12_3", state, reason, {"timeout_min": 1, "mem_gb": 2}, "/s/.submitit/12_3/12_3_0_log.err")
    assert text.startswith("Slurm job 12_3") and needle in text and text.endswith("its log: /s/.submitit/12_3/12_3_0_log.err")


def test_submitit_logs_to_the_sweep_file_only(tmp_path, capfd):
    """Its warnings came out three times on the terminal (its two stream handlers and Hydra's root handler)."""
    with slurm.scheduler_log(tmp_path / slurm.LOG_FILE):
        logging.getLogger("submitit").warning("Bypassing sacct error: accounting storage is disabled")
    out, err = capfd.readouterr()
    assert "sacct" not in out + err
    assert "Bypassing sacct error" in (tmp_path / slurm.LOG_FILE).read_text()
    assert logging.getLogger("submitit").propagate  # put back as it was
    with slurm.scheduler_log(tmp_path / "quiet" / slurm.LOG_FILE):  # nothing to say: no empty file to point at
        pass
    assert not (tmp_path / "quiet").exists()


def test_the_preset_uses_mnistclis_launcher_plugin(tmp_path):
    """Hydra instantiates launchers from its hydra_plugins namespace only: the installed package must put ours there,
    seen from any folder (not only from the repository, whose hydra_plugins/ is on sys.path there)."""
    import subprocess
    import sys
    from pathlib import Path

    import mnistcli.conf

    preset = yaml.safe_load((Path(mnistcli.conf.__path__[0]) / "hydra" / "launcher" / "slurm.yaml").read_text())
    assert preset["_target_"] == "hydra_plugins.mnistcli_slurm.launcher.MnistcliSlurmLauncher"
    code = (
        "from hydra.core.plugins import Plugins; from hydra.plugins.launcher import Launcher; "
        "print(*(f'{p.__module__}.{p.__name__}' for p in Plugins.instance().discover(Launcher)))"
    )
    found = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert preset["_target_"] in found.stdout.split()


def test_a_job_that_never_started_gets_a_folder_the_summary_and_runs_read(tmp_path):
    from mnistcli.runs.record import read_record
    from mnistcli.sweeps.folders import job_dirs, overrides
    from mnistcli.sweeps.slurm_job import record_ending

    sweep = tmp_path / "sweep"
    record_ending(sweep / "2", ["model=softmax", "seed=3"], {"seed": 3}, "died", "Slurm job 7_2 CANCELLED: ...")
    assert job_dirs(sweep) == [sweep / "2"] and overrides(sweep / "2") == {"model": "softmax", "seed": "3"}
    record = read_record(sweep / "2")
    assert (record.status, record.error, record.config) == ("died", "Slurm job 7_2 CANCELLED: ...", {"seed": 3})


def test_a_job_killed_while_training_is_died_and_one_that_said_so_keeps_its_end(tmp_path):
    from mnistcli.runs.record import RunRecord, read_record, write_record
    from mnistcli.sweeps.slurm_job import record_ending

    (tmp_path / "0" / ".hydra").mkdir(parents=True)
    write_record(tmp_path / "0", RunRecord(config={"seed": 1}, status="running", epochs_run=3))
    record_ending(tmp_path / "0", [], {}, "died", "Slurm job 5 TIMEOUT")
    died = read_record(tmp_path / "0")
    assert (died.status, died.error, died.epochs_run, died.config) == ("died", "Slurm job 5 TIMEOUT", 3, {"seed": 1})
    assert died.finished_at

    write_record(tmp_path / "0", RunRecord(config={}, status="interrupted", resume_with="mnistcli train resume=0"))
    record_ending(tmp_path / "0", [], {}, "died", "Slurm job 5 CANCELLED")
    kept = read_record(tmp_path / "0")
    assert (kept.status, kept.error, kept.resume_with) == ("interrupted", "Slurm job 5 CANCELLED", "mnistcli train resume=0")


def test_waiting_tells_results_from_jobs_slurm_ended(tmp_path, monkeypatch):
    from types import SimpleNamespace
    def job(job_id: str, done: bool) -> SimpleNamespace:
        result = tmp_path / f"{job_id}_result.pkl"
        if done:
            result.write_bytes(b"")
        return SimpleNamespace(job_id=job_id, paths=SimpleNamespace(result_pickle=result, stderr=tmp_path / f"{job_id}.err"))

    jobs = [job("7_0", True), job("7_1", False), job("7_2", False), job("7_3", False)]
    polls = []

    def states(arrays):
        polls.append(arrays)
        if len(polls) == 2:  # job 3 finishes while we wait: its result appears, Slurm says COMPLETED
            jobs[3].paths.result_pickle.write_bytes(b"")
        return {"7_0": ("COMPLETED", "None"), "7_1": ("CANCELLED", "None"), "7_2": ("RUNNING", "None"),
                "7_3": ("COMPLETED", "None")} if len(polls) < 3 else {"7_2": ("TIMEOUT", "TimeLimit")}

    monkeypatch.setattr(slurm, "job_states", states)
    monkeypatch.setattr(slurm.time, "sleep", lambda s: None)
    outcomes = slurm._wait(jobs, {"timeout_min": 1})
    assert outcomes[0] is None and outcomes[3] is None  # a result, whatever squeue says
    assert outcomes[1].startswith("Slurm job 7_1 CANCELLED: cancelled")
    assert outcomes[2].startswith("Slurm job 7_2 TIMEOUT, reason TimeLimit: stopped by Slurm at its time limit of 1 min")
    assert all(arrays == {"7"} for arrays in polls)  # one squeue call per poll for the whole array


def _fake_job(tmp_path, job_id: str):
    from types import SimpleNamespace
    paths = SimpleNamespace(result_pickle=tmp_path / f"{job_id}_result.pkl", stderr=tmp_path / f"{job_id}.err")
    return SimpleNamespace(job_id=job_id, paths=paths)


def test_a_busy_controller_is_not_taken_for_dead_jobs(tmp_path, monkeypatch):
    """squeue failing (a busy slurmctld) says nothing about the jobs: many failed polls in a row kill none."""
    from mnistcli.errors import MnistcliError as Busy

    jobs = [_fake_job(tmp_path, "8_0"), _fake_job(tmp_path, "8_1")]
    polls = []

    def squeue(*args):
        polls.append(args)
        if len(polls) <= 2 * slurm.MISSING_POLLS:
            raise Busy("`squeue --noheader` failed: slurm_load_jobs error: Socket timed out")
        jobs[0].paths.result_pickle.write_bytes(b"")
        return "8_1|CANCELLED|None\n"

    monkeypatch.setattr(slurm, "_slurm", squeue)
    monkeypatch.setattr(slurm.time, "sleep", lambda s: None)
    assert slurm.job_states({"8"}) is None
    outcomes = slurm._wait(jobs, {})
    assert outcomes[0] is None and outcomes[1].startswith("Slurm job 8_1 CANCELLED")


def test_a_job_slurm_killed_closes_its_mlflow_run_as_killed(tmp_path):
    """A job killed mid-training cannot close its MLflow child run: the ending written for it does (KILLED), and
    leaves alone a run that closed itself."""
    pytest.importorskip("mlflow", reason="mlflow-skinny is not installed (the test extra has it)")
    from mlflow.tracking import MlflowClient

    from mnistcli.runs.record import RunRecord, read_record, write_record
    from mnistcli.sweeps.slurm_job import record_ending

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("t", artifact_location=(tmp_path / "mlruns").as_uri())
    killed, finished = (client.create_run(experiment).info.run_id for _ in range(2))
    client.set_terminated(finished, "FINISHED")
    for name, run_id in (("0", killed), ("1", finished)):
        (tmp_path / name / ".hydra").mkdir(parents=True)
        tracking = {"mlflow": {"run_id": run_id, "experiment_id": experiment, "tracking_uri": uri}}
        write_record(tmp_path / name, RunRecord(config={}, status="running", tracking=tracking))
        record_ending(tmp_path / name, [], {}, "died", "Slurm job 5 TIMEOUT")
        assert read_record(tmp_path / name).status == "died"
    assert client.get_run(killed).info.status == "KILLED" and client.get_run(killed).info.end_time
    assert client.get_run(finished).info.status == "FINISHED"


def test_ctrl_c_while_waiting_cancels_the_jobs_and_says_which(tmp_path, monkeypatch):
    """Ctrl-C in the submitting process used to leave the sweep's jobs running on the cluster, unseen."""
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    cancelled = []
    jobs = []
    for n in range(3):
        job = _fake_job(tmp_path, f"9_{n}")
        job.cancel = lambda check=True, job=job: cancelled.append((job.job_id, check))
        jobs.append(job)
    jobs[0].paths.result_pickle.write_bytes(b"")  # finished before Ctrl-C: nothing to cancel

    class Executor:
        def map_array(self, fn, *args):
            return jobs

    def ctrl_c(jobs, params):
        raise KeyboardInterrupt

    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "sweep")}}})
    launcher = SimpleNamespace(params={"submitit_folder": str(tmp_path / ".submitit")}, config=config)
    monkeypatch.setattr(slurm, "_executor", lambda launcher, folder: Executor())
    monkeypatch.setattr(slurm, "_wait", ctrl_c)
    with pytest.raises(KeyboardInterrupt) as info:
        slurm.launch(launcher, [["seed=1"], ["seed=2"], ["seed=3"]], 0)
    assert cancelled == [("9_1", False), ("9_2", False)]
    assert str(info.value) == "interrupted: cancelled 2 Slurm jobs: 9_1, 9_2"


@pytest.mark.parametrize("extra", [[], ["hydra.launcher.max_num_timeout=3", "hydra.launcher.partition=gpu",
                                        "+hydra.launcher.additional_parameters={mail_type: END}", "+hydra.sweep.mode=750"]])
def test_the_executor_gets_what_hydras_own_submitit_launcher_would_give_it(tmp_path, monkeypatch, extra):
    """launch() follows hydra-submitit-launcher's BaseSubmititLauncher.launch (pinned to 1.2.x in pyproject.toml):
    for the same config, submitit's executor must be made and parameterised exactly as the plugin's launch does."""
    import os
    import stat

    import submitit
    from hydra import compose, initialize_config_module
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
    from omegaconf import OmegaConf

    from hydra_plugins.mnistcli_slurm.launcher import MnistcliSlurmLauncher

    calls: dict[str, list] = {}

    class Recorder:
        def __init__(self, **init):
            self.name = type(launcher).__name__
            calls.setdefault(self.name, []).append(("init", init))

        def update_parameters(self, **params):
            calls[self.name].append(("update", params))

        def map_array(self, fn, *args):
            calls[self.name].append(("map_array", [list(a) for a in args[:3]]))
            raise RuntimeError("stop before submitting")

    monkeypatch.setattr(submitit, "AutoExecutor", Recorder)
    monkeypatch.setattr(slurm, "scheduler_log", lambda path: __import__("contextlib").nullcontext())
    with initialize_config_module(version_base="1.3", config_module="mnistcli.conf"):
        cfg = compose("config", overrides=["hydra/launcher=slurm", *extra], return_hydra_config=True)
    params = {k: v for k, v in OmegaConf.to_container(cfg.hydra.launcher, resolve=True).items() if k != "_target_"}
    dirs = {}
    for cls in (SlurmLauncher, MnistcliSlurmLauncher):
        launcher = cls(**params)
        dirs[cls.__name__] = tmp_path / cls.__name__
        launcher.config = OmegaConf.merge(cfg, {"hydra": {"sweep": {"dir": str(dirs[cls.__name__])}}})
        with pytest.raises(Exception, match="stop before submitting"):
            launcher.launch([["seed=1"], ["seed=2"]], 3)
    assert calls["MnistcliSlurmLauncher"] == calls["SlurmLauncher"]
    assert calls["SlurmLauncher"][0][1]["folder"] == params["submitit_folder"]
    modes = {stat.S_IMODE(os.stat(d).st_mode) for d in dirs.values()}
    assert len(modes) == 1 and (modes == {0o750} if extra else True)


def test_each_job_is_one_short_line_of_what_differs():
    """Hydra's `\\t#0 : <every override>` lines wrapped at 80 columns; the keys all jobs share say nothing."""
    shared = ["train.epochs=1", "data.dir=/work/shared/mnist"]
    jobs = [["model=softmax", "seed=1", *shared], ["model=softmax", "seed=2", *shared], ["model=cnn", "seed=1", *shared]]
    assert slurm.job_lines(jobs, 3) == ["#3 model=softmax seed=1", "#4 model=softmax seed=2", "#5 model=cnn seed=1"]
    assert slurm.job_lines([["model=softmax", *shared]], 0) == ["#0 model=softmax train.epochs=1 data.dir=/work/shared/mnist"]


@pytest.mark.parametrize("max_num_timeout", [0, 2])
def test_slurms_warning_interrupts_training_unless_submitit_is_to_requeue(tmp_path, monkeypatch, max_num_timeout):
    """Our SIGUSR2 handler replaces submitit's, whose requeueing (max_num_timeout > 0) must then keep working."""
    import os
    import signal
    from types import SimpleNamespace

    from mnistcli.runs.record import read_record
    from mnistcli.sweeps import slurm_job

    launcher = SimpleNamespace(params={"timeout_min": 1, "signal_delay_s": 120, "max_num_timeout": max_num_timeout})
    monkeypatch.setattr(slurm_job, "job_folder", lambda launcher, overrides, num: (tmp_path / "0", {}))
    seen = {}

    def job(*args):
        seen["handler"] = signal.getsignal(signal.SIGUSR2)
        if max_num_timeout == 0:
            os.kill(os.getpid(), signal.SIGUSR2)
        return "trained"

    previous = signal.getsignal(signal.SIGUSR2)
    result = slurm_job.run_in_job(launcher, job, ["seed=1"], "hydra.sweep.dir", 0, "id", {})
    assert signal.getsignal(signal.SIGUSR2) is previous
    if max_num_timeout:
        assert result == "trained" and seen["handler"] is previous  # submitit's handler stays: it requeues
        return
    error = read_record(tmp_path / "0").error
    assert error == "Slurm's time limit of 1 min (hydra.launcher.timeout_min) was near, or it was preempted; stopped by SIGUSR2"


def test_a_warning_due_at_once_is_said_before_submitting(monkeypatch, capsys):
    from omegaconf import OmegaConf

    monkeypatch.setattr(slurm, "nodes", lambda: [NODE])
    config = OmegaConf.create({"hydra": {"runtime": {"choices": {}}, "overrides": {"hydra": []}}})
    slurm.before_submitting({"cpus_per_task": 1, "timeout_min": 1, "signal_delay_s": 120}, config)
    slurm.before_submitting({"cpus_per_task": 1, "timeout_min": 60, "signal_delay_s": 120}, config)
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "signal_delay_s=120 is not under timeout_min=1 min" in err

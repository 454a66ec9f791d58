"""Hydra's submitit Slurm launcher with mnistcli's checks and waiting (mnistcli/sweeps/slurm.py does the work)."""

from __future__ import annotations

from typing import Any, Sequence

from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher


class MnistcliSlurmLauncher(SlurmLauncher):
    """hydra/launcher=slurm: checks the request fits a node before submitting, and waits on Slurm itself, so a
    cancelled or timed-out job ends as one row of the summary instead of hanging or stopping the sweep; in the job,
    Slurm's time-limit warning interrupts training (resumable) instead of failing it."""

    def setup(self, *, hydra_context, task_function, config) -> None:
        from mnistcli.sweeps.slurm import before_submitting

        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        # Here, not in launch(): Hydra's sweepers (basic, Optuna) set up the launcher before they write the sweep
        # folder and its multirun.yaml, so a request no node can hold leaves nothing behind.
        before_submitting(self.params, config)

    def __call__(self, sweep_overrides, job_dir_key, job_num, job_id, singleton_state) -> Any:
        from mnistcli.sweeps.slurm_job import run_in_job

        # In the Slurm job: Slurm's time-limit warning interrupts training instead of failing it.
        return run_in_job(self, super().__call__, sweep_overrides, job_dir_key, job_num, job_id, singleton_state)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[Any]:
        from mnistcli.sweeps.slurm import launch

        return launch(self, job_overrides, initial_job_idx)

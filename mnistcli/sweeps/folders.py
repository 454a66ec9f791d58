"""A sweep folder's job folders, in job order, and each job's command-line overrides."""

from __future__ import annotations

from pathlib import Path

import yaml


def job_dirs(sweep_dir: Path) -> list[Path]:
    """The job folders of a sweep (each holds Hydra's .hydra/), in job order."""
    dirs = [p.parent for p in Path(sweep_dir).rglob(".hydra") if p.is_dir() and p.parent != Path(sweep_dir)]
    return sorted(dirs, key=lambda d: [int(part) if part.isdigit() else part for part in d.relative_to(sweep_dir).parts])


def overrides(job_dir: Path) -> dict[str, str]:
    """The job's command-line overrides (.hydra/overrides.yaml), key -> value text."""
    try:
        items = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError):
        return {}
    pairs = (str(item).split("=", 1) for item in items)
    return {p[0]: p[1] if len(p) > 1 else "" for p in pairs}

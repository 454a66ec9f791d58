"""The git commit of the working directory a run started from, and whether its tracked files had changes."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _git(*args: str, cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):  # git missing, or hung on a network file system
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(cwd: Path | None = None) -> dict | None:
    """{"commit": sha, "dirty": bool} for the git work tree holding cwd (default: the current folder), or None
    when it is not in one or git is not installed. Untracked files do not count as changes (outputs/ would)."""
    folder = Path(cwd) if cwd is not None else Path.cwd()
    commit = _git("rev-parse", "--verify", "HEAD", cwd=folder)
    if not commit:
        return None
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=folder)
    return {"commit": commit, "dirty": bool(status)} if status is not None else {"commit": commit}

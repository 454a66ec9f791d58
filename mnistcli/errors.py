"""The tool's own error type, and turning any error a user can cause into one readable line."""

from __future__ import annotations

import re


class MnistcliError(Exception):
    """A problem with the user's input, config or files, reported as one line without a traceback."""


def one_line(exc: BaseException) -> str:
    """Fold an error message (Hydra's span several lines and list options) into one line."""
    text = str(exc).strip() or type(exc).__name__
    override = getattr(exc, "override", None)  # Hydra's OverrideParseException knows the bad override
    if isinstance(override, str) and override not in text:
        text = f"cannot parse override '{override}': {text}"
    cause = exc.__cause__
    # Hydra wraps OmegaConf's errors; the cause names the offending key.
    if cause is not None and str(cause).strip() and str(cause).strip() not in text:
        text = f"{text} {str(cause).strip()}"
    # Hydra's missing-option error ends with its search path: noise to a user who typed an option name.
    text = re.split(r"\s*Config search path:", text, maxsplit=1)[0]
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("full_key:", "object_type=", "Set the environment"))]
    out = ""
    for ln in lines:
        if not out:
            out = ln
        elif out.endswith(":"):
            out = f"{out} {ln}"
        elif re.match(r"^[\w./-]+$", ln) and ":" in out:
            out = f"{out}, {ln}" if not out.endswith(":") else f"{out} {ln}"
        else:
            out = f"{out.rstrip('.')}. {ln}"
    return out.replace(":,", ":")


def is_user_error(exc: BaseException) -> bool:
    """Errors that come from what the user typed or gave us, not from a bug in mnistcli."""
    if isinstance(exc, MnistcliError):
        return True
    module = type(exc).__module__ or ""
    return module.startswith(("hydra.", "omegaconf."))

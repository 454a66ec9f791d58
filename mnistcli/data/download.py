"""Keras's download cache: a cached file verified by SHA-256 needs no network; otherwise keras.utils.get_file fetches it.

An offline machine fails in milliseconds (a plain connect first), without the seconds-long Keras import.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

from mnistcli.data.files import IDX_FILES, TEST_PARTS, NotThere, Raw, read_idx_files, read_npz, sha256_of
from mnistcli.errors import MnistcliError

# Seconds a silent network may stall a connect or a read before the download is given up.
NETWORK_TIMEOUT_S = 5.0


def from_keras(
    name: str, url: str, sha256: str | Mapping[str, str] | None, cache_dir: str, test_only: bool
) -> Raw:
    cache = Path(os.path.expanduser(cache_dir))
    if isinstance(sha256, Mapping) or url.endswith("/"):
        # A folder of the four gzipped IDX files, cached where keras.datasets.fashion_mnist keeps them.
        if isinstance(sha256, str):
            raise MnistcliError(
                f"data.url {url} is a folder of IDX files, so data.sha256 must map each file name to its "
                "SHA-256 (or be null), not be a single hash"
            )
        hashes = dict(sha256) if isinstance(sha256, Mapping) else {}
        base = url if url.endswith("/") else url + "/"
        subdir = f"datasets/{name.replace('_', '-')}"
        parts = TEST_PARTS if test_only else tuple(IDX_FILES)
        paths: dict[str, Path | None] = {}
        downloaded = False
        for part in parts:
            fname = IDX_FILES[part] + ".gz"
            paths[part], fetched = _fetch(fname, base + fname, hashes.get(fname), cache, subdir)
            downloaded |= fetched
        folder = next(iter(paths.values())).parent  # type: ignore[union-attr]
        raw = read_idx_files(paths, f"keras cache {folder} (IDX)")
    else:
        fname = os.path.basename(url.split("?", 1)[0]) or f"{name}.npz"
        path, downloaded = _fetch(fname, url, sha256, cache, "datasets")
        raw = read_npz(path, f"keras cache {path}", test_only)
    if downloaded:
        raw.source += f" (downloaded from {url})"
    return raw


def _fetch(fname: str, origin: str, file_hash: str | None, cache: Path, subdir: str) -> tuple[Path, bool]:
    """The cached file (verified) or a fresh download through keras.utils.get_file: (path, downloaded)."""
    target = cache / subdir / fname
    # Checked here first: a verified cache needs no Keras import, and get_file would ignore a read-only cache.
    if target.is_file() and (file_hash is None or sha256_of(target) == file_hash.lower()):
        return target, False
    _check_reachable(origin)  # offline: fail in milliseconds, without the seconds-long Keras import
    try:
        from keras.utils import get_file
    except Exception as e:  # noqa: BLE001 - any import failure means "cannot download"
        raise NotThere(f"{target} not cached and Keras is unavailable to download it ({e})") from None

    try:
        # get_file treats a cache folder that does not exist yet as unwritable and silently uses /tmp/.keras.
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # really unwritable: get_file then downloads to /tmp/.keras, and the path it returns is used
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(NETWORK_TIMEOUT_S)
    try:
        # Keras prints its progress to stdout; stdout is kept for the tool's own output.
        with contextlib.redirect_stdout(sys.stderr):
            path = get_file(
                fname=fname,
                origin=origin,
                file_hash=file_hash,
                hash_algorithm="sha256",
                cache_subdir=subdir,
                cache_dir=str(cache),
            )
    except ValueError as e:
        if "hash" in str(e).lower():
            with contextlib.suppress(OSError):
                target.unlink()  # Keras leaves the bad download in the cache; it must never be used
            raise MnistcliError(
                f"downloaded {origin} but its SHA-256 does not match data.sha256 {file_hash} "
                f"(corrupt download or wrong hash)"
            ) from None
        raise NotThere(f"download of {origin} failed ({_one_line(e)})") from None
    except Exception as e:  # noqa: BLE001 - offline, refused, timeout, HTTP errors: the next source is tried
        raise NotThere(f"download of {origin} failed ({_one_line(e)})") from None
    finally:
        socket.setdefaulttimeout(old_timeout)
    return Path(path), True


def _check_reachable(origin: str) -> None:
    """Raise NotThere when an http(s) origin's server cannot even be connected to (no proxy configured)."""
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    if urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(parts.hostname):
        return  # the proxy, not the host, is what gets connected to: let the download itself try
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise NotThere(f"download of {origin} failed ({e})") from None
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(NETWORK_TIMEOUT_S)
    try:
        socket.create_connection((parts.hostname, port), timeout=NETWORK_TIMEOUT_S).close()
    except OSError as e:
        raise NotThere(f"download of {origin} failed (cannot connect to {parts.hostname}:{port}: {_one_line(e)})") from None
    finally:
        socket.setdefaulttimeout(old_timeout)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__

#!/usr/bin/env bash
# Optional system packages and services the tests use (headless Chromium, a one-node Slurm cluster); a part that cannot be set up here is reported, never fatal
# (the tests that need it then skip with a reason). Run as root or with sudo: `sudo scripts/services.sh`.
set -uo pipefail

# as_root
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Headless Chromium and its WebDriver, for the browser tests of `mnistcli serve` (tests/serve/test_browser.py).
# Debian's packages only: nothing downloads a browser of its own.
browser() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        echo "services: chromium and chromedriver already installed"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "services: no apt-get here - install chromium and chromedriver yourself; the browser tests skip meanwhile"
        return 0
    fi
    echo "services: installing chromium and chromium-driver with apt-get"
    if as_root apt-get update -qq \
        && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; then
        echo "services: $(chromium --version 2>/dev/null || echo chromium) installed"
    else
        echo "services: could not install chromium (rc $?: no root, no network or no package) - the browser tests skip"
    fi
}

# A one-node Slurm cluster on this machine, for the Slurm sweep tests (tests/integration/test_slurm.py).
slurm() {
    bash "$(dirname "$0")/local-slurm.sh"
}

browser
slurm
exit 0

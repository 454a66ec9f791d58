# Shell functions the scripts in scripts/ share; sourced, not run.

# Run a command as root: directly when root, else with sudo when it needs no password; else return 126.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
    else return 126
    fi
}

#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the Slurm integration tests (tests/integration/test_slurm.py)
# and for trying `mnistcli train -m hydra/launcher=slurm` without a cluster. Installs Debian's slurm-wlm and
# munge with apt-get when missing, writes a minimal slurm.conf (the node's real CPUs and memory, one default
# partition), starts munged, slurmctld and slurmd directly (no systemd needed) and waits until `sinfo` shows the
# node idle. Idempotent; never fatal: what cannot be done is reported and the script exits 0 (the tests then
# skip with a reason, or fail under CI=true). Run as root or with sudo: `sudo scripts/local-slurm.sh`.
set -uo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
# Written by this script: a slurm.conf without this first line is someone else's and is left alone.
MARK="# mnistcli scripts/local-slurm.sh: a single-node cluster on this machine"
LOG_DIR=/var/log/slurm

say() { echo "local-slurm: $*"; }

# as_root
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

node_idle() {
    # The node answers and is idle or already running jobs (mixed, allocated): the cluster is usable.
    local state
    state=$(timeout 5 sinfo --noheader --format=%T 2>/dev/null | head -1) || return 1
    case "$state" in idle*|mix*|alloc*) return 0 ;; *) return 1 ;; esac
}

install_packages() {
    if command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "no apt-get here - install slurm-wlm and munge yourself; the Slurm tests skip meanwhile"
        return 1
    fi
    say "installing slurm-wlm and munge with apt-get"
    local out rc
    out=$(as_root apt-get update -qq 2>&1 \
        && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge 2>&1)
    rc=$?
    if [ "$rc" = 0 ]; then
        say "$(slurmctld -V 2>/dev/null || echo slurm) installed"
    else
        # apt's chatter (debconf's notes) only when it failed
        tail -5 <<<"$out" | sed 's/^/local-slurm:   /'
        say "could not install slurm-wlm and munge (rc $rc: no root, no network or no package) - the Slurm tests skip"
        return 1
    fi
}

start_munge() {
    if timeout 5 munge -n </dev/null 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; then
        return 0  # already running
    fi
    as_root mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
    if [ ! -s /etc/munge/munge.key ]; then
        as_root dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    # munged refuses a key or a socket folder that others could write, and runs as its own user.
    local user=munge
    id munge >/dev/null 2>&1 || user=root
    as_root chown -R "$user:" /etc/munge /run/munge /var/lib/munge /var/log/munge
    as_root chmod 0700 /etc/munge /var/lib/munge /var/log/munge
    as_root chmod 0755 /run/munge
    as_root chmod 0400 /etc/munge/munge.key
    if [ "$user" = root ]; then as_root munged --force; else as_root runuser -u munge -- munged; fi
    for _ in $(seq 20); do
        timeout 5 munge -n </dev/null 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    say "munged did not start (see /var/log/munge/munged.log)"
    return 1
}

write_conf() {
    if [ -f "$CONF" ] && ! head -1 "$CONF" | grep -qxF "$MARK"; then
        say "$CONF exists and is not this script's: using it as it is"
        return 0
    fi
    local host node cpus mem
    host=$(hostname -s)
    # slurmd -C prints this node as slurm.conf wants it: CPUs, sockets, cores, threads and real memory (MB).
    node=$(slurmd -C 2>/dev/null | head -1)
    cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
    mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
    if [ -z "$cpus" ] || [ -z "$mem" ]; then
        cpus=$(nproc)
        mem=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
        node="NodeName=$host CPUs=$cpus RealMemory=$mem"
    fi
    as_root mkdir -p "$CONF_DIR" "$LOG_DIR" /var/spool/slurmctld /var/spool/slurmd
    as_root tee "$CONF" >/dev/null <<EOF
$MARK
ClusterName=mnistcli
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
# No cgroups needed: processes are tracked by their parent pid, and tasks are not bound to cores.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# No accounting database: squeue and scontrol know a job until MinJobAge seconds after it ends.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
# A job past its time limit is stopped at once (no grace minutes), killed 2 s after its SIGTERM.
OverTimeLimit=0
KillWait=2
InactiveLimit=0
ReturnToService=2
SlurmdTimeout=60
# A job that asks no memory gets its share of the node's, not all of it.
DefMemPerCPU=$((mem / cpus))
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    say "wrote $CONF: $host with $cpus CPUs and $mem MB, partition local"
}

start_daemons() {
    if ! pgrep -x slurmctld >/dev/null 2>&1; then
        as_root slurmctld || { say "slurmctld did not start (see $LOG_DIR/slurmctld.log)"; return 1; }
    fi
    if ! pgrep -x slurmd >/dev/null 2>&1; then
        as_root slurmd || { say "slurmd did not start (see $LOG_DIR/slurmd.log)"; return 1; }
    fi
}

wait_idle() {
    local host
    host=$(hostname -s)
    for _ in $(seq 60); do
        node_idle && return 0
        # A node that was down (a previous run's daemons killed) comes back once asked.
        timeout 5 scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1
        sleep 0.5
    done
    say "the node did not become idle in 30 s: $(sinfo --noheader 2>&1 | head -1) (see $LOG_DIR/)"
    return 1
}

main() {
    if command -v sinfo >/dev/null 2>&1 && node_idle; then
        say "cluster already up: $(sinfo --noheader --format='%P %D node(s) %c CPUs %m MB %T' | head -1)"
        return 0
    fi
    install_packages || return 0
    start_munge || return 0
    write_conf
    start_daemons || return 0
    wait_idle || return 0
    say "cluster up: $(sinfo --noheader --format='%P %D node(s) %c CPUs %m MB %T' | head -1)"
}

main
exit 0

#!/usr/bin/env bash
# Starts a real single-node Slurm cluster on this machine, for pmeter's Slurm tests (cluster package):
# Debian's slurm-wlm and munge, slurmctld and slurmd on localhost, run as root, with
# proctrack/linuxproc and task/none (no cgroups, so it also runs inside a container). Idempotent: when
# the controller already answers, it does nothing. Needs root and the packages slurm-wlm and munge
# (.ci/run installs them). Prints the partition when the node is ready.
#
#   scripts/slurm-local.sh          start (or check) the cluster
#   scripts/slurm-local.sh stop     stop the daemons it started
set -euo pipefail

if [ "${1:-}" = stop ]; then
  for p in slurmd slurmctld; do
    [ -f "/run/pmeter-$p.pid" ] && kill "$(cat "/run/pmeter-$p.pid")" 2>/dev/null || true
  done
  exit 0
fi

if pgrep -x slurmd >/dev/null && sinfo -h -o '%P %t' 2>/dev/null | grep -Eq 'idle|mix|alloc'; then
  sinfo -h -o 'slurm: partition %P, node %N, state %t, %c CPUs'
  exit 0
fi
for c in slurmctld slurmd munged sinfo; do
  command -v "$c" >/dev/null || { echo "slurm-local: $c not found: apt-get install slurm-wlm munge" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "slurm-local: run as root" >&2; exit 1; }

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))

# munge: a key, then the daemon (it refuses root unless forced; the key must belong to its user).
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown -R root:root /etc/munge /run/munge /var/log/munge /var/lib/munge
chmod 0700 /etc/munge /var/log/munge /var/lib/munge
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge
if ! munge -n </dev/null >/dev/null 2>&1; then
  munged --force
  for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
fi

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >/etc/slurm/slurm.conf <<CONF
# Written by pmeter's scripts/slurm-local.sh: one node on localhost, for tests.
ClusterName=pmeter-local
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
# Tests queue short tasks one after another: schedule every second, not every minute.
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/pmeter-slurmctld.pid
SlurmdPidFile=/run/pmeter-slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
KillWait=5
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
# No cgroup.conf: slurmd 22.05 loads its cgroup plugin (autodetected) even with proctrack/linuxproc and
# task/none, only to read the hardware; "CgroupPlugin=disabled" arrived in a later release.

pgrep -x slurmctld >/dev/null || slurmctld || { tail -n 20 /var/log/slurm/slurmctld.log >&2; exit 1; }
pgrep -x slurmd >/dev/null || slurmd || { tail -n 20 /var/log/slurm/slurmd.log >&2; exit 1; }
for _ in $(seq 100); do
  state=$(sinfo -h -o '%t' 2>/dev/null | head -1 || true)
  case "$state" in
    idle*|mix*|alloc*) sinfo -h -o 'slurm: partition %P, node %N, state %t, %c CPUs'; exit 0 ;;
    down*|drain*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.3
done
echo "slurm-local: the node did not become idle; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
sinfo >&2 || true
exit 1

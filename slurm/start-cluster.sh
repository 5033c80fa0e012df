#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine, for gpo-bench's SLURM tests (run as root).
# Installs Debian's slurm-wlm and munge if missing, writes a minimal slurm.conf for this host
# (its real CPU count and memory), and starts munged, slurmctld and slurmd. Idempotent: a second
# call leaves a running cluster alone. Prints the partition's state when ready.
set -euo pipefail

max_array=${GPO_BENCH_MAX_ARRAY_SIZE:-1001}
if ! [[ "$max_array" =~ ^[1-9][0-9]*$ ]]; then
  echo "start-cluster.sh: GPO_BENCH_MAX_ARRAY_SIZE='$max_array': expected a positive integer (the cluster's MaxArraySize; default 1001)" >&2
  exit 2
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
conf_dir=/etc/slurm
mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /var/lib/munge /var/log/munge

if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key

cat > "$conf_dir/slurm.conf" <<CONF
ClusterName=gpobench
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
MaxArraySize=$max_array
# Cancelled tasks get SIGTERM, then SIGKILL after KillWait. submitit's jobs ignore SIGTERM (SLURM
# also sends it around preemption), so keep the wait short for the tests' scancel.
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

pgrep -x munged >/dev/null || su -s /bin/sh munge -c "munged" 2>/dev/null || munged --force
if pgrep -x slurmctld >/dev/null; then
  scontrol reconfigure  # a running cluster takes the configuration just written
else
  slurmctld -c  # a fresh test cluster: drop jobs a previous boot left "running" in the saved state
fi
pgrep -x slurmd >/dev/null || slurmd

for _ in $(seq 1 60); do
  if sinfo -h -o "%T" 2>/dev/null | grep -qE "idle|mix|alloc"; then
    sinfo
    exit 0
  fi
  sleep 1
done
echo "slurm did not come up; see /var/log/slurm/" >&2
exit 1

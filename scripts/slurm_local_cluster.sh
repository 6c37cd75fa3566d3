#!/usr/bin/env bash
# A SLURM cluster on this machine (Debian's slurm-wlm and munge), to run a study with `executor: slurm` for real
# (docs/parallel.md). Needs root. Apart from installing the packages, everything it writes is in DIR.
#
#   scripts/slurm_local_cluster.sh start DIR [NODES]   install the packages if missing, write DIR/slurm.conf, start
#                                                      munged, slurmctld and one slurmd per node; prints
#                                                      `export SLURM_CONF=…`. NODES (default 1) nodes node1 … share
#                                                      this machine's cores (each gets nproc / NODES, at least 1):
#                                                      jobs of several nodes, srun across them, as on a cluster.
#   scripts/slurm_local_cluster.sh stop DIR            stop the daemons
set -euo pipefail
cmd=${1:-}
dir=$(realpath -m "${2:-/tmp/superionic-slurm}")
nodes=${3:-1}
case "$cmd" in
start)
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y -qq slurm-wlm || (apt-get update -qq && apt-get install -y -qq slurm-wlm)) >/dev/null
  fi
  mkdir -p "$dir"/{spool,state,log,munge}
  host=$(hostname -s)
  cpus=$(( $(nproc) / nodes > 0 ? $(nproc) / nodes : 1 ))
  cat >"$dir/slurm.conf" <<CONF
ClusterName=superionic-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket.2
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmdSpoolDir=$dir/spool/%n
StateSaveLocation=$dir/state
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
CONF
  # each node is a slurmd of its own on this host, told apart by its port (`slurmd -N`)
  for i in $(seq "$nodes"); do
    echo "NodeName=node$i NodeHostname=$host Port=$((17000 + i)) CPUs=$cpus State=UNKNOWN" >>"$dir/slurm.conf"
  done
  echo "PartitionName=local Nodes=node[1-$nodes] Default=YES MaxTime=INFINITE State=UP" >>"$dir/slurm.conf"
  # munged refuses to run as root unless forced; its key comes with the Debian package
  munged --force --socket="$dir/munge/munge.socket.2" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -c
  for i in $(seq "$nodes"); do
    mkdir -p "$dir/spool/node$i"
    slurmd -c -N "node$i"
  done
  for _ in $(seq 30); do
    if [ "$(sinfo -h -N -o %T 2>/dev/null | grep -cx idle)" -eq "$nodes" ]; then
      echo "export SLURM_CONF=$dir/slurm.conf"
      exit 0
    fi
    sleep 1
  done
  echo "the local SLURM nodes did not become idle; logs in $dir/log" >&2
  exit 1
  ;;
stop)
  for pid in "$dir"/slurmd-*.pid "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  ;;
*)
  echo "usage: $0 start|stop [DIR]" >&2
  exit 2
  ;;
esac

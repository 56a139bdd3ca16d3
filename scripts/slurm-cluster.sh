#!/usr/bin/env bash
# A throw-away Slurm cluster on this one machine, for tests and for trying
# deploy/slurm/trainer.sbatch: slurmctld plus three slurmd, one per simulated
# node n1..n3 (Debian's slurmd runs several on one host with `-N NAME`), and a
# munged of its own. Everything lives in one state folder: config, munge key
# and socket, spool, logs, PID files. Nothing under /etc is read or written.
#
#   scripts/slurm-cluster.sh up       start what is not running, wait for idle nodes
#   scripts/slurm-cluster.sh down     stop the daemons this script started, by PID
#   scripts/slurm-cluster.sh status   say what runs; exit 0 only when all of it does
#   scripts/slurm-cluster.sh env      print SLURM_CONF=... for the client commands
#
# Environment:
#   TRAINER_SLURM_DIR   state folder (default ${TMPDIR:-/tmp}/trainer-slurm)
#   TRAINER_SLURM_PORT  slurmctld's port (default 16817); slurmd of n1..n3 use the three after it
#
# Why these settings: no systemd and no cgroups here (a container, as root), so
# processes are tracked by /proc (proctrack/linuxproc), tasks are not bound
# (task/none) and there is no accounting. Every daemon is addressed as
# 127.0.0.1; Slurm has no option to bind its listening sockets to one address,
# so the munge key (fresh, 0600, in the state folder) is what keeps others out.
# Each node has a fake `gpu:2` GRES backed by /dev/tty0 and /dev/tty1 (any
# device file does; nothing opens them), so `--gpus-per-task 1` makes Slurm
# set CUDA_VISIBLE_DEVICES per task as it would on GPU nodes.
set -euo pipefail

STATE=${TRAINER_SLURM_DIR:-${TMPDIR:-/tmp}/trainer-slurm}
# Absolute: slurm.conf, the munge socket and the PID files are used from other folders (srun, down).
STATE=$(realpath -m -- "$STATE")
CTLD_PORT=${TRAINER_SLURM_PORT:-16817}
NODES=(n1 n2 n3)
CONF=$STATE/slurm.conf
SOCKET=$STATE/munge/munge.socket
[[ $STATE != *[[:space:]]* ]] || { echo "slurm-cluster: TRAINER_SLURM_DIR must not contain spaces" >&2; exit 1; }

die() { echo "slurm-cluster: $*" >&2; exit 1; }

need() {
  local missing=()
  for c in munged slurmctld slurmd sinfo scontrol; do command -v "$c" > /dev/null || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] || die "not installed: ${missing[*]} (Debian: apt-get install slurmctld slurmd slurm-client munge)"
}

# The command lines this script starts its daemons with (a PID is trusted only
# while its process still has that command line). They are split on spaces
# where they are run: hence no spaces in the state folder's path.
MUNGED_CMD="munged -F --force --socket=$SOCKET"
CTLD_CMD="slurmctld -D -i -f $CONF"
slurmd_cmd() { echo "slurmd -D -N $1 -f $CONF"; }

# PID in FILE if that process still runs and its command line starts with CMD.
alive() {
  local file=$1 cmd=$2 pid line
  [ -s "$file" ] || return 1
  pid=$(cat "$file")
  [ -r "/proc/$pid/cmdline" ] || return 1
  line=$(tr '\0' ' ' < "/proc/$pid/cmdline")
  [[ $line == "$cmd"* ]] || return 1
  echo "$pid"
}

write_config() {
  local host
  host=$(hostname)
  mkdir -p "$STATE"/{munge,ctld,log,spool}
  chmod 700 "$STATE" "$STATE"/munge
  cat > "$CONF" <<EOF
# Written by scripts/slurm-cluster.sh: a single-machine test cluster.
ClusterName=trainer-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdPidFile=$STATE/slurmd-%n.pid
SlurmdLogFile=$STATE/log/slurmd-%n.log
SlurmdSpoolDir=$STATE/spool/%n
StateSaveLocation=$STATE/ctld
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
PlugStackConfig=$STATE/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=10
MinJobAge=300
GresTypes=gpu
NodeName=n[1-3] NodeHostname=$host NodeAddr=127.0.0.1 Port=$((CTLD_PORT + 1))-$((CTLD_PORT + 3)) CPUs=4 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=n[1-3] Default=YES MaxTime=INFINITE State=UP
EOF
  cat > "$STATE/gres.conf" <<EOF
NodeName=n[1-3] Name=gpu File=/dev/tty[0-1]
EOF
  : > "$STATE/plugstack.conf"
}

start_munge() {
  if alive "$STATE/munged.pid" "$MUNGED_CMD" > /dev/null; then return; fi
  if [ ! -s "$STATE/munge/munge.key" ]; then
    (umask 077 && head -c 1024 /dev/urandom > "$STATE/munge/munge.key")
  fi
  chmod 600 "$STATE/munge/munge.key"
  rm -f "$SOCKET" "$SOCKET.lock"
  # Foreground (-F) under setsid: $! is the daemon itself, so down can stop it by PID.
  # shellcheck disable=SC2086
  setsid $MUNGED_CMD --key-file="$STATE/munge/munge.key" \
    --pid-file="$STATE/munge/munged.pid.unused" --log-file="$STATE/log/munged.log" \
    --seed-file="$STATE/munge/munged.seed" < /dev/null >> "$STATE/log/munged.out" 2>&1 &
  echo $! > "$STATE/munged.pid"
  for _ in $(seq 100); do [ -S "$SOCKET" ] && return; sleep 0.1; done
  die "munged did not start; see $STATE/log/munged.log"
}

start_ctld() {
  if alive "$STATE/slurmctld.pid.mine" "$CTLD_CMD" > /dev/null; then return; fi
  # shellcheck disable=SC2086
  setsid $CTLD_CMD < /dev/null >> "$STATE/log/slurmctld.out" 2>&1 &
  echo $! > "$STATE/slurmctld.pid.mine"
}

start_slurmd() {
  local n=$1
  if alive "$STATE/slurmd-$n.pid.mine" "$(slurmd_cmd "$n")" > /dev/null; then return; fi
  mkdir -p "$STATE/spool/$n"
  # shellcheck disable=SC2046
  setsid $(slurmd_cmd "$n") < /dev/null >> "$STATE/log/slurmd-$n.out" 2>&1 &
  echo $! > "$STATE/slurmd-$n.pid.mine"
}

# Every node answers: idle, or busy with a job.
nodes_ready() {
  local states
  states=$(SLURM_CONF=$CONF sinfo -h -N -o '%N %T' 2> /dev/null) || return 1
  [ "$(grep -cE ' (idle|mixed|allocated|completing)$' <<< "$states")" -eq ${#NODES[@]} ]
}

up() {
  need
  local t0=$SECONDS
  if [ ! -f "$CONF" ] || ! grep -q "SlurmctldPort=$CTLD_PORT\$" "$CONF"; then write_config; fi
  start_munge
  start_ctld
  # slurmd registers with slurmctld at start: give the controller a moment to listen.
  for _ in $(seq 100); do SLURM_CONF=$CONF scontrol ping 2> /dev/null | grep -q UP && break; sleep 0.1; done
  for n in "${NODES[@]}"; do start_slurmd "$n"; done
  for _ in $(seq 300); do
    if nodes_ready; then
      echo "slurm-cluster: up in $((SECONDS - t0)) s; nodes ${NODES[*]} ready; export SLURM_CONF=$CONF"
      return
    fi
    sleep 0.1
  done
  SLURM_CONF=$CONF sinfo -N >&2 || true
  die "nodes not ready after 30 s; logs in $STATE/log"
}

# Stops the daemons named by "pidfile|command" pairs together (each takes a second or two).
stop_pids() {
  local pids=() pid entry
  for entry in "$@"; do
    if pid=$(alive "${entry%%|*}" "${entry#*|}"); then kill -TERM "$pid" 2> /dev/null && pids+=("$pid"); fi
    rm -f "${entry%%|*}"
  done
  for _ in $(seq 100); do
    local left=()
    for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "${left[@]}"; do kill -KILL "$pid" 2> /dev/null || true; done
}

down() {
  local daemons=("$STATE/slurmctld.pid.mine|$CTLD_CMD")
  for n in "${NODES[@]}"; do daemons+=("$STATE/slurmd-$n.pid.mine|$(slurmd_cmd "$n")"); done
  stop_pids "${daemons[@]}"
  stop_pids "$STATE/munged.pid|$MUNGED_CMD"
  echo "slurm-cluster: down"
}

status() {
  local ok=0 pid
  local checks=("munged|$STATE/munged.pid|$MUNGED_CMD" "slurmctld|$STATE/slurmctld.pid.mine|$CTLD_CMD")
  for n in "${NODES[@]}"; do checks+=("slurmd $n|$STATE/slurmd-$n.pid.mine|$(slurmd_cmd "$n")"); done
  for d in "${checks[@]}"; do
    IFS='|' read -r name file cmd <<< "$d"
    if pid=$(alive "$file" "$cmd"); then echo "$name: running (pid $pid)"; else echo "$name: stopped"; ok=1; fi
  done
  if [ $ok -eq 0 ] && ! nodes_ready; then echo "nodes: not all up"; ok=1; fi
  [ $ok -eq 0 ] && echo "SLURM_CONF=$CONF"
  return $ok
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) echo "SLURM_CONF=$CONF" ;;
  *) die "usage: $0 up|down|status|env" ;;
esac

#!/bin/bash
# A real Slurm on this machine (Debian's slurm-wlm and munge): munged, slurmctld and slurmd on
# localhost with a generated key and slurm.conf in a temporary directory, then
# `sbatch --wait deploy/slurm/caravan.sbatch tests/integration/short_run.toml` must succeed and
# leave a complete run directory; a longer run sent SIGTERM the way Slurm does before a time limit
# (`scancel --batch --signal=TERM`) must checkpoint the step it trained last and stop. Everything
# started here is stopped on exit, failure included.
#
# usage: slurm_test.sh CARAVAN_BINARY SOURCE_DIR
set -euo pipefail
caravan=$1
source_dir=$2

for tool in munged slurmctld slurmd sbatch scontrol sinfo python3; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (scripts/setup.sh installs slurm-wlm and munge)"; exit 1; }
done

work=$(mktemp -d /tmp/caravan-slurm.XXXXXX)
chmod 755 "$work"
mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/log"
chmod 700 "$work/munge"
export SLURM_CONF=$work/slurm.conf
failed=1

stop_daemon() {  # pid file; waits up to 10 s, then SIGKILL
  local pid
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  if [ -s "$work/slurmctld.pid" ]; then scancel --quiet --full "--user=$(id -un)" 2>/dev/null || true; sleep 1; fi
  stop_daemon "$work/slurmd.pid"
  stop_daemon "$work/slurmctld.pid"
  stop_daemon "$work/munge/munged.pid"
  if [ "$failed" = 1 ]; then
    for f in "$work"/job.out "$work"/long.out "$work"/log/*.log "$work"/run/logs/*.log "$work"/long/logs/*.log; do
      [ -f "$f" ] && { echo "==== $f (last 40 lines)"; tail -n 40 "$f"; }
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Two free TCP ports for slurmctld and slurmd.
read -r ctld_port slurmd_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"

user=$(id -un)
cat > "$SLURM_CONF" <<CONF
ClusterName=caravantest
SlurmctldHost=localhost
SlurmUser=$user
SlurmdUser=$user
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
# No cgroups: plain process tracking works in containers too.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
# SIGTERM to SIGKILL when Slurm ends a job: room for a checkpoint ([supervision] sigterm_grace_s).
KillWait=60
NodeName=localhost CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=caravan Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF

slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost
for _ in $(seq 150); do
  [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break
  sleep 0.2
done
[ "$(sinfo -h -o %t)" = idle ] || { echo "FAIL: the node did not become idle: $(sinfo -h -o '%t %E' 2>&1)"; exit 1; }

# The run: the controller on the batch node, each worker through srun.
run_dir=$work/run
export CARAVAN_BIN=$caravan
started=$SECONDS
status=0
sbatch --wait --exclusive --time=10 --output="$work/job.out" \
  "$source_dir/deploy/slurm/caravan.sbatch" "$source_dir/tests/integration/short_run.toml" --run-dir "$run_dir" \
  > "$work/sbatch.out" || status=$?
echo "sbatch --wait: status $status after $(( SECONDS - started )) s"
[ "$status" = 0 ] || { echo "FAIL: the job failed"; exit 1; }

check() { "$@" || { echo "FAIL: $*"; exit 1; }; }
check grep -q "started 5 workers" "$work/job.out"
check test -s "$run_dir/config.toml"
check test -s "$run_dir/samples/train.jsonl"
check test -f "$run_dir/checkpoints/step-000004/COMMITTED"
check test -d "$run_dir/final_model"
# Every process of the run, the srun-started ones included, left its debug log.
for process in launcher controller-0 learner-0 rollout-0 rollout-1 verifier-0 verifier-1; do
  check test -s "$run_dir/logs/$process.log"
done
# Four RL steps trained, each with the weights of the step before.
python3 - "$run_dir/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
rl = [row for row in rows if row.get("phase") == "rl"]
assert [row["step"] for row in rl] == [1, 2, 3, 4], rl
assert [row["policy_version"] for row in rl] == sorted(row["policy_version"] for row in rl), rl
PY
# The workers connected from their srun tasks to the controller's advertised address.
check grep -q "event=worker_connected worker=rollout-1" "$run_dir/logs/controller-0.log"
echo "PASS: a short run completed under Slurm"

# SIGTERM: a run of many steps is told to stop once it has trained two; the controller writes a
# checkpoint of the last step within [supervision] sigterm_grace_s and the job ends.
python3 - "$source_dir/tests/integration/short_run.toml" "$work/long.toml" <<'PY'
import sys
text = open(sys.argv[1]).read().replace("[grpo]\nsteps = 4\n", "[grpo]\nsteps = 400\n")
assert "steps = 400" in text
open(sys.argv[2], "w").write(text + "\n[supervision]\nsigterm_grace_s = 30\n")
PY
long_dir=$work/long
job=$(sbatch --parsable --exclusive --time=10 --output="$work/long.out" \
  "$source_dir/deploy/slurm/caravan.sbatch" "$work/long.toml" --run-dir "$long_dir")
steps_trained() {
  local count
  count=$(grep -c '"phase":"rl"' "$long_dir/metrics.jsonl" 2>/dev/null) || true
  echo "${count:-0}"
}
for _ in $(seq 240); do [ "$(steps_trained)" -ge 2 ] && break; sleep 0.5; done
[ "$(steps_trained)" -ge 2 ] || { echo "FAIL: the long run trained no 2 steps in 2 minutes"; cat "$work/long.out"; exit 1; }
scancel --batch --signal=TERM "$job"
for _ in $(seq 120); do
  state=$(scontrol show job "$job" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
  case "$state" in PENDING|RUNNING|COMPLETING|"") sleep 0.5 ;; *) break ;; esac
done
echo "after SIGTERM: job $job is $state"
case "$state" in COMPLETED|FAILED) ;; *) echo "FAIL: job $job did not end by itself after SIGTERM ($state)"; exit 1 ;; esac
check grep -q "SIGTERM: the controller checkpoints and stops" "$work/long.out"
check grep -q "stopped by SIGTERM" "$long_dir/logs/launcher.log"
last=$(steps_trained)
check test -f "$long_dir/checkpoints/$(printf 'step-%06d' "$last")/COMMITTED"
[ "$last" -lt 400 ] || { echo "FAIL: the run was not stopped"; exit 1; }
echo "PASS: SIGTERM under Slurm checkpointed step $last and stopped the run"
failed=0

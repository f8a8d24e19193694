#!/bin/bash
# A real Slurm on this machine (Debian's slurm-wlm and munge): munged, slurmctld and two slurmd
# (nodes n1 and n2 on localhost: Debian builds Slurm with multiple-slurmd support) with a
# generated key and slurm.conf in a temporary directory. Then, with deploy/slurm/caravan.sbatch
# and tests/integration/short_run.toml:
#   - a 2-node job must succeed, place the roles as documented and leave a complete run directory;
#   - a heterogeneous job (learner component, rollout component) must place them by component;
#   - a longer run sent SIGTERM the way Slurm does before a time limit
#     (`scancel --batch --signal=TERM`) must checkpoint the step it trained last and stop.
# Everything started here is stopped on exit, failure included.
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
  stop_daemon "$work/slurmd-n1.pid"
  stop_daemon "$work/slurmd-n2.pid"
  stop_daemon "$work/slurmctld.pid"
  stop_daemon "$work/munge/munged.pid"
  if [ "$failed" = 1 ]; then
    for f in "$work"/*.out "$work"/log/*.log "$work"/*/logs/*.log; do
      [ -f "$f" ] && { echo "==== $f (last 40 lines)"; tail -n 40 "$f"; }
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Three free TCP ports: slurmctld and the two slurmd.
read -r ctld_port n1_port n2_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"

user=$(id -un)
cat > "$SLURM_CONF" <<CONF
ClusterName=caravantest
# The address in parentheses: a machine without an /etc/hosts entry for localhost still works.
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
SlurmctldPort=$ctld_port
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool/%n
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd-%n.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd-%n.log
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
# Heterogeneous jobs start from the backfill scheduler: run it every second, not every 30.
SchedulerParameters=bf_interval=1
# SIGTERM to SIGKILL when Slurm ends a job: room for a checkpoint ([supervision] sigterm_grace_s).
KillWait=60
# Two nodes on this machine, each its own slurmd on its own port.
NodeName=n1 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$n1_port CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
NodeName=n2 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$n2_port CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=caravan Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF

slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N n1
slurmd -f "$SLURM_CONF" -N n2
for _ in $(seq 150); do
  [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break
  sleep 0.2
done
[ "$(sinfo -h -o %t)" = idle ] || { echo "FAIL: the nodes did not become idle: $(sinfo -h -o '%N %t %E' 2>&1)"; exit 1; }
config=$(scontrol show config)
[[ "$config" =~ MULTIPLE_SLURMD\ *=\ *Yes ]] ||
  { echo "FAIL: this Slurm is built without multiple-slurmd support (two nodes on one machine)"; exit 1; }

export CARAVAN_BIN=$caravan
check() { "$@" || { echo "FAIL: $*"; exit 1; }; }
# run_job NAME SBATCH_OPTIONS...: the short run as a job that must succeed; its run directory
# is $work/NAME and its output $work/NAME.out.
run_job() {
  local name=$1 status=0 started=$SECONDS
  shift
  sbatch --wait --time=10 --output="$work/$name.out" "$@" \
    "$source_dir/deploy/slurm/caravan.sbatch" "$source_dir/tests/integration/short_run.toml" --run-dir "$work/$name" \
    > /dev/null || status=$?
  echo "$name: sbatch --wait: status $status after $(( SECONDS - started )) s"
  [ "$status" = 0 ] || { echo "FAIL: the $name job failed"; exit 1; }
  local run_dir=$work/$name
  check grep -q "started 5 workers" "$work/$name.out"
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
  # The workers reached the controller at the address the batch node advertised.
  check grep -q "event=worker_connected worker=rollout-1" "$run_dir/logs/controller-0.log"
}

# Two nodes: controller and learner on the first, rollout actors on the other, verifiers round-robin.
run_job two-nodes --nodes=2
for placed in "learner-0 on n1" "rollout-0 on n2" "rollout-1 on n2" "verifier-0 on n1" "verifier-1 on n2"; do
  check grep -q "caravan.sbatch: $placed " "$work/two-nodes.out"
done
echo "PASS: a 2-node run completed under Slurm with the documented placement"

# Heterogeneous: component 0 (controller, learner, and the verifiers when there is no third
# component) on one node, component 1 (rollout actors) on the other.
run_job hetjob --nodes=1 : --nodes=1
learner_node=$(sed -n 's/^caravan.sbatch: learner-0 on \([a-z0-9]*\) .*/\1/p' "$work/hetjob.out")
rollout_node=$(sed -n 's/^caravan.sbatch: rollout-0 on \([a-z0-9]*\) .*/\1/p' "$work/hetjob.out")
[ -n "$learner_node" ] && [ -n "$rollout_node" ] && [ "$learner_node" != "$rollout_node" ] ||
  { echo "FAIL: het job: learner on '$learner_node', rollout actors on '$rollout_node'"; exit 1; }
check grep -q "caravan.sbatch: rollout-1 on $rollout_node " "$work/hetjob.out"
check grep -q "caravan.sbatch: verifier-1 on $learner_node " "$work/hetjob.out"
echo "PASS: a heterogeneous job placed the learner and the rollout actors on their components"

# SIGTERM: a run of many steps is told to stop once it has trained two; the controller writes a
# checkpoint of the last step within [supervision] sigterm_grace_s and the job ends.
python3 - "$source_dir/tests/integration/short_run.toml" "$work/long.toml" <<'PY'
import sys
text = open(sys.argv[1]).read().replace("[grpo]\nsteps = 4\n", "[grpo]\nsteps = 400\n")
assert "steps = 400" in text
open(sys.argv[2], "w").write(text + "\n[supervision]\nsigterm_grace_s = 30\n")
PY
long_dir=$work/long
job=$(sbatch --parsable --nodes=2 --time=10 --output="$work/long.out" \
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

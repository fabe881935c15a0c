#!/usr/bin/env bash
# A single-node Slurm for tests, without systemd: installs slurm-wlm and munge from apt if
# missing, starts munged (as the munge user), slurmctld and slurmd with state, spool, logs and
# config in a fresh temp dir, one fake GPU (a character device, `mknod c 1 3`) in gres.conf.
#
#   eval "$(.ci/slurm_up.sh)"          # prints export lines: SLURM_CONF, DSE_SLURM_UP=<dir>
#   .ci/slurm_up.sh --down "$DSE_SLURM_UP"   # stops the daemons it started, by pid
#
# Measured here: munged must run as the munge user with /run/munge created by hand;
# proctrack/linuxproc and task/none (no cgroups); no accounting; SlurmctldHost = `hostname -s`.
set -uo pipefail

if [ "${1:-}" = "--down" ]; then
  d=${2:?usage: slurm_up.sh --down DIR}
  for p in slurmd slurmctld munged; do
    [ -f "$d/$p.pid" ] || continue
    pid=$(cat "$d/$p.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$d"
  exit 0
fi

say() { echo "slurm_up: $*" >&2; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm munge from apt"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge) \
    >/dev/null 2>&1 || { say "apt-get install slurm-wlm munge failed"; exit 1; }
fi

d=$(mktemp -d /tmp/slurm-up.XXXXXX)
chmod 755 "$d"
mkdir -p "$d/state" "$d/spool"
host=$(hostname -s)

# munge: reuse a running munged, else start one as the munge user
if ! (munge -n | unmunge) >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; } >/dev/null 2>&1
  mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid || { say "munged failed to start"; exit 1; }
  for _ in $(seq 1 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  cp /run/munge/munged.pid "$d/munged.pid"
  (munge -n | unmunge) >/dev/null 2>&1 || { say "munge does not work"; exit 1; }
fi

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
node=$(slurmd -C | head -1)
mknod "$d/gpu0" c 1 3
cat >"$d/slurm.conf" <<CONF
ClusterName=dsetest
SlurmctldHost=$host
SlurmctldPort=$(freeport)
SlurmdPort=$(freeport)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
ReturnToService=2
MpiDefault=none
MinJobAge=600
$node Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
sed -i 's/ UpTime=[^ ]*//' "$d/slurm.conf"
echo "NodeName=$host Name=gpu File=$d/gpu0" >"$d/gres.conf"
export SLURM_CONF="$d/slurm.conf"
slurmctld || { say "slurmctld failed: $(tail -3 "$d/slurmctld.log" 2>/dev/null)"; exit 1; }
slurmd || { say "slurmd failed: $(tail -3 "$d/slurmd.log" 2>/dev/null)"; exit 1; }
for _ in $(seq 1 100); do
  sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed)' && break
  sleep 0.2
done
if ! sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed)'; then
  say "the node did not come up: $(sinfo 2>&1 | tail -2)"
  "$0" --down "$d"
  exit 1
fi
say "up in $d ($(sinfo -h -o '%N %T %G'))"
echo "export SLURM_CONF=$d/slurm.conf DSE_SLURM_UP=$d"

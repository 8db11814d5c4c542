#!/usr/bin/env bash
# Records precision scenarios against two NFS-Ganesha 4.3 instances that this
# script starts itself on host loopback addresses, for what the built-in lab
# cannot give: both instances started with the same server epoch (`-E`, so
# that they hand out equal client ID and session ID values), or a server on a
# port other than 2049.
#
#   bash captures/precision/scenarios/record-external.sh PORT OUTDIR SUITE [FILTER]
#
# Servers: a on 127.77.0.2:PORT (owner trunkcheck-ext-a), b on
# 127.77.0.4:PORT (owner trunkcheck-ext-b), both scope trunkcheck-ext-scope,
# lease 5 s, grace 10 s (no client records: they leave grace at once), FSAL
# VFS, fs recovery backend in a temp dir, one epoch for both. Their
# `restart` and `crash` hooks (ext-hook.sh) start them again with that same
# epoch, so a new incarnation reissues the old one's client IDs (with
# EPOCH_ON_RESTART=new: a later epoch, as an ordinary restart). Then
# `trunkcheck run --target T SUITE [FILTER] --keep-captures OUTDIR
# --capture-all --test-threads 1` (one scenario at a time, so each sees
# the same counters at both servers) and both servers are stopped (SIGTERM to their PIDs, SIGKILL
# after 10 s); the temp dir is removed. With TCPDUMP_OUT=FILE set, tcpdump
# also records both servers' traffic on lo into FILE (a 64 MiB buffer, no
# loss). As root; build first with
# `cargo build --release -p trunkcheck --features live`.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,18p "$0"; exit 2; }
port=$1 out=$2 suite=$3 filter=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=$root/target/release/trunkcheck
tmp=$(mktemp -d /tmp/trunkcheck-ext.XXXXXX)
pids=()
cleanup() {
    # The servers started here, and those the restart hook started again.
    if [ -f "$tmp/pids" ]; then mapfile -t -O "${#pids[@]}" pids <"$tmp/pids"; fi
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
epoch=$(date +%s)
echo "${EPOCH_ON_RESTART:-same}" >"$tmp/epoch-on-restart"
for s in a:2:1 b:4:2; do
    IFS=: read -r name last node <<<"$s"
    addr=127.77.0.$last
    if (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null; then
        echo "something already listens on $addr:$port" >&2; exit 1
    fi
    mkdir -p "$tmp/$name/data" "$tmp/recovery"
    cat >"$tmp/$name/ganesha.conf" <<CONF
NFS_CORE_PARAM {
    Protocols = 4;
    Bind_Addr = ::ffff:$addr;
    NFS_Port = $port;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    Plugins_Dir = /usr/lib/x86_64-linux-gnu/ganesha;
}
NFSv4 {
    Minor_Versions = 0, 1, 2;
    Lease_Lifetime = 5;
    Grace_Period = 10;
    RecoveryBackend = fs;
    RecoveryRoot = $tmp/recovery;
    Server_Owner = "trunkcheck-ext-$name";
    Server_Scope = "trunkcheck-ext-scope";
}
EXPORT {
    Export_Id = 1;
    Path = $tmp/$name/data;
    Pseudo = /export;
    Protocols = 4;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
CONF
    printf '%s\n' ganesha.nfsd -F -f "$tmp/$name/ganesha.conf" -L "$tmp/$name/ganesha.log" \
        -p "$tmp/$name/ganesha.pid" -N NIV_EVENT -I "$node" -E "$epoch" >"$tmp/$name/cmd"
    mapfile -t argv <"$tmp/$name/cmd"
    "${argv[@]}" >"$tmp/$name/stdout.log" 2>&1 &
    pids+=($!)
done
for addr in 127.77.0.2 127.77.0.4; do
    for i in $(seq 300); do
        (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null && break
        [ "$i" -lt 300 ] || { echo "$addr:$port not ready" >&2; tail "$tmp"/*/ganesha.log >&2; exit 1; }
        sleep 0.1
    done
done
cat >"$tmp/target.yaml" <<T
name: precision-ext
description: two Ganesha instances of one scope started with one server epoch
ready_timeout: 30
client_addresses: [127.77.0.101, 127.77.0.102]
same_scope: [[a, b]]
servers:
  - name: a
    addresses: ["127.77.0.2:$port"]
    export: /export
    hooks:
      restart: [bash, $here/ext-hook.sh, restart, $tmp, a]
      crash: [bash, $here/ext-hook.sh, crash, $tmp, a]
  - name: b
    addresses: ["127.77.0.4:$port"]
    export: /export
    hooks:
      restart: [bash, $here/ext-hook.sh, restart, $tmp, b]
      crash: [bash, $here/ext-hook.sh, crash, $tmp, b]
T
mkdir -p "$out"
if [ -n "${TCPDUMP_OUT:-}" ]; then
    # The harness's own live capture can lose a burst of 64 KiB loopback
    # segments (a 1 MiB WRITE); tcpdump with a large buffer does not.
    tcpdump -i lo -Z root --immediate-mode -U -B 65536 -s 0 -w "$TCPDUMP_OUT" \
        "host 127.77.0.2 or host 127.77.0.4" 2>"$tmp/tcpdump.log" &
    tcpdump_pid=$!
    pids+=("$tcpdump_pid")
    for _ in $(seq 100); do grep -q listening "$tmp/tcpdump.log" && break; sleep 0.05; done
fi
set +e
"$bin" run --target "$tmp/target.yaml" "$suite" ${filter:+"$filter"} --keep-captures "$out" --capture-all --test-threads 1
status=$?
set -e
if [ -n "${tcpdump_pid:-}" ]; then
    sleep 0.5
    kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
    cat "$tmp/tcpdump.log" >&2
fi
echo "servers' epoch: $epoch ($(printf '0x%x' "$epoch"))"
exit "$status"

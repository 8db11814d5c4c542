#!/usr/bin/env bash
# Records captures/ganesha-two-servers-one-claim.pcap: two independent
# NFS-Ganesha instances (127.0.0.2 and 127.0.0.3, separate state) that are
# misconfigured to declare the same Server_Owner and Server_Scope, and one
# client (captures/tools/two_servers_probe.py) that presents one owner and
# verifier to both. Expected verdict: trunk.same-clientid (the "one server"
# hands out two client IDs to the same client).
#
#   sudo bash captures/record-two-servers.sh
#
# Needs: nfs-ganesha, nfs-ganesha-vfs, tcpdump, python3. Everything lives in
# a mktemp directory removed on exit; the processes started here are
# stopped by the EXIT trap. Traffic only on 127.0.0.x.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-$HERE/ganesha-two-servers-one-claim.pcap}"
PLUGINS_DIR="${PLUGINS_DIR:-/usr/lib/x86_64-linux-gnu/ganesha}"
A=127.0.0.2
B=127.0.0.3
PORT=2049

die() { echo "record-two-servers.sh: error: $*" >&2; exit 1; }
log() { echo "record-two-servers.sh: $*" >&2; }
[[ $(id -u) -eq 0 ]] || die "must run as root (FSAL VFS and tcpdump need it)"
for tool in ganesha.nfsd tcpdump python3; do
    command -v "$tool" >/dev/null || die "missing $tool"
done
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$PORT" 2>/dev/null; }
for ip in $A $B; do
    ! port_open $ip || die "$ip:$PORT already accepts connections"
done

WORK="$(mktemp -d /tmp/trunkcheck-two-servers.XXXXXX)"
PIDS=()
stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
cleanup() {
    local rc=$?
    stop_all
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_instance() {   # start_instance NAME ADDR NODEID
    local name=$1 addr=$2 node=$3 dir="$WORK/$1"
    mkdir -p "$dir/data" "$dir/recovery"
    cat > "$dir/ganesha.conf" <<CONF
NFS_CORE_PARAM {
    Protocols = 4;
    Bind_Addr = ::ffff:$addr;
    NFS_Port = $PORT;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    Plugins_Dir = $PLUGINS_DIR;
}
NFSv4 {
    Minor_Versions = 1, 2;
    Lease_Lifetime = 5;
    Grace_Period = 5;
    RecoveryBackend = fs;
    RecoveryRoot = $dir/recovery;
    # Deliberately the same on both instances, which share no state.
    Server_Owner = "trunkcheck-claims-one-server";
    Server_Scope = "trunkcheck-claimed-scope";
}
EXPORT {
    Export_Id = 1;
    Path = $dir/data;
    Pseudo = /export;
    Protocols = 4;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
CONF
    ganesha.nfsd -F -f "$dir/ganesha.conf" -L "$dir/ganesha.log" -p "$dir/ganesha.pid" \
        -N NIV_EVENT -I "$node" &
    PIDS+=($!)
    local deadline=$((SECONDS + 30))
    until port_open "$addr"; do
        ((SECONDS < deadline)) || { tail -20 "$dir/ganesha.log" >&2; die "$name not listening on $addr"; }
        sleep 0.2
    done
    log "$name listening on $addr:$PORT"
}

start_instance a $A 1
# Ganesha's client IDs start with its start time in seconds: start the second
# instance in a later second so that the two really issue different IDs.
sleep 1.2
start_instance b $B 2

tcpdump -i lo --immediate-mode -U -n -s 0 -w "$WORK/cap.pcap" \
    "(host $A or host $B) and tcp port $PORT" 2> "$WORK/tcpdump.err" &
TCPDUMP=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done
python3 "$HERE/tools/two_servers_probe.py" --server-a $A --server-b $B
sleep 1
kill -TERM "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true
grep -q "^0 packets dropped by kernel" "$WORK/tcpdump.err" || { cat "$WORK/tcpdump.err" >&2; die "tcpdump lost packets"; }
install -m 0644 "$WORK/cap.pcap" "$OUT"
log "wrote $OUT ($(stat -c %s "$OUT") bytes)"

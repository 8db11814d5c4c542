#!/usr/bin/env bash
# Record trunkcheck's own NFSv4 captures against a local NFS-Ganesha.
#
#   sudo bash captures/record.sh            # writes captures/ganesha-*.pcap
#
# Needs (Debian 12): nfs-ganesha nfs-ganesha-vfs tcpdump libnfs-utils python3,
# and tshark for the decode check at the end.  Runs as root (FSAL VFS needs
# open_by_handle_at, tcpdump needs a raw socket).
#
# Everything lives in a mktemp directory that is removed on exit; the
# Ganesha and tcpdump processes started here are stopped by the EXIT trap.
# All traffic goes to 127.0.0.2 only (clients bind 127.0.0.1 and 127.0.0.5).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT_DIR="${OUT_DIR:-$HERE}"
SERVER=127.0.0.2
PORT=2049
READY_TIMEOUT="${READY_TIMEOUT:-30}"       # seconds to wait for Ganesha's port
BIG_BYTES="${BIG_BYTES:-1572864}"          # ~1.5 MB read back with nfs-cp
# libnfs 4.0's NFSv4 client cannot encode a WRITE of 4000 bytes or more
# ("ZDR error: Failed to encode COMPOUND4args"), so the upload is 3 KiB and
# the 1.5 MB file is placed in the export beforehand and copied *from* it.
UP_BYTES="${UP_BYTES:-3072}"
MAX_PCAP_BYTES=$((5 * 1024 * 1024))
PLUGINS_DIR="${PLUGINS_DIR:-/usr/lib/x86_64-linux-gnu/ganesha}"

die() { echo "record.sh: error: $*" >&2; exit 1; }
log() { echo "record.sh: $*" >&2; }

[[ $(id -u) -eq 0 ]] || die "must run as root (FSAL VFS and tcpdump need it)"
for tool in ganesha.nfsd tcpdump nfs-ls nfs-cat nfs-cp python3; do
    command -v "$tool" >/dev/null || die "missing $tool (apt-get install nfs-ganesha nfs-ganesha-vfs tcpdump libnfs-utils)"
done
[[ -e $PLUGINS_DIR/libfsalvfs.so ]] || die "missing $PLUGINS_DIR/libfsalvfs.so (apt-get install nfs-ganesha-vfs)"

port_open() {
    # Succeeds when $SERVER:$PORT accepts a TCP connection.
    timeout 2 bash -c "exec 3<>/dev/tcp/$SERVER/$PORT" 2>/dev/null
}
if port_open; then
    die "$SERVER:$PORT already accepts connections: another server is running there"
fi

WORK="$(mktemp -d /tmp/trunkcheck-record.XXXXXX)"
GANESHA_PID=""
TCPDUMP_PID=""

stop_pid() {   # stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL
    local pid=$1 name=$2 i
    [[ -n $pid ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name ($pid) ignored SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    stop_pid "$TCPDUMP_PID" tcpdump
    TCPDUMP_PID=""
    stop_pid "$GANESHA_PID" ganesha.nfsd
    GANESHA_PID=""
    if [[ $rc -ne 0 && -f $WORK/ganesha.log ]]; then
        log "last lines of the Ganesha log:"
        tail -n 20 "$WORK/ganesha.log" >&2 || true
    fi
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DATA="$WORK/data"
mkdir -p "$DATA" "$WORK/recovery" "$WORK/client"

# --- export contents --------------------------------------------------------
printf 'hello from trunkcheck\n' > "$DATA/hello.txt"
# A sparse file for SEEK / READ_PLUS: 4 KiB data, a 60 KiB hole, 4 KiB data.
python3 - "$DATA/sparse.bin" <<'EOF'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"D" * 4096)
    f.seek(65536)
    f.write(b"E" * 4096)
EOF
# Deterministic pseudo-random content for the transfers.
make_file() {   # make_file PATH BYTES SEED
    python3 - "$1" "$2" "$3" <<'EOF'
import hashlib, sys
n = int(sys.argv[2]); out = bytearray(); i = 0
while len(out) < n:
    out += hashlib.sha256(b"%s-%d" % (sys.argv[3].encode(), i)).digest(); i += 1
open(sys.argv[1], "wb").write(out[:n])
EOF
}
make_file "$DATA/big.bin" "$BIG_BYTES" trunkcheck-big
make_file "$WORK/client/upload.bin" "$UP_BYTES" trunkcheck-up

# --- Ganesha config ---------------------------------------------------------
cat > "$WORK/ganesha.conf" <<EOF
NFS_CORE_PARAM {
    Protocols = 4;
    Bind_Addr = ::ffff:$SERVER;
    NFS_Port = $PORT;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    Plugins_Dir = $PLUGINS_DIR;
}
NFSv4 {
    Minor_Versions = 0, 1, 2;
    Lease_Lifetime = 5;
    Grace_Period = 5;
    RecoveryBackend = fs;
    RecoveryRoot = $WORK/recovery;
    Server_Owner = "trunkcheck-ganesha-a";
    Server_Scope = "trunkcheck-scope";
}
EXPORT {
    Export_Id = 1;
    Path = $DATA;
    Pseudo = /export;
    Protocols = 4;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
EOF

# --- start Ganesha and wait for its port ------------------------------------
log "starting ganesha.nfsd on $SERVER:$PORT (work dir $WORK)"
ganesha.nfsd -F -f "$WORK/ganesha.conf" -L "$WORK/ganesha.log" \
    -p "$WORK/ganesha.pid" -N NIV_EVENT &
GANESHA_PID=$!
deadline=$((SECONDS + READY_TIMEOUT))
until port_open; do
    kill -0 "$GANESHA_PID" 2>/dev/null || die "ganesha.nfsd exited before listening (see log above)"
    ((SECONDS < deadline)) || die "ganesha.nfsd not accepting connections on $SERVER:$PORT after ${READY_TIMEOUT}s"
    sleep 0.2
done
log "ganesha.nfsd ($GANESHA_PID) is accepting connections"

# --- capture helpers ----------------------------------------------------------
start_capture() {   # start_capture FILE
    local file=$1 i
    # --immediate-mode: without it packets wait in the TPACKET_V3 ring and the
    # tail of the conversation is lost when tcpdump is stopped.  -B 65536:
    # a 64 MiB kernel buffer, or 64 KiB loopback segments of the 1 MB READ
    # reply are dropped ("dropped by kernel").
    tcpdump -i lo --immediate-mode -U -B 65536 -n -s 0 -w "$file" "host $SERVER and tcp port $PORT" \
        2> "$WORK/tcpdump.err" &
    TCPDUMP_PID=$!
    for i in $(seq 1 100); do
        grep -q "listening on" "$WORK/tcpdump.err" && return 0
        kill -0 "$TCPDUMP_PID" 2>/dev/null || { cat "$WORK/tcpdump.err" >&2; die "tcpdump failed to start"; }
        sleep 0.1
    done
    die "tcpdump did not start listening within 10 s"
}

stop_capture() {    # stop_capture FILE DEST
    local file=$1 dest=$2 size
    sleep 1            # let the last FIN/ACK segments reach the capture
    stop_pid "$TCPDUMP_PID" tcpdump
    TCPDUMP_PID=""
    local dropped
    dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel$/\1/p' "$WORK/tcpdump.err")
    [[ ${dropped:-x} == 0 ]] || { cat "$WORK/tcpdump.err" >&2; die "tcpdump lost packets (dropped by kernel: ${dropped:-unknown})"; }
    size=$(stat -c %s "$file")
    ((size <= MAX_PCAP_BYTES)) || die "$file is $size bytes (limit $MAX_PCAP_BYTES)"
    install -m 0644 "$file" "$dest"
    log "wrote $dest ($size bytes)"
}

# Grace: with no recorded clients Ganesha leaves grace at once, but wait for a
# plain NFSv4.0 LOOKUP to work so that libnfs's OPENs are not refused.
deadline=$((SECONDS + 30))
until nfs-ls "nfs://$SERVER/export?version=4" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "nfs-ls against $SERVER never succeeded"
    sleep 1
done
# Wait until the server is out of grace (an OPEN for reading succeeds).
deadline=$((SECONDS + 30))
until nfs-cat "nfs://$SERVER/export/hello.txt?version=4" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "nfs-cat against $SERVER never succeeded (still in grace?)"
    sleep 1
done

# --- (a) NFSv4.0 with libnfs --------------------------------------------------
A_TMP="$WORK/a.pcap"
start_capture "$A_TMP"
URL="nfs://$SERVER/export"
nfs-ls "$URL?version=4"
nfs-cat "$URL/hello.txt?version=4"
nfs-cp "$WORK/client/upload.bin" "$URL/upload.bin?version=4"
nfs-cp "$URL/big.bin?version=4" "$WORK/client/big.back"
cmp "$WORK/client/upload.bin" "$DATA/upload.bin" || die "server copy of upload.bin differs"
cmp "$DATA/big.bin" "$WORK/client/big.back" || die "big.bin read back differs"
stop_capture "$A_TMP" "$OUT_DIR/ganesha-v40-libnfs.pcap"

# --- (b) NFSv4.1/4.2 sessions and trunking with the raw probe ---------------
B_TMP="$WORK/b.pcap"
start_capture "$B_TMP"
probe_rc=0
python3 "$HERE/tools/nfs41_probe.py" --server "$SERVER" --port "$PORT" \
    --src1 127.0.0.1 --src2 127.0.0.5 || probe_rc=$?
stop_capture "$B_TMP" "$OUT_DIR/ganesha-v41-session.pcap"
[[ $probe_rc -eq 0 ]] || die "nfs41_probe.py failed (exit $probe_rc)"

# --- decode check ---------------------------------------------------------------
# libnfs binds a reserved source port chosen at random; when it lands on a port
# with a registered dissector (639 is MSDP) tshark picks that one, so every
# client port is decoded as RPC explicitly.
if command -v tshark >/dev/null; then
    for f in ganesha-v40-libnfs.pcap ganesha-v41-session.pcap; do
        decode=()
        for p in $(tshark -r "$OUT_DIR/$f" -Y "tcp.flags.syn==1 && tcp.flags.ack==0" \
                       -T fields -e tcp.srcport 2>/dev/null | sort -u); do
            decode+=(-d "tcp.port==$p,rpc")
        done
        if tshark -r "$OUT_DIR/$f" "${decode[@]}" -V 2>/dev/null |
                grep -q -i -E "malformed|segment not captured|ACKed unseen"; then
            die "tshark reports malformed or missing packets in $f"
        fi
        log "$f: $(tshark -r "$OUT_DIR/$f" 2>/dev/null | wc -l) frames," \
            "$(tshark -r "$OUT_DIR/$f" "${decode[@]}" -Y nfs 2>/dev/null | wc -l) NFS frames, nothing malformed or lost"
    done
fi
log "done"

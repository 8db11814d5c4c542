#!/usr/bin/env bash
# Makes the derived captures of captures/precision/ from recorded ones (this
# directory's, the project's captures/ and ../shared/captures) with
# analyzer/examples/pcap_edit.rs. Frame numbers are looked up in the sources
# with `trunkcheck decode` and tshark, so this also works after record.sh
# re-recorded the sources. From anywhere, after
#   flock /tmp/trunkcheck-cargo.lock cargo build --release -p trunkcheck
#   flock /tmp/trunkcheck-cargo.lock cargo build --release -p trunkcheck-analyzer --example pcap_edit
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${TRUNKCHECK_SHARED_CAPTURES:-$root/../../shared/captures}
[ -d "$shared" ] || shared=$root/../shared/captures
T=$root/target/release/trunkcheck
E=$root/target/release/examples/pcap_edit
tmp=$(mktemp -d /tmp/trunkcheck-derive.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$here"

# frame FILE REGEX [N]: the frame of the N-th (default first) message whose
# `trunkcheck decode` line matches REGEX.
frame() {
    local f
    f=$("$T" decode "$1" 2>/dev/null | grep -E -- "$2" | sed -n "${3:-1}p" | awk '{print $1}')
    [ -n "$f" ] || { echo "derive.sh: $1: no message matches $2" >&2; exit 1; }
    echo "$f"
}
# syn FILE N: the frame of the N-th SYN (without ACK).
syn() {
    local f
    f=$(tshark -r "$1" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e frame.number 2>/dev/null | sed -n "${2}p")
    [ -n "$f" ] || { echo "derive.sh: $1: no SYN number $2" >&2; exit 1; }
    echo "$f"
}
# port FILE REGEX: the client port of the first call matching REGEX.
cport() {
    "$T" decode "$1" 2>/dev/null | grep -E -- "$2" | grep ' call ' | head -1 | awk '{print $3}' | sed 's/.*://'
}
edit() { "$E" "$@"; }

# Class 4: what the capture cannot prove.
first=$(frame base/base-four-slots.pcap 'call .*seq=1 slot=1 ')
last=$(frame base/base-four-slots.pcap 'reply .*PUTFH,WRITE')
edit base/base-four-slots.pcap gap-slots-first-seen.pcap drop-frames "$first-$last"
first=$(frame base/base-four-slots.pcap 'call .*seq=2 slot=1 ')
last=$(frame base/base-four-slots.pcap 'reply .*seq=2 slot=1 ')
edit base/base-four-slots.pcap gap-slot-jump.pcap drop-frames "$first-$last"
edit base/base-trunked-session.pcap onehost-trunked-first-address.pcap keep-host 127.0.0.2
edit base/base-trunked-session.pcap onehost-trunked-second-address.pcap keep-host 127.0.0.3

# Class 6: direction on a port other than 2049, mid-stream, clients on
# reserved ports.
src=direction-port-12049-v41.pcap
p1=$(cport $src 'EXCHANGE_ID')
p2=$("$T" decode $src 2>/dev/null | grep ' call ' | awk '{print $3}' | sed 's/.*://' | grep -v "^$p1\$" | head -1)
edit $src "$tmp/d1.pcap" from-frame "$(frame $src 'reply .*OPEN')"
edit "$tmp/d1.pcap" "$tmp/d2.pcap" remap-port "$p1" 800
edit "$tmp/d2.pcap" direction-midstream-12049-reserved-v41.pcap remap-port "$p2" 801
edit "$shared/nfstrace__eth-ipv4-tcp-nfsv41.pcap" direction-midstream-12049-linux.pcap remap-port 2049 12049
src=$root/captures/ganesha-v40-libnfs.pcap
edit "$src" "$tmp/l1.pcap" drop-frames "$(syn "$src" 3)-"
edit "$tmp/l1.pcap" "$tmp/l2.pcap" from-frame "$(frame "$tmp/l1.pcap" 'reply .*SETCLIENTID_CONFIRM')"
edit "$tmp/l2.pcap" direction-midstream-12049-libnfs.pcap remap-port 2049 12049

# Class 7 and the REQUIRED-operation check: the server refuses an operation.
edit base/base-reclaim-complete.pcap party-rc-notsupp.pcap rewrite-reply \
    --frame "$(frame base/base-reclaim-complete.pcap 'reply .*RECLAIM_COMPLETE')" \
    --op RECLAIM_COMPLETE --status NFS4ERR_NOTSUPP
edit "$shared/nfstrace__eth-ipv4-tcp-nfsv41.pcap" party-rc-notsupp-linux.pcap rewrite-reply \
    --frame "$(frame "$shared/nfstrace__eth-ipv4-tcp-nfsv41.pcap" 'reply .*RECLAIM_COMPLETE')" \
    --op RECLAIM_COMPLETE --status NFS4ERR_NOTSUPP
edit "$root/captures/ganesha-v41-session.pcap" check-required-notsupp-destroy-clientid.pcap \
    rewrite-reply --frame "$(frame "$root/captures/ganesha-v41-session.pcap" 'reply .*DESTROY_CLIENTID')" \
    --op DESTROY_CLIENTID --status NFS4ERR_NOTSUPP

# BIND_CONN_TO_SESSION over a second connection to the same address refused.
src=base/base-bcts-same-address.pcap
bcts=$(frame $src 'reply .*BIND_CONN_TO_SESSION')
edit $src check-bcts-same-address-notsupp.pcap rewrite-reply --frame "$bcts" \
    --op BIND_CONN_TO_SESSION --status NFS4ERR_NOTSUPP
src=base/base-bcts-same-address-once.pcap
edit $src check-bcts-same-address-refused.pcap rewrite-reply \
    --frame "$(frame $src 'reply .*BIND_CONN_TO_SESSION')" \
    --op BIND_CONN_TO_SESSION --status NFS4ERR_BADSESSION

# Channel limits lowered in the CREATE_SESSION reply, then exceeded.
src=check-too-many-ops-refused.pcap
edit $src check-too-many-ops-executed.pcap set-chan-attrs \
    --frame "$(frame $src 'reply .*CREATE_SESSION')" ca_maxoperations=8
src=base/base-four-slots.pcap
write=$(tshark -r $src -Y 'rpc.msgtyp==0 && nfs.opcode==38' -T fields -e rpc.fraglen 2>/dev/null | head -1)
other=$(tshark -r $src -Y 'rpc.msgtyp==0 && !(nfs.opcode==38)' -T fields -e rpc.fraglen 2>/dev/null | sort -n | tail -1)
[ "$other" -lt "$write" ] || { echo "derive.sh: the WRITE is not the largest request" >&2; exit 1; }
edit $src check-req-too-big-derived.pcap set-chan-attrs \
    --frame "$(frame $src 'reply .*CREATE_SESSION')" ca_maxrequestsize=$(( (write + other) / 2 ))

# Classes 2 and 3 seen from mid-stream (no EXCHANGE_ID / CREATE_SESSION).
src=compound-destroy-clientid-stale.pcap
edit $src compound-destroy-clientid-midstream.pcap from-frame "$(frame $src 'call .*PUTROOTFH,LOOKUP,GETATTR')"
src=exchid-case5-one-connection.pcap
edit $src exchid-case5-midstream.pcap from-frame "$(frame $src 'call .*PUTROOTFH,LOOKUP,GETATTR')"

# --merge: captures split around a restart, and by server address.
mkdir -p merge/incarnation-reissue merge/incarnation-quiet merge/joins-peer
for x in reissue quiet; do
    src=incarnation-$x.pcap
    [ $x = quiet ] && src=incarnation-quiet-restart.pcap
    # The first frame of the second connection that carries NFS calls.
    p2=$("$T" decode $src 2>/dev/null | grep ' call ' | awk '{print $3}' | sed 's/.*://' \
        | awk '!seen[$0]++' | sed -n 2p)
    k=$(tshark -r $src -Y "tcp.port==$p2" -T fields -e frame.number 2>/dev/null | head -1)
    edit $src merge/incarnation-$x/a-before.pcap drop-frames "$k-"
    edit $src merge/incarnation-$x/b-after.pcap from-frame "$k"
done
edit joins-peer-same-values.pcap merge/joins-peer/a-127.77.0.2.pcap keep-host 127.77.0.2
edit joins-peer-same-values.pcap merge/joins-peer/b-127.77.0.4.pcap keep-host 127.77.0.4

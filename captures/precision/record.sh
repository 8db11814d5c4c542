#!/usr/bin/env bash
# Re-records every recorded capture of captures/precision/ (the derived ones
# are made from them by derive.sh). As root, from anywhere, after
#   flock /tmp/trunkcheck-cargo.lock cargo build --release -p trunkcheck --features live
#   flock /tmp/trunkcheck-cargo.lock cargo build --release -p trunkcheck-analyzer --example pcap_edit
# The scenarios are in scenarios/ (recording scenarios, not conformance
# tests). Each is run on its own, against two NFS-Ganesha instances started
# for it by scenarios/record-external.sh, and recorded by tcpdump on lo with
# a large buffer (the harness's own live capture can drop frames when a
# trial sends its requests faster than the capture thread is scheduled on
# a loaded machine). One scenario needs a server with two addresses, which
# only the built-in lab gives: it runs there, its steps paced 50 ms apart,
# and its capture is checked to be complete. The trials' findings make
# `trunkcheck run` exit 1: that is expected here; a missing or incomplete
# capture is an error. Every run gives new client IDs, session IDs,
# verifiers, ports and times: re-run derive.sh and re-check the README
# table afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$root/target/release/trunkcheck
sc=$here/scenarios
tmp=$(mktemp -d /tmp/trunkcheck-precision.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

put() { # put SOURCE NAME
    [ -s "$tmp/$1" ] || { echo "record.sh: $1 was not recorded (see $tmp)" >&2; exit 1; }
    cp "$tmp/$1" "$here/$2.pcap"
    echo "$2.pcap <- $1"
}
# ext FILE ID NAME [PORT [EPOCH_ON_RESTART]]: scenario ID of FILE, recorded.
ext() {
    TCPDUMP_OUT=$tmp/$2.pcap EPOCH_ON_RESTART=${5:-same} \
        bash "$sc/record-external.sh" "${4:-2049}" "$tmp/harness-$2" "$1" "$2" \
        >"$tmp/$2.log" 2>&1 || true
    put "$2.pcap" "$3"
}

ext "$sc/compound.yaml" PREC-COMPOUND-01 compound-destroy-clientid-stale
ext "$sc/compound.yaml" PREC-COMPOUND-02 compound-destroy-session-create-session
ext "$sc/compound.yaml" PREC-COMPOUND-03 compound-destroy-clientid-busy
ext "$sc/exchid.yaml" PREC-EXCH-05A exchid-case5-one-connection
ext "$sc/exchid.yaml" PREC-EXCH-05B exchid-case5-new-connection
ext "$sc/exchid.yaml" PREC-EXCH-04 exchid-case4-replaced
ext "$sc/exchid.yaml" PREC-EXCH-ALL exchid-nine-cases
ext "$sc/exchid.yaml" PREC-CSESS-REPLAY exchid-csess-replay
ext "$sc/limits.yaml" PREC-LIMIT-OPS check-too-many-ops-refused
ext "$sc/protect.yaml" PREC-SP-MACHCRED check-state-protection-auth-sys
python3 "$sc/gen-oversize.py" >"$tmp/oversize.yaml"
ext "$tmp/oversize.yaml" PREC-LIMIT-REQ check-req-too-big
ext "$sc/bases.yaml" PREC-BCTS-SAME base/base-bcts-same-address
ext "$sc/bases.yaml" PREC-BCTS-ONCE base/base-bcts-same-address-once
ext "$sc/bases.yaml" PREC-GAP-BASE base/base-four-slots
ext "$sc/bases.yaml" PREC-RC-BASE base/base-reclaim-complete
ext "$sc/clean.yaml" PREC-CLEAN-SLOTS clean-slot-retries
ext "$sc/clean.yaml" PREC-CLEAN-SESSIONS clean-two-sessions
ext "$sc/clean.yaml" PREC-CLEAN-RECREATE clean-recreate
ext "$sc/clean.yaml" PREC-CLEAN-PROBE clean-trunking-probe
ext "$sc/clean.yaml" PREC-CLEAN-EXCH-IN-SEQ clean-exchid-in-sequence
ext "$sc/clean.yaml" PREC-CLEAN-V40-REBOOT clean-v40-reboot
ext "$sc/joins.yaml" PREC-JOIN-01 joins-peer-same-values
ext "$sc/joins.yaml" PREC-JOIN-02 joins-peer-lease-expired
ext "$sc/restart.yaml" PREC-INC-PROVEN check-reclaim-needed-missing 2049 new
ext "$sc/restart.yaml" PREC-INC-QUIET incarnation-quiet-restart 2049 new
ext "$sc/restart.yaml" PREC-INC-REISSUE-QUIET incarnation-reissue
ext "$sc/restart.yaml" PREC-INC-REISSUE-PROVEN incarnation-reissue-proven
ext "$sc/port.yaml" PREC-PORT-41 direction-port-12049-v41 12049
ext "$sc/port.yaml" PREC-PORT-40 direction-port-12049-v40 12049

# After a trial that restarted a server the harness waits out the grace
# period with a client of its own (owner trunkcheck-settle-...): not part of
# the scenario, its connection is cut off.
cut_settle() {
    local f=$here/$1.pcap port first
    port=$("$bin" decode "$f" 2>/dev/null | grep 'owner="trunkcheck-settle' | head -1 \
        | awk '{print $3}' | sed 's/.*://')
    [ -n "$port" ] || return 0
    first=$(tshark -r "$f" -Y "tcp.port==$port" -T fields -e frame.number 2>/dev/null | head -1)
    "$root/target/release/examples/pcap_edit" "$f" "$tmp/cut.pcap" drop-frames "$first-"
    mv "$tmp/cut.pcap" "$f"
}
for n in check-reclaim-needed-missing incarnation-quiet-restart incarnation-reissue \
    incarnation-reissue-proven; do
    cut_settle "$n"
done

# The session trunked over both addresses of one server: the built-in lab.
# A 50 ms wait before every step after the session exists (the first wait
# reads lease_time once, with one more SEQUENCE on the session).
awk '/id: PREC-TRUNK-BASE/ { on = 1 } /id: PREC-BCTS-SAME$/ { on = 0 }
     on && /^      - / && seen { print "      - wait: {leases: 0.01}" }
     on && /create_session/ { seen = 1 }
     { print }' "$sc/bases.yaml" >"$tmp/paced.yaml"
"$bin" run "$tmp/paced.yaml" PREC-TRUNK-BASE --keep-captures "$tmp/lab" --capture-all \
    >"$tmp/lab.log" 2>&1 || true
calls=$("$bin" decode "$tmp/lab/PREC-TRUNK-BASE.pcap" 2>&1 >/dev/null | grep -o '[0-9]* calls' | head -1)
[ "${calls% calls}" -ge 21 ] || { echo "record.sh: PREC-TRUNK-BASE incomplete ($calls)" >&2; exit 1; }
put lab/PREC-TRUNK-BASE.pcap base/base-trunked-session

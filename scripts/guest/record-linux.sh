#!/usr/bin/env bash
# Record captures of the real Linux NFS client (6.1) against Linux knfsd (6.1) and
# NFS-Ganesha 4.3, each in a QEMU guest or the lab namespace (see lib.sh).
#
#   sudo bash scripts/guest/record-linux.sh [--out DIR] [--cache DIR] [--state DIR] [NAME...]
#
# Writes DIR/NAME.pcap (default DIR: captures/linux) for every scenario below, or
# only the NAMEs given. Every capture is checked: no packet dropped by tcpdump,
# smaller than 3 MB. The guests (server "srv" knfsd-a on 10.99.1.2 and 10.99.2.2,
# client "cli" linux-c1 on 10.99.1.10 and 10.99.2.10, its second identity
# linux-c1-c2 on 10.99.1.11) boot once (lease 10 s, grace 10 s); a scenario leaves
# the client with nothing mounted and the server out of grace.
# Everything is torn down on exit, Ctrl-C or error.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="$REPO/captures/linux"
STATE=""
export GUEST_CACHE="${GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trunkcheck/guest}"
ONLY=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --out) OUT=$2; shift 2 ;;
        --cache) GUEST_CACHE=$2; shift 2 ;;
        --state) STATE=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        -*) echo "record-linux.sh: unknown option $1" >&2; exit 2 ;;
        *) ONLY+=("$1"); shift ;;
    esac
done
ALL=(knfsd-v41-mount-io knfsd-v42-mount-io knfsd-v41-nconnect knfsd-v41-two-addresses
     knfsd-v41-delegation-recall knfsd-v41-restart knfsd-v41-crash knfsd-v41-lease-courtesy
     knfsd-v41-lease-expired knfsd-v41-midstream knfsd-v40-mount-io-callback knfsd-v40-trunking
     knfsd-v40-restart ganesha-v41-mount-io-restart ganesha-v41-two-addresses
     knfsd-v41-referral knfsd-v40-referral)
((${#ONLY[@]})) || ONLY=("${ALL[@]}")
for n in "${ONLY[@]}"; do
    [[ " ${ALL[*]} " == *" $n "* ]] || { echo "record-linux.sh: unknown scenario $n (one of: ${ALL[*]})" >&2; exit 2; }
done

export LAB_NS="tcrec-$$"
export LAB_DIR="${STATE:-$(mktemp -d /tmp/trunkcheck-record-linux.XXXXXX)}"
export GUEST_LEASE=10 GUEST_GRACE=10 GUEST_C2=1
# shellcheck source=lib.sh
source "$HERE/lib.sh"
MAX_BYTES=$((3 * 1000 * 1000))

bash "$HERE/build.sh" --cache "$GUEST_CACHE" >/dev/null
trap 'lab_down' EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"
lab_up
guest_boot srv server knfsd-a
guest_boot cli client linux-c1
SERVER_UP_AT=$SECONDS

# The server leaves grace GUEST_GRACE seconds after (re)start; wait that out.
wait_grace() {
    local left=$((SERVER_UP_AT + GUEST_GRACE + 2 - SECONDS))
    ((left > 0)) && { lab_log "waiting ${left}s for the end of the grace period"; sleep "$left"; }
    return 0
}
server_restarted() { SERVER_UP_AT=$SECONDS; }

# Client clean-up between scenarios (outside any capture): stop the holders of
# open files and locks, unmount everything.
cli_reset() {
    gx cli 'killall flock sleep cat dd 2>/dev/null; sleep 0.5
            for m in /mnt/a /mnt/b /mnt/c; do
                grep -q " $m " /proc/mounts && { umount $m 2>/dev/null || umount -f $m 2>/dev/null || umount -l $m; }
            done; true' >/dev/null
}

check_size() {
    local f=$1 n
    n=$(stat -c %s "$f")
    ((n < MAX_BYTES)) || lab_die "$f is $n bytes (limit $MAX_BYTES)"
}

# Every scenario: rec_NAME, run between cap_start and cap_stop of OUT/NAME.pcap.
MNT41="mount.nfs4 10.99.1.2:/export /mnt/a -o vers=4.1"

rec_knfsd-v41-mount-io() {
    gx cli "$MNT41
        head -c 262144 /dev/urandom > /mnt/a/io41.bin
        sync; echo 3 > /proc/sys/vm/drop_caches
        md5sum /mnt/a/io41.bin >/dev/null; ls -l /mnt/a >/dev/null
        mkdir /mnt/a/d41; mv /mnt/a/io41.bin /mnt/a/d41/; rm -r /mnt/a/d41
        umount /mnt/a"
}

rec_knfsd-v42-mount-io() {
    gx cli "mount.nfs4 10.99.1.2:/export /mnt/a -o vers=4.2
        head -c 262144 /dev/urandom > /mnt/a/io42.bin
        fallocate -l 1048576 /mnt/a/alloc42.bin
        sync; echo 3 > /proc/sys/vm/drop_caches
        md5sum /mnt/a/io42.bin >/dev/null; ls -l /mnt/a >/dev/null
        rm /mnt/a/io42.bin /mnt/a/alloc42.bin
        umount /mnt/a"
}

rec_knfsd-v41-nconnect() {
    gx cli "mount.nfs4 10.99.1.2:/export /mnt/a -o vers=4.1,nconnect=2
        head -c 262144 /dev/urandom > /mnt/a/nc1.bin & head -c 262144 /dev/urandom > /mnt/a/nc2.bin; wait
        sync; echo 3 > /proc/sys/vm/drop_caches
        cat /mnt/a/nc1.bin > /dev/null & cat /mnt/a/nc2.bin > /dev/null; wait
        rm /mnt/a/nc1.bin /mnt/a/nc2.bin
        umount /mnt/a"
}

rec_knfsd-v41-two-addresses() {
    gx cli "mount.nfs4 10.99.1.2:/export /mnt/a -o vers=4.1,max_connect=2
        mount.nfs4 10.99.2.2:/export /mnt/b -o vers=4.1,max_connect=2
        cat /proc/fs/nfsfs/servers >&2
        head -c 262144 /dev/urandom > /mnt/b/two.bin
        sync; echo 3 > /proc/sys/vm/drop_caches
        cat /mnt/a/two.bin > /dev/null; cat /mnt/b/hello.txt > /dev/null
        rm /mnt/a/two.bin
        umount /mnt/b; umount /mnt/a"
}

rec_knfsd-v41-delegation-recall() {
    gx cli "$MNT41
        gt c2 mount.nfs4 10.99.1.2:/export /mnt/c -o vers=4.1
        (sleep 6 < /mnt/a/shared.txt &)
        sleep 1
        echo c2 >> /mnt/c/shared.txt
        sleep 6
        cat /mnt/a/shared.txt > /dev/null
        umount /mnt/a; umount /mnt/c"
}

# open file + lock held by background processes on mount /mnt/a
hold_open_and_lock() {
    gx cli "(flock -x /mnt/a/locked.txt sleep 300 > /tmp/flock.out 2>&1 &)
            (sleep 300 < /mnt/a/hello.txt &)
            sleep 1; grep -c FLOCK /proc/locks"
}

rec_knfsd-v41-restart() {
    gx cli "$MNT41" ; hold_open_and_lock >/dev/null
    local t0ns; t0ns=$(date +%s.%N)
    gx srv 'gt nfsd-restart' >/dev/null
    lab_log "knfsd restart (rpc.nfsd 0 + start) took $(awk -v a="$t0ns" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
    server_restarted
    gx cli 'cat /mnt/a/hello.txt > /dev/null'
    sleep $((GUEST_GRACE + 2))
    gx cli 'grep -c FLOCK /proc/locks; cat /mnt/a/hello.txt > /dev/null; killall flock sleep; sleep 0.5; umount /mnt/a' >/dev/null
}

rec_knfsd-v41-crash() {
    gx cli "$MNT41" ; hold_open_and_lock >/dev/null
    guest_crash srv
    sleep 2
    guest_boot srv server knfsd-a
    server_restarted
    gx cli 'cat /mnt/a/hello.txt > /dev/null'
    sleep $((GUEST_GRACE + 2))
    gx cli 'grep -c FLOCK /proc/locks; cat /mnt/a/hello.txt > /dev/null; killall flock sleep; sleep 0.5; umount /mnt/a' >/dev/null
}

rec_knfsd-v41-lease-courtesy() {
    gx cli "$MNT41" ; hold_open_and_lock >/dev/null
    link_cut cli0
    sleep $((2 * GUEST_LEASE + 5))
    link_restore cli0
    sleep 3
    gx cli 'cat /mnt/a/hello.txt > /dev/null; grep -c FLOCK /proc/locks; killall flock sleep; sleep 0.5; umount /mnt/a' >/dev/null
}

rec_knfsd-v41-lease-expired() {
    gx cli "$MNT41
            gt c2 mount.nfs4 10.99.1.2:/export /mnt/c -o vers=4.1" ; hold_open_and_lock >/dev/null
    link_cut cli0
    sleep $((GUEST_LEASE + 8))
    # the conflicting lock from the second client makes knfsd expire the courtesy client
    gx cli 'gt c2 flock -x -w 25 /mnt/c/locked.txt true && echo c2 got the lock'
    link_restore cli0
    sleep 6
    gx cli 'cat /mnt/a/hello.txt > /dev/null; dmesg | grep "lost.*locks" | tail -1; killall flock sleep; sleep 0.5; umount /mnt/a; umount /mnt/c'
}

rec_knfsd-v40-mount-io-callback() {
    gx cli "mount.nfs4 10.99.1.2:/export /mnt/a -o vers=4.0
        head -c 131072 /dev/urandom > /mnt/a/io40.bin
        sync; echo 3 > /proc/sys/vm/drop_caches
        md5sum /mnt/a/io40.bin > /dev/null
        gt c2 mount.nfs4 10.99.1.2:/export /mnt/c -o vers=4.0
        (sleep 6 < /mnt/a/shared.txt &)
        sleep 1
        echo c2-v40 >> /mnt/c/shared.txt
        sleep 6
        rm /mnt/a/io40.bin
        umount /mnt/a; umount /mnt/c"
}

rec_knfsd-v40-trunking() {
    # "migration" makes the v4.0 client use the uniform client string, so that it
    # runs the RFC 7931 trunking test when the second address gives the same client ID
    gx cli "mount.nfs4 10.99.1.2:/export /mnt/a -o vers=4.0,migration
        mount.nfs4 10.99.2.2:/export /mnt/b -o vers=4.0,migration
        cat /proc/fs/nfsfs/servers >&2
        cat /mnt/b/hello.txt > /dev/null
        umount /mnt/b; umount /mnt/a"
}

rec_knfsd-v40-restart() {
    gx cli "mount.nfs4 10.99.1.2:/export /mnt/a -o vers=4.0" ; hold_open_and_lock >/dev/null
    gx srv 'gt nfsd-restart' >/dev/null
    server_restarted
    gx cli 'cat /mnt/a/hello.txt > /dev/null'
    sleep $((GUEST_GRACE + 2))
    gx cli 'grep -c FLOCK /proc/locks; cat /mnt/a/hello.txt > /dev/null; killall flock sleep; sleep 0.5; umount /mnt/a' >/dev/null
}

rec_ganesha-v41-mount-io-restart() {
    gx cli "mount.nfs4 10.99.1.1:/export /mnt/a -o vers=4.1
        head -c 131072 /dev/urandom > /mnt/a/ganesha.bin
        sync; echo 3 > /proc/sys/vm/drop_caches
        md5sum /mnt/a/ganesha.bin > /dev/null; rm /mnt/a/ganesha.bin"
    hold_open_and_lock >/dev/null
    ganesha_stop
    ganesha_start
    gx cli 'cat /mnt/a/hello.txt > /dev/null'
    sleep $((GUEST_GRACE + 2))
    gx cli 'grep -c FLOCK /proc/locks; cat /mnt/a/hello.txt > /dev/null; killall flock sleep; sleep 0.5; umount /mnt/a' >/dev/null
}

rec_ganesha-v41-two-addresses() {
    gx cli "mount.nfs4 10.99.1.1:/export /mnt/a -o vers=4.1,max_connect=2
        mount.nfs4 10.99.2.1:/export /mnt/b -o vers=4.1,max_connect=2
        cat /proc/fs/nfsfs/servers >&2
        head -c 65536 /dev/urandom > /mnt/b/two.bin
        sync; echo 3 > /proc/sys/vm/drop_caches
        cat /mnt/a/two.bin > /dev/null; rm /mnt/a/two.bin
        umount /mnt/b; umount /mnt/a"
}

# A referral on the knfsd guest, for knfsd-v4?-referral only (made and removed
# outside the capture): /export/ref-g, a tmpfs exported with refer= naming
# the lab's Ganesha at both its addresses (one location listing two
# addresses of one server).
REFER_G="rw,no_root_squash,insecure,no_subtree_check,sync,fsid=101,refer=/export@10.99.1.1+10.99.2.1"
referral_up() {
    gx srv "mkdir -p /export/ref-g && mount -t tmpfs -o size=64k,mode=0755 tmpfs /export/ref-g &&
            exportfs -o $REFER_G '*:/export/ref-g' && exportfs -v >&2" >/dev/null
}
referral_down() {
    gx srv "exportfs -u '*:/export/ref-g'; umount /export/ref-g; rmdir /export/ref-g; true" >/dev/null
}

# The Linux client follows a referral from knfsd to Ganesha: NFS4ERR_MOVED,
# fs_locations, then a second server (EXCHANGE_ID, session) for the submount.
rec_knfsd-v41-referral() {
    gx cli "$MNT41
        ls /mnt/a/ref-g >&2
        cat /mnt/a/ref-g/hello.txt > /dev/null
        cat /proc/fs/nfsfs/servers >&2
        umount /mnt/a/ref-g 2>/dev/null; umount /mnt/a"
}

# The same with NFSv4.0 (no -o migration: the client's id string names the
# server address, RFC 7530 §9.1.1's non-uniform approach), with Ganesha
# mounted first: the client already holds a client ID there, under another
# id string, when knfsd answers NFS4ERR_MOVED at the referral.
rec_knfsd-v40-referral() {
    gx cli "mount.nfs4 10.99.1.1:/export /mnt/b -o vers=4.0
        cat /mnt/b/hello.txt > /dev/null
        mount.nfs4 10.99.1.2:/export /mnt/a -o vers=4.0
        ls /mnt/a/ref-g >&2
        cat /mnt/a/ref-g/hello.txt > /dev/null
        cat /proc/fs/nfsfs/servers >&2
        umount /mnt/a/ref-g 2>/dev/null; umount /mnt/a; umount /mnt/b"
}

record() {
    local name=$1 file="$OUT/$1.pcap" t0=$SECONDS
    lab_log "=== $name"
    case $name in
        ganesha-* | knfsd-v4?-referral) [[ -n $GANESHA_PID ]] || { ganesha_start; sleep $((GUEST_GRACE + 1)); } ;;
    esac
    [[ $name == ganesha-* ]] || wait_grace
    case $name in
        knfsd-v41-midstream)
            # The capture starts while the client is already reading (mount, OPEN and
            # the first READs are not in it) and stops while it still reads.
            gx cli "$MNT41
                    (for i in \$(seq 1 30); do cat /mnt/a/data.bin > /dev/null; echo 3 > /proc/sys/vm/drop_caches; sleep 0.2; done &)
                    sleep 3" >/dev/null
            cap_start "$file"
            sleep 1.5
            cap_stop
            gx cli 'killall cat 2>/dev/null; sleep 1' >/dev/null
            # A late tcpdump start falls anywhere, often inside an RPC record; make
            # that certain: drop the frames before the 4th segment of the first
            # record that spans several segments (a READ reply).
            local size frames first last
            frames=$(capinfos -c -M "$file" | awk '/Number of packets/{print $NF}')
            first=$(tshark -r "$file" -Y 'tcp.len > 0 && !rpc' -T fields -e frame.number 2>/dev/null | head -1)
            last=$frames
            # TCG speed varies: keep the first frames only if it came out too large
            size=$(stat -c %s "$file")
            if ((size > MAX_BYTES * 8 / 10)); then
                last=$((frames * (MAX_BYTES * 7 / 10) / size))
            fi
            editcap -F pcap -r "$file" "$file.cut" "$((first + 3))-$last"
            mv "$file.cut" "$file"
            lab_log "kept frames $((first + 3))-$last of $frames: $(stat -c %s "$file") bytes"
            ;;
        knfsd-v41-two-addresses)
            cap_start "$file"
            CAP_KEEP_BR0="$OUT/knfsd-v41-one-address.pcap"
            "rec_$name"
            cap_stop
            CAP_KEEP_BR0=""
            check_size "$OUT/knfsd-v41-one-address.pcap"
            ;;
        knfsd-v4?-referral)
            referral_up
            cap_start "$file"
            "rec_$name"
            cap_stop
            referral_down
            ;;
        *)
            cap_start "$file"
            "rec_$name"
            cap_stop
            ;;
    esac
    check_size "$file"
    cli_reset
    lab_log "=== $name done in $((SECONDS - t0)) s"
}

for n in "${ONLY[@]}"; do
    record "$n"
done
lab_log "all done: $OUT"

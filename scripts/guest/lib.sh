# shellcheck shell=bash
# Shared functions for the QEMU guest lab (sourced by boot.sh and record-linux.sh).
#
# The lab is one network namespace made here (never the host's network):
#   br0 10.99.1.1/24 and br1 10.99.2.1/24 (bridges; the namespace's own addresses
#   are where a Ganesha started with ganesha_start listens)
#   guest "srv" (role server, knfsd): eth0 10.99.1.2 on br0, eth1 10.99.2.2 on br1
#   guest "cli" (role client):        eth0 10.99.1.10 on br0, eth1 10.99.2.10 on br1,
#                                     eth2 10.99.1.11 on br0 inside the guest's second
#                                     client identity (net+uts namespace, host name NAME-c2)
# Each NIC is a tap device in the namespace (tap name = guest name + NIC index)
# attached to its bridge. Captures: tcpdump on br0 and br1, merged (mergecap).
#
# Callers set LAB_NS, LAB_DIR, GUEST_CACHE, then call lab_up, and must call
# lab_down on exit (trap); lab_down kills only the processes started here
# (by their recorded PIDs, then anything left in the lab's own namespace) and
# deletes the namespace. QEMU, tcpdump and Ganesha also get SIGKILL when the
# script that started them dies (setpriv --pdeathsig), even by SIGKILL; only the
# empty namespace is then left behind (ip netns del tcguest-PID).

HERE_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${LAB_NS:=tcguest-$$}"
: "${LAB_DIR:?LAB_DIR must be set}"
: "${GUEST_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/trunkcheck/guest}"
: "${GUEST_MEM:=512}"
: "${GUEST_SMP:=1}"
: "${GUEST_LEASE:=10}"
: "${GUEST_GRACE:=10}"
LAB_PIDS=()          # QEMU, tcpdump, Ganesha started here
CAP_PIDS=()
CAP_FILE=""
LAB_UP=0
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

lab_log() { echo "[$(date +%T)] $*" >&2; }
lab_die() { echo "lab: error: $*" >&2; exit 1; }
nsx() { ip netns exec "$LAB_NS" "$@"; }

lab_up() {
    [[ $(id -u) -eq 0 ]] || lab_die "must run as root (network namespace, tap devices)"
    for t in qemu-system-x86_64 tcpdump mergecap ip; do
        command -v "$t" >/dev/null || lab_die "missing $t"
    done
    [[ -f $GUEST_CACHE/initramfs.img ]] || lab_die "no initramfs in $GUEST_CACHE (run scripts/guest/build.sh)"
    ip netns list | grep -qw "^$LAB_NS" && lab_die "namespace $LAB_NS already exists"
    mkdir -p "$LAB_DIR"
    ip netns add "$LAB_NS"
    LAB_UP=1
    nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || true
    ip -n "$LAB_NS" link set lo up
    local i
    for i in 0 1; do
        ip -n "$LAB_NS" link add "br$i" type bridge forward_delay 0 stp_state 0
        ip -n "$LAB_NS" addr add "10.99.$((i + 1)).1/24" dev "br$i"
        ip -n "$LAB_NS" link set "br$i" up
    done
    lab_log "namespace $LAB_NS up (br0 10.99.1.1/24, br1 10.99.2.1/24), state in $LAB_DIR"
}

lab_kill_pid() {   # lab_kill_pid PID [SIGNAL]: signal, wait up to 10 s, then SIGKILL
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

lab_down() {
    local pid
    # a capture still running: its partial files go
    if ((${#CAP_PIDS[@]})) && [[ -n $CAP_FILE ]]; then
        for pid in "${CAP_PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
        rm -f "$CAP_FILE.br0" "$CAP_FILE.br1" "$CAP_FILE.br0.log" "$CAP_FILE.br1.log"
    fi
    for pid in "${LAB_PIDS[@]}"; do
        lab_kill_pid "$pid" TERM
    done
    LAB_PIDS=()
    if ((LAB_UP)); then
        # Anything still running in the lab's own namespace was started by this lab.
        for pid in $(ip netns pids "$LAB_NS" 2>/dev/null); do
            lab_log "killing leftover process $pid in $LAB_NS: $(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null | cut -c1-60)"
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "$LAB_NS" 2>/dev/null || true
        LAB_UP=0
        lab_log "namespace $LAB_NS deleted"
    fi
}

# --- guests ------------------------------------------------------------------

# guest_nics NAME: the NIC specs "tap:bridge:guestdev:addr/len" of a guest of the standard lab
guest_nics() {
    case $1 in
        srv) echo "srv0:br0:eth0:10.99.1.2/24 srv1:br1:eth1:10.99.2.2/24" ;;
        cli) echo "cli0:br0:eth0:10.99.1.10/24 cli1:br1:eth1:10.99.2.10/24" ;;
        *) lab_die "unknown guest $1 (srv or cli)" ;;
    esac
}

# guest_mac ADDR: 52:54:00:99:<third octet>:<fourth octet>
guest_mac() { echo "$1" | awk -F. '{printf "52:54:00:99:%02x:%02x", $3, $4}'; }

# guest_disk NAME: a 64 MB ext4 image with the export's initial files (kept across reboots)
guest_disk() {
    local d=$LAB_DIR/$1 src
    [[ -f $d/disk.img ]] && return 0
    src=$d/disk-src
    mkdir -p "$src/export" "$src/nfs/v4recovery"
    printf 'hello from a Linux knfsd guest\n' > "$src/export/hello.txt"
    head -c 262144 /dev/urandom > "$src/export/data.bin"
    mkdir -p "$src/export/dir"
    printf 'shared\n' > "$src/export/shared.txt"
    truncate -s 64M "$d/disk.img"
    mkfs.ext4 -q -F -E root_owner=0:0 -d "$src" "$d/disk.img"
    rm -rf "$src"
}

# guest_boot NAME ROLE HOSTNAME [NICS] : start QEMU in the namespace, wait for the
# command channel (the guest's init has finished: for a server, knfsd started) and,
# for a server, for an NFS NULL reply on its first address. Prints timings.
# GUEST_C2=1 gives a client the second identity on a third NIC (cli2, 10.99.1.11).
guest_boot() {
    local name=$1 role=$2 host=$3 nics=${4:-} d=$LAB_DIR/$1 n=0 spec tap br dev addr
    local netargs=() tcnet="" first_addr="" qemu_pid
    [[ -n $nics ]] || nics=$(guest_nics "$name")
    mkdir -p "$d"
    for spec in $nics; do
        IFS=: read -r tap br dev addr <<<"$spec"
        if ! ip -n "$LAB_NS" link show "$tap" >/dev/null 2>&1; then
            ip -n "$LAB_NS" tuntap add dev "$tap" mode tap
            ip -n "$LAB_NS" link set "$tap" master "$br"
        fi
        ip -n "$LAB_NS" link set "$tap" up
        netargs+=(-netdev "tap,id=n$n,ifname=$tap,script=no,downscript=no,vnet_hdr=off"
                  -device "virtio-net-pci,netdev=n$n,mac=$(guest_mac "${addr%/*}")")
        tcnet="${tcnet:+$tcnet,}$dev:$addr"
        [[ -n $first_addr ]] || first_addr=${addr%/*}
        n=$((n + 1))
    done
    local c2=""
    if [[ $role == client && ${GUEST_C2:-1} == 1 ]]; then
        tap=${name}2
        if ! ip -n "$LAB_NS" link show "$tap" >/dev/null 2>&1; then
            ip -n "$LAB_NS" tuntap add dev "$tap" mode tap
            ip -n "$LAB_NS" link set "$tap" master br0
        fi
        ip -n "$LAB_NS" link set "$tap" up
        netargs+=(-netdev "tap,id=n$n,ifname=$tap,script=no,downscript=no,vnet_hdr=off"
                  -device "virtio-net-pci,netdev=n$n,mac=$(guest_mac 10.99.1.11)")
        c2=" tc.c2=eth$n:10.99.1.11/24:${host}-c2"
    fi
    local diskargs=()
    if [[ $role == server ]]; then
        guest_disk "$name"
        diskargs=(-drive "file=$d/disk.img,if=virtio,format=raw,cache=unsafe")
    fi
    local boot_no=1
    while [[ -e $d/console.$boot_no.log ]]; do boot_no=$((boot_no + 1)); done
    rm -f "$d/cmd.sock" "$d/mon.sock"
    local t0=$SECONDS t0ns
    t0ns=$(date +%s.%N)
    # ip execs QEMU: $! is QEMU's own PID (a backgrounded shell function would not be)
    ip netns exec "$LAB_NS" setpriv --pdeathsig KILL qemu-system-x86_64 -name "$name" -accel tcg -cpu max -smp "$GUEST_SMP" -m "$GUEST_MEM" \
        -nodefaults -no-user-config -display none -no-reboot \
        -kernel "$GUEST_CACHE/vmlinuz" -initrd "$GUEST_CACHE/initramfs.img" \
        -append "console=ttyS0 quiet panic=-1 tc.role=$role tc.host=$host tc.net=$tcnet tc.lease=$GUEST_LEASE tc.grace=$GUEST_GRACE tc.threads=8$c2" \
        -serial "file:$d/console.$boot_no.log" \
        -serial "unix:$d/cmd.sock,server=on,wait=off" \
        -monitor "unix:$d/mon.sock,server=on,wait=off" \
        "${netargs[@]}" "${diskargs[@]}" \
        </dev/null >"$d/qemu.$boot_no.err" 2>&1 &
    qemu_pid=$!
    LAB_PIDS+=("$qemu_pid")
    echo "$qemu_pid" > "$d/qemu.pid"
    echo "$host" > "$d/hostname"
    echo "$role" > "$d/role"
    local i
    for i in $(seq 1 50); do [[ -S $d/cmd.sock ]] && break; sleep 0.1; done
    kill -0 "$qemu_pid" 2>/dev/null || { cat "$d/qemu.$boot_no.err" >&2; lab_die "QEMU for $name exited"; }
    if ! $PY "$HERE_LIB/gx.py" wait "$d/cmd.sock" --timeout 120 >/dev/null; then
        tail -n 20 "$d/console.$boot_no.log" >&2
        lab_die "guest $name did not come up in 120 s"
    fi
    local t_chan=$(( SECONDS - t0 )) t_nfs=""
    if [[ $role == server ]]; then
        nsx "$PY" "$HERE_LIB/gx.py" nfsnull "$first_addr" --timeout 60 >/dev/null || lab_die "no NFS NULL reply from $name"
    fi
    local t1ns
    t1ns=$(date +%s.%N)
    t_nfs=$(awk -v a="$t0ns" -v b="$t1ns" 'BEGIN{printf "%.1f", b-a}')
    echo "$t_nfs" >> "$d/boot-times"
    lab_log "guest $name ($role, $host) boot $boot_no up in ${t_nfs} s${role:+ (}$([[ $role == server ]] && echo "first NFS NULL reply at $first_addr" || echo "command channel answers"))"
}

# gx NAME SCRIPT...: run a shell script in the guest; output on stdout; its exit status
gx() {
    local name=$1; shift
    $PY "$HERE_LIB/gx.py" run "$LAB_DIR/$name/cmd.sock" --timeout "${GX_TIMEOUT:-120}" "$@"
}

# guest_crash NAME: SIGKILL the guest's QEMU (a power cut: no FIN, no RST)
guest_crash() {
    local pid
    pid=$(cat "$LAB_DIR/$1/qemu.pid")
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    lab_log "guest $1 killed (QEMU $pid)"
}

# guest_poweroff NAME: clean shutdown of the guest (poweroff -f), QEMU exits
guest_poweroff() {
    local pid
    pid=$(cat "$LAB_DIR/$1/qemu.pid")
    GX_TIMEOUT=5 gx "$1" 'sync; poweroff -f' >/dev/null 2>&1 || true
    lab_kill_pid "$pid" TERM
}

# link_cut TAP / link_restore TAP: take the namespace side of a guest NIC down (the
# bridge stops forwarding to it and the guest's frames are dropped: a silent partition;
# the guest sees no carrier change).
link_cut() { ip -n "$LAB_NS" link set "$1" down; lab_log "link $1 cut"; }
link_restore() { ip -n "$LAB_NS" link set "$1" up; lab_log "link $1 restored"; }

# --- capture -----------------------------------------------------------------
# cap_start FILE: tcpdump on br0 and br1 (TCP over IPv4 only)
cap_start() {
    CAP_FILE=$1
    local br pid
    CAP_PIDS=()
    for br in br0 br1; do
        ip netns exec "$LAB_NS" setpriv --pdeathsig KILL tcpdump -Z root -i "$br" -n --immediate-mode -U -B 16384 -s 0 -w "$CAP_FILE.$br" 'ip and tcp' \
            2>"$CAP_FILE.$br.log" &
        pid=$!
        CAP_PIDS+=("$pid")
        LAB_PIDS+=("$pid")
    done
    local i
    for i in $(seq 1 50); do
        grep -q 'listening on br1' "$CAP_FILE.br1.log" 2>/dev/null && grep -q 'listening on br0' "$CAP_FILE.br0.log" 2>/dev/null && break
        sleep 0.1
    done
}
# cap_stop: stop both tcpdumps, check for drops, merge into CAP_FILE (pcap, Ethernet)
cap_stop() {
    local pid br
    sleep 0.5
    for pid in "${CAP_PIDS[@]}"; do lab_kill_pid "$pid" INT; done
    CAP_PIDS=()
    for br in br0 br1; do
        if grep -E '[1-9][0-9]* packets? dropped by kernel' "$CAP_FILE.$br.log" >/dev/null; then
            lab_die "tcpdump on $br dropped packets: $(grep dropped "$CAP_FILE.$br.log" | tr '\n' ' ')"
        fi
    done
    mergecap -F pcap -w "$CAP_FILE" "$CAP_FILE.br0" "$CAP_FILE.br1"
    # CAP_KEEP_BR0=FILE keeps what br0 alone saw (a capture at 10.99.1.x only)
    if [[ -n ${CAP_KEEP_BR0:-} ]]; then
        mergecap -F pcap -w "$CAP_KEEP_BR0" "$CAP_FILE.br0"
        lab_log "capture $CAP_KEEP_BR0 (br0 only): $(stat -c %s "$CAP_KEEP_BR0") bytes"
    fi
    rm -f "$CAP_FILE.br0" "$CAP_FILE.br1" "$CAP_FILE.br0.log" "$CAP_FILE.br1.log"
    lab_log "capture $CAP_FILE: $(stat -c %s "$CAP_FILE") bytes"
}

# --- NFS-Ganesha in the namespace ------------------------------------------------
GANESHA_PID=""
# ganesha_start: Ganesha 4.3 (FSAL VFS, NFSv4 only, lease GUEST_LEASE, grace GUEST_GRACE)
# listening on every address of the namespace (10.99.1.1 and 10.99.2.1). Its data and
# recovery directories stay in LAB_DIR/ganesha across restarts.
ganesha_start() {
    local g=$LAB_DIR/ganesha plugins=/usr/lib/x86_64-linux-gnu/ganesha
    command -v ganesha.nfsd >/dev/null || lab_die "missing ganesha.nfsd (apt-get install nfs-ganesha nfs-ganesha-vfs)"
    mkdir -p "$g/data" "$g/recovery"
    [[ -f $g/data/hello.txt ]] || { printf 'hello from NFS-Ganesha\n' > "$g/data/hello.txt"; head -c 262144 /dev/urandom > "$g/data/data.bin"; printf 'shared\n' > "$g/data/shared.txt"; }
    cat > "$g/ganesha.conf" <<CONF
NFS_CORE_PARAM {
    Protocols = 4;
    NFS_Port = 2049;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    Plugins_Dir = $plugins;
}
NFSv4 {
    Minor_Versions = 0, 1, 2;
    Lease_Lifetime = $GUEST_LEASE;
    Grace_Period = $GUEST_GRACE;
    RecoveryBackend = fs;
    RecoveryRoot = $g/recovery;
    Server_Owner = "trunkcheck-lab-ganesha";
    Server_Scope = "trunkcheck-lab-ganesha-scope";
}
EXPORT {
    Export_Id = 1;
    Path = $g/data;
    Pseudo = /export;
    Protocols = 4;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
CONF
    local t0ns
    t0ns=$(date +%s.%N)
    ip netns exec "$LAB_NS" setpriv --pdeathsig KILL ganesha.nfsd -F -f "$g/ganesha.conf" -L "$g/ganesha.log" -p "$g/ganesha.pid" -N NIV_EVENT &
    GANESHA_PID=$!
    LAB_PIDS+=("$GANESHA_PID")
    nsx "$PY" "$HERE_LIB/gx.py" nfsnull 10.99.1.1 --timeout 30 >/dev/null || { tail -n 20 "$g/ganesha.log" >&2; lab_die "Ganesha did not answer NFS NULL"; }
    lab_log "Ganesha up (pid $GANESHA_PID) in $(awk -v a="$t0ns" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
}
ganesha_stop() { [[ -n $GANESHA_PID ]] && lab_kill_pid "$GANESHA_PID" TERM; GANESHA_PID=""; }

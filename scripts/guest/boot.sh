#!/usr/bin/env bash
# Boot Linux knfsd and/or Linux NFS client guests (QEMU, TCG) in a network
# namespace made by this script, and keep them up until Ctrl-C (or until
# --run SCRIPT ends); everything is torn down on exit (QEMU, tcpdump, Ganesha
# killed by PID, namespace deleted).
#
#   sudo bash scripts/guest/boot.sh [--role server|client|pair] [--nics 1|2]
#        [--lease S] [--grace S] [--smp N] [--mem MB] [--ganesha] [--no-c2]
#        [--state DIR] [--ns NAME] [--cache DIR] [--run SCRIPT]
#
#   --role server   one knfsd guest "srv" (10.99.1.2, and 10.99.2.2 with --nics 2)
#   --role client   one Linux NFS client guest "cli" (10.99.1.10, 10.99.2.10)
#   --role pair     both (default)
#   --ganesha       also NFS-Ganesha 4.3 in the namespace (10.99.1.1, 10.99.2.1)
#   --no-c2         no second client identity (third NIC, 10.99.1.11) in the client
#   --run SCRIPT    run SCRIPT (bash) once everything is up, then tear down; it gets
#                   LAB_NS, LAB_DIR, GUEST_CACHE in its environment and may
#                   `source scripts/guest/lib.sh` for gx, link_cut, cap_start, ...
#
# While it runs (from another shell):
#   python3 scripts/guest/gx.py run STATE/srv/cmd.sock 'cat /proc/fs/nfsd/versions'
#   python3 scripts/guest/gx.py run STATE/cli/cmd.sock 'mount -t nfs4 -o vers=4.1 10.99.1.2:/export /mnt/a'
#   python3 scripts/guest/gx.py mon STATE/srv/mon.sock 'info network'
#   ip netns exec NS tcpdump -i br0 -w x.pcap
# In the server guest: `gt nfsd-restart`, `gt nfsd-stop`, `gt nfsd-start`, `gt info`;
# in the client guest: `gt c2 CMD` runs CMD as the second client identity.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

ROLE=pair NICS=2 GANESHA=0 RUN="" STATE=""
export GUEST_C2=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --role) ROLE=$2; shift 2 ;;
        --nics) NICS=$2; shift 2 ;;
        --lease) export GUEST_LEASE=$2; shift 2 ;;
        --grace) export GUEST_GRACE=$2; shift 2 ;;
        --smp) export GUEST_SMP=$2; shift 2 ;;
        --mem) export GUEST_MEM=$2; shift 2 ;;
        --ganesha) GANESHA=1; shift ;;
        --no-c2) GUEST_C2=0; shift ;;
        --state) STATE=$2; shift 2 ;;
        --ns) export LAB_NS=$2; shift 2 ;;
        --cache) export GUEST_CACHE=$2; shift 2 ;;
        --run) RUN=$2; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "boot.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case $ROLE in server|client|pair) ;; *) echo "boot.sh: --role server|client|pair" >&2; exit 2 ;; esac
case $NICS in 1|2) ;; *) echo "boot.sh: --nics 1 or 2" >&2; exit 2 ;; esac

export LAB_NS="${LAB_NS:-tcguest-$$}"
export LAB_DIR="${STATE:-$(mktemp -d /tmp/trunkcheck-guest.XXXXXX)}"
export GUEST_CACHE="${GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trunkcheck/guest}"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

bash "$HERE/build.sh" --cache "$GUEST_CACHE" >/dev/null
trap 'lab_down' EXIT
trap 'exit 130' INT TERM
lab_up

nics_of() {   # nics_of NAME: the standard NICs, the first only with --nics 1
    local all
    all=$(guest_nics "$1")
    if [[ $NICS == 1 ]]; then echo "${all%% *}"; else echo "$all"; fi
}
[[ $ROLE == client ]] || guest_boot srv server knfsd-a "$(nics_of srv)"
[[ $ROLE == server ]] || guest_boot cli client linux-c1 "$(nics_of cli)"
((GANESHA)) && ganesha_start

cat >&2 <<MSG

lab up: namespace $LAB_NS, state $LAB_DIR
  run in a guest:  python3 $HERE/gx.py run $LAB_DIR/<srv|cli>/cmd.sock 'COMMANDS'
  QEMU monitor:    python3 $HERE/gx.py mon $LAB_DIR/<srv|cli>/mon.sock 'info network'
  capture:         ip netns exec $LAB_NS tcpdump -i br0 -w FILE
  knfsd:           10.99.1.2$([[ $NICS == 2 ]] && echo ", 10.99.2.2")$( ((GANESHA)) && echo "; Ganesha: 10.99.1.1, 10.99.2.1")
MSG
if [[ -n $RUN ]]; then
    bash "$RUN"
else
    echo "Ctrl-C tears everything down." >&2
    while :; do sleep 3600 & wait $! || true; done
fi

#!/bin/sh
# Guest side helper (/usr/local/sbin/gt):
#   gt nfsd-start        set lease and grace (from the kernel command line, or
#                        LEASE=/GRACE= in the environment) and start knfsd
#   gt nfsd-stop         rpc.nfsd 0 (all threads stop: the server forgets its sessions)
#   gt nfsd-restart      stop + start
#   gt link-cut          drop every frame the guest sends (a zero-length pfifo on each NIC;
#                        iproute2 tc by its path: busybox sh prefers its own tc applet)
#   gt link-restore      undo link-cut
#   gt c2 CMD...         run CMD in the second client identity's net+uts namespace
#   gt info              versions, lease, grace, addresses
export PATH=/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin
. /etc/tc.conf
case ${1:-} in
    nfsd-start)
        echo "${LEASE:-$TC_lease}" > /proc/fs/nfsd/nfsv4leasetime
        echo "${GRACE:-$TC_grace}" > /proc/fs/nfsd/nfsv4gracetime
        rpc.nfsd -N 3 -V 4 -V 4.1 -V 4.2 -p 2049 "$TC_threads"
        ;;
    nfsd-stop)
        rpc.nfsd 0
        ;;
    nfsd-restart)
        rpc.nfsd 0 && "$0" nfsd-start
        ;;
    link-cut)
        for d in /sys/class/net/eth*; do
            /usr/local/sbin/tc qdisc replace dev "${d##*/}" root pfifo limit 0 || exit 1
        done
        ;;
    link-restore)
        for d in /sys/class/net/eth*; do
            /usr/local/sbin/tc qdisc del dev "${d##*/}" root 2>/dev/null
        done
        true
        ;;
    c2)
        shift
        exec nsenter -t "$(cat /run/c2.pid)" -n -u -- "$@"
        ;;
    info)
        uname -r; hostname
        for f in versions nfsv4leasetime nfsv4gracetime threads; do
            [ -r /proc/fs/nfsd/$f ] && echo "$f: $(cat /proc/fs/nfsd/$f)"
        done
        ip -br addr
        ;;
    *)
        sed -n '2,12p' "$0"; exit 2 ;;
esac

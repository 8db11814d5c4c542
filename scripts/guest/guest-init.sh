#!/bin/sh
# Guest side, run once by busybox init (sysinit) inside the QEMU guest.
# Configured from the kernel command line (set by boot.sh):
#   tc.role=server|client      what to start
#   tc.host=NAME               host name (knfsd: server owner and scope; client: owner string)
#   tc.net=eth0:ADDR/LEN,...   addresses of the NICs (in PCI order)
#   tc.lease=S tc.grace=S      knfsd lease and grace time
#   tc.threads=N               knfsd threads
#   tc.route=onlink            every NIC routes everything on-link: a default route via
#                              eth0, and replies from another NIC's address leave by that
#                              NIC (policy routing); for trunkcheck's knfsd lab, where the
#                              clients' addresses are routed to the guest, not on its links
#   tc.c2=ethN:ADDR/LEN:NAME   client only: a second NFS client identity: ethN moves into
#                              its own network and UTS namespace with host name NAME
#                              (run commands there with `gt c2 CMD...`)
export PATH=/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/netns

for w in $(cat /proc/cmdline); do
    case $w in
        tc.*=*) k=${w%%=*}; k=${k#tc.}; v=${w#*=}; eval "TC_$k=\$v" ;;
    esac
done
: "${TC_role:=client}" "${TC_host:=guest}" "${TC_lease:=90}" "${TC_grace:=90}" "${TC_threads:=8}"
{
    echo "TC_role=$TC_role"; echo "TC_host=$TC_host"; echo "TC_lease=$TC_lease"
    echo "TC_grace=$TC_grace"; echo "TC_threads=$TC_threads"; echo "TC_net=${TC_net:-}"; echo "TC_c2=${TC_c2:-}"
    echo "TC_route=${TC_route:-}"
} > /etc/tc.conf

KVER=$(uname -r)
while read -r m; do
    insmod "/lib/modules/$KVER/$m" 2>/dev/null || true
done < /etc/modules.order

hostname "$TC_host"
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
ip link set lo up
if [ "${TC_route:-}" = onlink ]; then
    for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > "$f"; done
fi
IFS=,
k=0
for n in ${TC_net:-}; do
    dev=${n%%:*}; addr=${n#*:}
    ip link set "$dev" up
    ip addr add "$addr" dev "$dev"
    if [ "${TC_route:-}" = onlink ]; then
        if [ $k -eq 0 ]; then
            /usr/local/sbin/ip route add default dev "$dev"
        else
            /usr/local/sbin/ip rule add from "${addr%/*}" table $((100 + k))
            /usr/local/sbin/ip route add default dev "$dev" table $((100 + k))
        fi
    fi
    k=$((k + 1))
done
unset IFS

if [ "$TC_role" = server ]; then
    mkdir -p /srv /export
    mount -t ext4 /dev/vda /srv
    mkdir -p /srv/export /srv/nfs/v4recovery
    # Clients act as several AUTH_SYS principals: any may create files
    # (sticky, like /tmp).
    chmod 1777 /srv/export
    mount --bind /srv/export /export
    mount --bind /srv/nfs /var/lib/nfs
    mkdir -p /var/lib/nfs/rpc_pipefs
    mount -t rpc_pipefs rpc_pipefs /var/lib/nfs/rpc_pipefs
    mkdir -p /proc/fs/nfsd
    mount -t nfsd nfsd /proc/fs/nfsd
    sec=
    if [ -s /srv/krb5/principal ]; then
        # A realm: accept RPCSEC_GSS as the guest's nfs/ principal (keys on
        # the disk, put there by trunkcheck); the kernel's legacy upcall
        # goes to rpc.svcgssd. No replay cache: the guest's /var/tmp is not kept.
        for f in krb5.keytab krb5.conf idmapd.conf; do cp "/srv/krb5/$f" "/etc/$f"; done
        chmod 600 /etc/krb5.keytab
        KRB5RCACHETYPE=none rpc.svcgssd -f -p "$(cat /srv/krb5/principal)" >/dev/console 2>&1 &
        sec=,sec=sys:krb5:krb5i:krb5p
    fi
    echo "/export *(rw,no_root_squash,insecure,no_subtree_check,sync$sec)" > /etc/exports
    # Referrals (RFC 8881 §11.15): each line of /srv/referrals (written by
    # trunkcheck) is "PATH REFER". knfsd crosses into a child export only at
    # a mount point: a small tmpfs there, exported with refer= (exports(5):
    # path@host[+host], the fs_locations of this absent file system) and an
    # fsid (a tmpfs has no UUID).
    k=0
    while read -r path refer; do
        [ -n "$path" ] && [ -n "$refer" ] || continue
        k=$((k + 1))
        mkdir -p "/export/$path"
        mount -t tmpfs -o size=64k,mode=0755 tmpfs "/export/$path"
        echo "/export/$path *(rw,no_root_squash,insecure,no_subtree_check,sync,fsid=$((100 + k)),refer=$refer$sec)" >> /etc/exports
    done < /srv/referrals 2>/dev/null
    exportfs -ra
    rpc.mountd -N 2 -N 3
    gt nfsd-start
else
    mkdir -p /mnt/a /mnt/b /mnt/c
    if [ -n "${TC_c2:-}" ]; then
        dev=${TC_c2%%:*}; rest=${TC_c2#*:}; addr=${rest%%:*}; name=${rest#*:}
        # A second client identity: its own network namespace (so the kernel makes a
        # second nfs_client) and UTS namespace (so its owner string differs).
        # (the holder is a shell looping over sleep: killing every "sleep" does not end it)
        unshare -n -u sh -c "hostname $name; while :; do sleep 3600; done" </dev/null >/dev/null 2>&1 &
        echo $! > /run/c2.pid
        sleep 0.2
        ip link set "$dev" netns "$(cat /run/c2.pid)"
        gt c2 sh -c "ip link set lo up; ip link set $dev up; ip addr add $addr dev $dev"
    fi
fi
echo "guest-init: $TC_role $TC_host ready" > /dev/console

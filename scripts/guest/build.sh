#!/usr/bin/env bash
# Build the initramfs that boots a Linux knfsd server or a Linux NFS client in
# a QEMU guest, from Debian 12 packages installed on this host.
#
#   bash scripts/guest/build.sh [--cache DIR] [--force] [--install]
#
# Output (in DIR, default ${XDG_CACHE_HOME:-$HOME/.cache}/trunkcheck/guest):
#   vmlinuz          the kernel of linux-image-amd64
#   initramfs.img    busybox + modules + nfs-utils binaries + guest init (gzip cpio)
#   key              what the image was built from (package versions and the
#                    hash of the guest files); the image is rebuilt only when it changes
# Prints DIR on stdout. --install runs apt-get install for missing packages (root).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/trunkcheck/guest"
FORCE=0
INSTALL=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --cache) CACHE=$2; shift 2 ;;
        --force) FORCE=1; shift ;;
        --install) INSTALL=1; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

die() { echo "build.sh: error: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

PACKAGES=(qemu-system-x86 linux-image-amd64 nfs-kernel-server nfs-common busybox-static kmod cpio iproute2 e2fsprogs util-linux)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    if ((INSTALL)); then
        [[ $(id -u) -eq 0 ]] || die "installing packages needs root"
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    else
        die "missing packages: ${missing[*]} (apt-get install -y --no-install-recommends ${missing[*]}, or pass --install)"
    fi
fi

# The kernel: the one linux-image-amd64 depends on (newest installed -amd64).
KVER="$(dpkg-query -W -f '${Depends}' linux-image-amd64 | grep -o 'linux-image-[0-9][^ ,]*-amd64' | head -1 | sed 's/^linux-image-//')"
[[ -n $KVER && -f /boot/vmlinuz-$KVER && -d /lib/modules/$KVER ]] || die "kernel $KVER not found under /boot and /lib/modules"

GUEST_FILES=("$HERE/guest-init.sh" "$HERE/guest-cmdloop.sh" "$HERE/guest-tool.sh" "$HERE/build.sh")
key="$( {
    echo "kernel $KVER"
    dpkg-query -W -f '${Package} ${Version}\n' "${PACKAGES[@]}" linux-image-"$KVER" libc6 libtirpc3 libgssapi-krb5-2 libnfsidmap1
    sha256sum "${GUEST_FILES[@]}" | awk '{print $1}'
} )"
mkdir -p "$CACHE"
# One build at a time per cache (two runs starting together wait here).
exec 9>"$CACHE/.lock"
flock 9
if ((!FORCE)) && [[ -f $CACHE/key && -f $CACHE/initramfs.img && -f $CACHE/vmlinuz ]] && [[ "$(cat "$CACHE/key")" == "$key" ]]; then
    log "up to date: $CACHE"
    echo "$CACHE"
    exit 0
fi

T0=$SECONDS
ROOT="$(mktemp -d "${TMPDIR:-/tmp}/trunkcheck-initramfs.XXXXXX")"
trap 'rm -rf -- "$ROOT"' EXIT
# mktemp makes the directory 0700: it becomes the guest's "/", which every
# user must be able to traverse (knfsd's NFSv4 pseudo root is "/": a
# non-root LOOKUP of /export otherwise gets NFS4ERR_ACCESS).
chmod 755 "$ROOT"
log "building initramfs for $KVER in $ROOT"

mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,usr/local/sbin,etc,proc,sys,dev,tmp,run,mnt,export,srv,var/lib/nfs,lib/modules/"$KVER",root}
# busybox: every applet as a symlink
cp /bin/busybox "$ROOT/bin/busybox"
for a in $(/bin/busybox --list); do
    [[ -e $ROOT/bin/$a ]] || ln -s busybox "$ROOT/bin/$a"
done
ln -s bin/busybox "$ROOT/init"

# Kernel modules, in dependency order, each once.
# rpcsec_gss_krb5 and the ciphers its enctypes ask the crypto API for (the
# guest has no modprobe to load them on demand: cts(cbc(aes)) needs cts).
MODULES=(virtio_pci virtio_net virtio_blk ext4 nfsd nfs nfsv4 rpcsec_gss_krb5 cts ecb)
: > "$ROOT/etc/modules.order"
for m in "${MODULES[@]}"; do
    modprobe -S "$KVER" --show-depends "$m" | while read -r kind path _; do
        [[ $kind == insmod ]] || continue
        rel="${path#/lib/modules/$KVER/}"
        grep -qxF "$rel" "$ROOT/etc/modules.order" && continue
        mkdir -p "$ROOT/lib/modules/$KVER/$(dirname "$rel")"
        cp "$path" "$ROOT/lib/modules/$KVER/$rel"
        echo "$rel" >> "$ROOT/etc/modules.order"
    done
done

# nfs-utils and iproute2 binaries with the shared libraries ldd lists.
# rpc.svcgssd accepts RPCSEC_GSS contexts for knfsd (a lab with a realm);
# libnfsidmap's plugins (dlopen'ed) map principals to local names.
NFSIDMAP_PLUGINS=/usr/lib/x86_64-linux-gnu/libnfsidmap
BINS=(/usr/sbin/rpc.nfsd /usr/sbin/rpc.mountd /usr/sbin/exportfs /sbin/mount.nfs /usr/sbin/nfsdcld /usr/sbin/rpc.svcgssd /bin/ip /sbin/tc /usr/bin/flock "$NFSIDMAP_PLUGINS"/nsswitch.so)
copy_lib() {
    local f=$1
    [[ -e $ROOT$f ]] && return 0
    mkdir -p "$ROOT$(dirname "$f")"
    cp -L "$f" "$ROOT$f"
}
for b in "${BINS[@]}"; do
    [[ -e $b ]] || die "missing $b"
    dest=/usr/sbin/$(basename "$b")
    [[ $b == "$NFSIDMAP_PLUGINS"/* ]] && { mkdir -p "$ROOT$NFSIDMAP_PLUGINS"; dest=$b; }
    [[ $b == /bin/ip ]] && dest=/usr/local/sbin/ip   # iproute2 ip (netns), ahead of busybox's ip in PATH
    [[ $b == /sbin/tc ]] && dest=/usr/local/sbin/tc  # iproute2 tc (a cut link), ahead of busybox's tc
    cp -L "$b" "$ROOT$dest"
    ldd "$b" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | while read -r lib; do copy_lib "$lib"; done
done
ln -sf mount.nfs "$ROOT/usr/sbin/mount.nfs4"
ln -sf ../usr/sbin/mount.nfs "$ROOT/sbin/mount.nfs"
ln -sf ../usr/sbin/mount.nfs "$ROOT/sbin/mount.nfs4"
[[ -e $ROOT/lib64/ld-linux-x86-64.so.2 ]] || { mkdir -p "$ROOT/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$ROOT/lib64/"; }

# Minimal /etc.
cp /etc/netconfig "$ROOT/etc/netconfig"
printf 'nfs\t\t2049/tcp\nsunrpc\t\t111/tcp\tportmapper\n' > "$ROOT/etc/services"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$ROOT/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files\n' > "$ROOT/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' > "$ROOT/etc/hosts"
: > "$ROOT/etc/fstab"
ln -s /proc/mounts "$ROOT/etc/mtab"
cat > "$ROOT/etc/inittab" <<'INITTAB'
::sysinit:/etc/guest-init.sh
::respawn:/etc/guest-cmdloop.sh
::ctrlaltdel:/bin/poweroff -f
INITTAB
install -m 0755 "$HERE/guest-init.sh" "$ROOT/etc/guest-init.sh"
install -m 0755 "$HERE/guest-cmdloop.sh" "$ROOT/etc/guest-cmdloop.sh"
install -m 0755 "$HERE/guest-tool.sh" "$ROOT/usr/local/sbin/gt"
echo "$KVER" > "$ROOT/etc/kernel-version"

(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -6 > "$CACHE/initramfs.img.tmp"
mv "$CACHE/initramfs.img.tmp" "$CACHE/initramfs.img"
cp /boot/vmlinuz-"$KVER" "$CACHE/vmlinuz"
echo "$key" > "$CACHE/key"
log "built $CACHE/initramfs.img ($(du -h "$CACHE/initramfs.img" | cut -f1), $(wc -l < "$ROOT/etc/modules.order") modules) in $((SECONDS - T0)) s"
echo "$CACHE"

#!/usr/bin/env bash
# Sets up a fresh Debian machine that has Rust: installs the Debian packages
# trunkcheck's tests and live runs use (only those missing), then builds.
# Idempotent; needs root (or sudo) only when a package is missing.
# With --no-build it only installs.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(nfs-ganesha nfs-ganesha-vfs tshark tcpdump libnfs-utils iproute2 libpcap-dev graphviz
    # the built-in knfsd lab: Linux knfsd in QEMU guests (scripts/guest/build.sh)
    qemu-system-x86 linux-image-amd64 nfs-kernel-server nfs-common busybox-static kmod cpio e2fsprogs
    # RPCSEC_GSS: a per-run MIT KDC and the GSS-API library the harness loads
    krb5-kdc krb5-admin-server krb5-user libgssapi-krb5-2)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer no, quietly.
    echo "wireshark-common wireshark-common/install-setuid boolean false" |
        "${sudo_cmd[@]}" debconf-set-selections
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${1:-}" = "--no-build" ] && exit 0
cargo build --release --workspace --features trunkcheck/live

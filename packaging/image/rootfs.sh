#!/bin/sh
# Builds the root filesystem of the skidder runtime image, without the binary and its config:
# the Debian 12 packages of packaging/runtime-packages.txt and their dependencies, extracted
# (mmdebstrap --variant=extract: no maintainer script runs, no Essential package comes along,
# so there is no shell, no apt, no dpkg), then finished by finish-rootfs.sh.
# `make image` (packaging/image/build.sh) and packaging/Dockerfile both call this, so the two
# images hold the same files.
#
#   packaging/image/rootfs.sh OUTDIR        (as root; OUTDIR must not exist or be empty)
#
# DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR choose the mirrors (default deb.debian.org, as
# Debian 12's own sources); the updates and security suites are included.
set -eu

out=${1:?usage: rootfs.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
packages=$(sed 's/#.*//' "$here/../runtime-packages.txt" | xargs | tr ' ' ,)

# The extract hook runs while the downloaded .debs are still in the target's apt cache.
mmdebstrap --variant=extract --format=directory --quiet \
  --include="$packages" \
  --extract-hook="$here/finish-rootfs.sh \"\$1\"" \
  bookworm "$out" \
  "deb $mirror bookworm main" \
  "deb $mirror bookworm-updates main" \
  "deb $security bookworm-security main"

# What mmdebstrap writes for a chroot, not for an image: the build machine's resolv.conf and
# hostname, apt's sources, device nodes. The container runtime provides /dev and /etc/resolv.conf.
rm -rf "$out/etc/resolv.conf" "$out/etc/hostname" "$out/etc/fstab" "$out/etc/apt" \
  "$out/var/lib/apt" "$out/var/cache/apt" "$out/var/log/apt"
find "$out/dev" -mindepth 1 -delete

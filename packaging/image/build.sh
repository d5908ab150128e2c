#!/bin/sh
# Builds the skidder runtime image as OCI archives, from Debian's packages alone: no Docker
# daemon, no registry, no base image. `make image` runs it after building the release binary.
#
#   packaging/image/build.sh BINARY OUT.tar [VERSION]          (as root)
#
# Writes OUT.tar (an OCI image layout, for `podman load`, `skopeo copy oci-archive:...` and
# Docker 25 or later) and OUT.docker.tar (docker-archive, tagged skidder:VERSION, for
# `docker load` and `ctr images import`). Two layers: the Debian root filesystem
# (packaging/image/rootfs.sh), then the stripped binary and config/kubernetes.yaml as
# /etc/skidder/skidder.yaml. Entrypoint, command, user and volume are packaging/Dockerfile's.
set -eu

binary=${1:?usage: build.sh BINARY OUT.tar [VERSION]}
out=${2:?usage: build.sh BINARY OUT.tar [VERSION]}
version=${3:-latest}
if [ "$(id -u)" != 0 ]; then
  echo "build.sh: run as root: mmdebstrap and umoci keep the files' owners (root) only as root" >&2
  exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/skidder-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$here/rootfs.sh" "$work/rootfs"

mkdir -p "$work/app/usr/bin" "$work/app/etc/skidder"
strip -o "$work/app/usr/bin/skidder" "$binary"
install -m 0644 "$repo/config/kubernetes.yaml" "$work/app/etc/skidder/skidder.yaml"

image="$work/oci:$version"
umoci init --layout "$work/oci"
umoci new --image "$image"
umoci insert --image "$image" --history.created_by "packaging/image/rootfs.sh" \
  --history.comment "Debian 12: packaging/runtime-packages.txt" "$work/rootfs" /
umoci insert --image "$image" --history.created_by "packaging/image/build.sh" \
  --history.comment "skidder $version and config/kubernetes.yaml" "$work/app" /
umoci config --image "$image" --os linux --architecture "$(dpkg --print-architecture)" \
  --config.entrypoint /usr/bin/skidder \
  --config.cmd -config.file=/etc/skidder/skidder.yaml \
  --config.user 0:0 --config.workingdir / --config.exposedports 9080/tcp \
  --config.volume /var/lib/skidder \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.label org.opencontainers.image.title=skidder \
  --config.label org.opencontainers.image.version="$version" \
  --config.label org.opencontainers.image.source=packaging/Dockerfile \
  --no-history
umoci gc --layout "$work/oci"

mkdir -p "$(dirname "$out")"
rm -f "$out" "${out%.tar}.docker.tar"
# Named skidder:VERSION in both archives (podman load makes that localhost/skidder:VERSION).
skopeo copy --quiet "oci:$work/oci:$version" "oci-archive:$out:skidder:$version"
skopeo copy --quiet "oci:$work/oci:$version" "docker-archive:${out%.tar}.docker.tar:skidder:$version"
echo "image: $out ($(du -h "$out" | cut -f1), OCI) and ${out%.tar}.docker.tar (docker-archive," \
  "skidder:$version); unpacked root filesystem $(du -sh "$work/rootfs" | cut -f1) + skidder"

#!/bin/sh
# mmdebstrap's extract hook for rootfs.sh: does what the packages' maintainer scripts and
# Debian's base files would have done, as far as the agent needs it, and removes what it does
# not need. Runs on the build machine with the target root as $1.
set -eu
root=${1:?usage: finish-rootfs.sh ROOT}

# dpkg's status file, from the .debs themselves, so image scanners (trivy, grype) see the
# packages and their versions although dpkg never ran.
for deb in "$root"/var/cache/apt/archives/*.deb; do
  dpkg-deb -f "$deb" | sed '/^Package:/a Status: install ok installed'
  echo
done > "$root/var/lib/dpkg/status"

# update-ca-certificates' bundle (its postinst did not run): every Mozilla CA, where libcurl
# and OpenSSL look by default.
mkdir -p "$root/etc/ssl/certs"
cat "$root"/usr/share/ca-certificates/mozilla/*.crt > "$root/etc/ssl/certs/ca-certificates.crt"

# Users and name lookup: root for the chart, nobody for --user 65534 where files allow it.
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"

# Mount points a container runtime fills, the config and positions directories, /tmp.
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/root" \
  "$root/etc/skidder" "$root/var/lib/skidder" "$root/var/log"
mkdir -p -m 1777 "$root/tmp"

# No tool is run in the image: the packages' programs (openssl, debconf's scripts without a
# perl to run them, update-ca-certificates) go, and what only they or a shell read. glibc's
# iconv modules (gconv, 8 MB) go too: nothing in skidder converts character sets. Documentation
# goes, except the copyright files the licences ask for.
rm -rf "$root/usr/bin" "$root/usr/sbin" "$root/usr/share/perl5" "$root/usr/share/debconf" \
  "$root/etc/debconf.conf" "$root/usr/share/bash-completion" "$root/usr/share/gdb" \
  "$root/usr/share/gcc" "$root/usr/share/pixmaps" "$root/usr/share/man" "$root/usr/share/info" \
  "$root/usr/share/lintian" "$root/usr/share/locale" "$root/usr/lib/x86_64-linux-gnu/gconv"
mkdir -p "$root/usr/bin"
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete

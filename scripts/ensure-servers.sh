#!/usr/bin/env bash
# ensure-servers.sh — make sure the real servers that the integration tests,
# benchmarks and the demo start are installed:
#
#   binary    Debian/Ubuntu package
#   influxd   influxdb
#   influx    influxdb-client
#   etcd      etcd-server
#   etcdctl   etcd-client
#   curl      curl
#   chromium  chromium   (the status page's browser test)
#
# Prints nothing and exits 0 when everything is on PATH. Otherwise, as root
# (or with passwordless sudo) it installs the missing packages with apt-get;
# without root it exits 1 and says which packages to install.
# The package scripts are kept from starting the daemons (a temporary
# /usr/sbin/policy-rc.d that exits 101), so nothing listens on :8086/:2379.
#
# Used as `npm pretest`, and before `npm run demo` / the benchmarks.
# Set CFLUX_NO_INSTALL=1 to never run apt-get (only check).
set -euo pipefail

log() { printf '[ensure-servers] %s\n' "$*" >&2; }

pkgs=()
command -v influxd >/dev/null 2>&1 || pkgs+=(influxdb)
command -v influx  >/dev/null 2>&1 || pkgs+=(influxdb-client)
command -v etcd    >/dev/null 2>&1 || pkgs+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || pkgs+=(etcd-client)
command -v curl    >/dev/null 2>&1 || pkgs+=(curl)
command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)

[ ${#pkgs[@]} -eq 0 ] && exit 0

hint="sudo apt-get install ${pkgs[*]}"

# How to run a command as root: directly, via passwordless sudo, or not at all.
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  log "missing packages; please run: $hint"
  exit 1
fi

if [ "${CFLUX_NO_INSTALL:-}" = 1 ]; then
  log "missing packages (CFLUX_NO_INSTALL=1 is set); please run: $hint"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "missing: ${pkgs[*]} and apt-get is not available; install InfluxDB 1.x (influxd, influx), etcd 3.x (etcd, etcdctl) and curl"
  exit 1
fi

log "installing with apt-get: ${pkgs[*]}"

# Keep the maintainer scripts from starting influxdb/etcd as services
# (invoke-rc.d and deb-systemd-invoke both obey policy-rc.d). Only add one if
# none exists, and always remove ours again.
policy=/usr/sbin/policy-rc.d
added_policy=0
cleanup() {
  if [ "$added_policy" = 1 ]; then "${as_root[@]}" rm -f "$policy" || true; fi
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
  "${as_root[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > '$policy' && chmod 755 '$policy'"
  added_policy=1
fi

apt_install() {
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${pkgs[@]}" >&2
}

# Try without "apt-get update" first (fast when the lists are fresh); if that
# fails, update the package lists and try again.
if ! apt_install; then
  log "apt-get install failed; running apt-get update and retrying"
  if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2 && apt_install; }; then
    log "apt-get install failed; please run: $hint"
    exit 1
  fi
fi

missing=()
for b in influxd influx etcd etcdctl curl; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "still missing after install: ${missing[*]}"
  exit 1
fi
log "installed: ${pkgs[*]}"

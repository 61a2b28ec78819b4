#!/usr/bin/env bash
# Install everything tide needs to build, test and demo, from Debian only.
#
# Idempotent: when every package is already at the wanted suite this does no
# network work.  QEMU and libvirt come from bookworm-backports because Debian
# 12's own QEMU 7.2 corrupts guests on multi-round TCG migrations (see
# README.md, "Why backports").  The backports source is derived from the
# machine's own Debian apt source so that no mirror is written down here.
set -euo pipefail

BUILD_PKGS=(clang llvm gcc make pkg-config bpftool libelf-dev zlib1g-dev
	liburing-dev libnl-3-dev libnl-route-3-dev libcmocka-dev libjson-c-dev
	libconfig-dev libxml2-dev)
TEST_PKGS=(iproute2 busybox-static cpio gzip kmod procps psmisc util-linux
	prometheus python3 python3-matplotlib)
# make format-check, make lint, make compile_commands.json (lint.mk)
# libFuzzer's runtime for the fuzz targets (fuzz.mk): clang does not pull it
DEV_PKGS=(clang-format clang-tidy cppcheck bear libclang-rt-14-dev)
BPO_PKGS=(libbpf-dev libbpf1 qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
	libvirt-clients libvirt-dev)

log() { printf 'deps: %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { log "must run as root to install packages"; exit 1; }
export DEBIAN_FRONTEND=noninteractive

have_all() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || return 1
	done
}

bpo_ok() {
	# backports versions carry "~bpo"; Debian 12's own QEMU 7.2 is not good enough
	local p v
	for p in "${BPO_PKGS[@]}"; do
		v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || return 1
		case "$v" in *bpo*) ;; *) return 1 ;; esac
	done
}

add_backports() {
	local src=/etc/apt/sources.list.d/tide-backports.sources uri=""
	[ -f "$src" ] && return 0
	if grep -Rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ ; then
		return 0
	fi
	# first Debian main archive URI of the machine's own configuration
	uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ && u!="" {print u; exit}' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || { log "cannot find the machine's Debian bookworm apt source to derive backports from"; exit 1; }
	log "adding bookworm-backports from the machine's Debian source"
	cat >"$src" <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	rm -f /var/lib/tide-deps.updated
}

add_backports
if have_all "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${DEV_PKGS[@]}" "${BPO_PKGS[@]}" && bpo_ok; then
	exit 0
fi
log "installing packages (this takes a few minutes the first time)"
apt-get update -qq
apt-get install -y -q --no-install-recommends "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" \
	"${DEV_PKGS[@]}"
apt-get install -y -q --no-install-recommends -t bookworm-backports "${BPO_PKGS[@]}"
# libvirtd runs per testbed host, never as the system service
log "done"

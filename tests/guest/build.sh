#!/usr/bin/env bash
# Build tide's test guest into OUTDIR:
#   OUTDIR/vmlinuz              Debian cloud kernel (direct kernel boot)
#   OUTDIR/initramfs.cpio.gz    busybox-static, virtio modules, /init, tide-guestload
#   OUTDIR/tide-guestload       the same static program, used on the host as client
# Work files: OUTDIR/dl (the kernel .deb), OUTDIR/kernel (it, unpacked),
# OUTDIR/initramfs.d (the initramfs tree), OUTDIR/build.log.
#
# Idempotent and quick when up to date: the .deb is downloaded once, the
# initramfs rebuilt only when one of its inputs changed.  Quiet: one line per
# step; V=1 shows the commands and their output.
# Environment: CC (default gcc), BUSYBOX (default: busybox on PATH),
# TIDE_GUEST_KERNEL_PKG (default: what linux-image-cloud-amd64 depends on).
set -euo pipefail

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
[ $# -eq 1 ] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
log=$out/build.log
: >"$log"

step() { printf 'guest: %s\n' "$*"; }
die() {
	printf 'guest: error: %s\n' "$*" >&2
	if [ -s "$log" ] && [ "${V:-0}" != 1 ]; then
		printf 'guest: last lines of %s:\n' "$log" >&2
		tail -n 15 "$log" | sed 's/^/  /' >&2
	fi
	exit 1
}
# Runs a command, its output going to the log (or the terminal with V=1).
run() {
	printf '+ %s\n' "$*" >>"$log"
	if [ "${V:-0}" = 1 ]; then
		printf '+ %s\n' "$*" >&2
		"$@"
	else
		"$@" >>"$log" 2>&1
	fi
}
need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found: install the Debian package $2 (Kbuild-helpers/deps.sh does)"
}

CC=${CC:-gcc}
need "$CC" gcc
need cpio cpio
need gzip gzip
need dpkg dpkg
need modinfo kmod
need flock util-linux
need readelf binutils
BUSYBOX=${BUSYBOX:-$(command -v busybox || true)}
if [ -z "$BUSYBOX" ] || [ ! -x "$BUSYBOX" ]; then
	die "busybox not found: install the Debian package busybox-static"
fi
if readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'program interpreter'; then
	die "$BUSYBOX is dynamically linked; the initramfs needs busybox-static"
fi

# Two builds into one OUTDIR (make -j) would trample each other's files.
exec 9>"$out/.lock"
flock 9

# --- tide-guestload -------------------------------------------------------
src=$here/tide-guestload.c
bin=$out/tide-guestload
if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "${BASH_SOURCE[0]}" -nt "$bin" ]; then
	step "cc tide-guestload (static)"
	run "$CC" -static -O2 -pthread -Wall -Wextra -Werror -o "$bin.tmp" "$src" ||
		die "cannot compile tide-guestload.c (static glibc: is libc6-dev installed?)"
	mv -f "$bin.tmp" "$bin"
else
	step "tide-guestload up to date"
fi

# --- kernel package ------------------------------------------------------
mkdir -p "$out/dl"
kpkg=${TIDE_GUEST_KERNEL_PKG:-}
if [ -z "$kpkg" ] && command -v apt-cache >/dev/null 2>&1; then
	kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64$/ { print $2; exit }')
fi
deb=
if [ -n "$kpkg" ]; then
	deb=$(find "$out/dl" -maxdepth 1 -name "${kpkg}_*.deb" | sort -V | tail -n 1)
	if [ -z "$deb" ]; then
		step "download $kpkg"
		need apt-get apt
		tmp=$(mktemp -d "$out/dl/.download.XXXXXX")
		if ! (cd "$tmp" && run apt-get download -q "$kpkg"); then
			rm -rf "$tmp"
			die "cannot download $kpkg with apt-get (is the Debian archive reachable?)"
		fi
		mv -f "$tmp"/*.deb "$out/dl/"
		rm -rf "$tmp"
		deb=$(find "$out/dl" -maxdepth 1 -name "${kpkg}_*.deb" | sort -V | tail -n 1)
	else
		step "kernel package $(basename "$deb") (cached)"
	fi
else
	# No package lists (offline, or apt-get update never ran): use what an
	# earlier build downloaded.
	deb=$(find "$out/dl" -maxdepth 1 -name 'linux-image-*-cloud-amd64_*.deb' | sort -V | tail -n 1)
	[ -n "$deb" ] || die "apt-cache names no package behind linux-image-cloud-amd64 (run 'apt-get update'), and $out/dl holds none"
	step "kernel package $(basename "$deb") (cached; apt-cache did not name one)"
fi

kroot=$out/kernel
if [ "$(cat "$kroot/.from" 2>/dev/null || true)" != "$(basename "$deb")" ]; then
	step "unpack $(basename "$deb")"
	rm -rf "$kroot"
	mkdir -p "$kroot"
	run dpkg -x "$deb" "$kroot" || die "cannot unpack $deb"
	basename "$deb" >"$kroot/.from"
fi
moddir=
for d in "$kroot"/lib/modules/* "$kroot"/usr/lib/modules/*; do
	[ -d "$d/kernel" ] && { moddir=$d; break; }
done
[ -n "$moddir" ] || die "no lib/modules/VERSION/kernel in $(basename "$deb")"
kver=${moddir##*/}
vmlinuz=
for f in "$kroot/boot/vmlinuz-$kver" "$kroot/usr/lib/linux-image-$kver/vmlinuz"; do
	[ -f "$f" ] && { vmlinuz=$f; break; }
done
[ -n "$vmlinuz" ] || die "no vmlinuz-$kver in $(basename "$deb")"
if ! cmp -s "$vmlinuz" "$out/vmlinuz"; then
	step "vmlinuz $kver"
	cp -f "$vmlinuz" "$out/vmlinuz.tmp"
	mv -f "$out/vmlinuz.tmp" "$out/vmlinuz"
else
	step "vmlinuz $kver up to date"
fi

# --- modules, in dependency order ----------------------------------------
# The package carries no modules.dep (depmod runs at install time), so the
# order comes from each module's own "depends" field.
declare -A modfile=() seen=()
while IFS= read -r f; do
	n=${f##*/}
	n=${n%%.ko*}
	modfile[${n//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.*')
builtin_mod() { grep -q "/${1}\.ko\$" "$moddir/modules.builtin" 2>/dev/null ||
	grep -q "/${1//_/-}\.ko\$" "$moddir/modules.builtin" 2>/dev/null; }
order=()
add_mod() {
	local n=${1//-/_} f deps d
	[ -z "${seen[$n]:-}" ] || return 0
	seen[$n]=1
	f=${modfile[$n]:-}
	if [ -z "$f" ]; then
		builtin_mod "$n" && return 0
		die "module $n is neither in $(basename "$deb") nor built into its kernel"
	fi
	deps=$(modinfo -F depends "$f") || die "cannot read the dependencies of ${f#"$kroot"/}"
	for d in ${deps//,/ }; do
		add_mod "$d"
	done
	order+=("$n")
}
for m in virtio_pci virtio_net; do
	add_mod "$m"
done
# virtio_console only if this kernel has it (for a virtio serial console)
if [ -n "${modfile[virtio_console]:-}" ] || builtin_mod virtio_console; then
	add_mod virtio_console
fi

# --- initramfs ------------------------------------------------------------
# Applets /init uses, plus a few for a look around when debugging.
applets="sh mount umount mkdir cat echo insmod lsmod ip ifconfig hostname sleep ls ps dmesg free poweroff reboot"
manifest=$(
	sum() { printf '%s %s\n' "$(sha256sum <"$2" | cut -d' ' -f1)" "$1"; }
	sum build.sh "${BASH_SOURCE[0]}"
	sum init "$here/init"
	sum tide-guestload "$bin"
	sum busybox "$BUSYBOX"
	for n in "${order[@]}"; do sum "$n" "${modfile[$n]}"; done
	echo "applets $applets"
	echo "kernel $kver"
)
img=$out/initramfs.cpio.gz
if [ -f "$img" ] && [ "$manifest" = "$(cat "$out/.initramfs.manifest" 2>/dev/null || true)" ]; then
	step "initramfs up to date (modules: ${order[*]})"
	exit 0
fi
step "initramfs (modules: ${order[*]})"
stage=$out/initramfs.d
rm -rf "$stage"
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,lib/modules}
cp "$BUSYBOX" "$stage/bin/busybox"
for a in $applets; do
	ln -s busybox "$stage/bin/$a"
done
install -m 0755 "$here/init" "$stage/init"
install -m 0755 "$bin" "$stage/bin/tide-guestload"
: >"$stage/lib/modules/load.list"
for n in "${order[@]}"; do
	f=${modfile[$n]}
	# busybox insmod does not decompress: store plain .ko
	case "$f" in
	*.ko) cp "$f" "$stage/lib/modules/$n.ko" ;;
	*.ko.xz) need xz xz-utils; xz -dc "$f" >"$stage/lib/modules/$n.ko" ;;
	*.ko.zst) need zstd zstd; zstd -qdc "$f" >"$stage/lib/modules/$n.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$stage/lib/modules/$n.ko" ;;
	*) die "unknown module format: ${f##*/}" ;;
	esac
	echo "$n.ko" >>"$stage/lib/modules/load.list"
done

# newc entry with no data: NAME MODE NLINK RDEV_MAJOR RDEV_MINOR
newc_entry() {
	local namesize=$((${#1} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$newc_ino" "$2" 0 0 "$3" 0 0 0 0 "$4" "$5" "$namesize" 0
	printf '%s\0' "$1"
	head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
	newc_ino=$((newc_ino + 1))
}
# The kernel opens /dev/console for /init before anything is mounted; making
# the node takes root, so write it as a small archive of its own (the kernel
# unpacks concatenated archives in order) instead of with mknod.
newc_ino=1
{
	newc_entry dev $((8#040755)) 2 0 0
	newc_entry dev/console $((8#020600)) 1 5 1
	newc_entry 'TRAILER!!!' 0 1 0 0
} >"$out/console.cpio"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet >"$out/initramfs.cpio") || die "cpio failed"
cat "$out/console.cpio" "$out/initramfs.cpio" | gzip -9n >"$img.tmp"
rm -f "$out/console.cpio" "$out/initramfs.cpio"
mv -f "$img.tmp" "$img"
printf '%s\n' "$manifest" >"$out/.initramfs.manifest"
step "done: $(du -k "$img" | cut -f1) KiB initramfs, kernel $kver"

#!/usr/bin/env bash
# capture-kernel-trace.sh - record real slab-shrinker traces from a stock Debian kernel.
#
# Boots a Debian linux-image package under qemu (software emulation, TCG) with a
# busybox initramfs, turns on the vmscan tracepoints, runs a memory-pressure
# workload and writes the ftrace `trace_pipe` text, xz-compressed, to one file.
# Everything comes from Debian packages: the kernel (apt-get download + dpkg -x,
# nothing is installed into /boot), busybox-static, qemu-system-x86, kmod,
# e2fsprogs, cpio, xz-utils and gcc/libc6-dev for the static helper
# scripts/rlwork.c.  Missing host packages are installed with apt-get (as root).
#
# Usage:
#   scripts/capture-kernel-trace.sh [options]
#
# Options:
#   -k, --kernel 6.1|6.12   kernel flavour (default 6.12): the newest
#                           linux-image-6.1.0-N-amd64-unsigned or
#                           linux-image-6.12.N+deb12-amd64-unsigned apt knows of
#   -p, --package NAME      use this exact Debian kernel package instead (the
#                           signed image name, without -unsigned, works too)
#   -m, --mem SIZE          guest memory, qemu syntax (default 512M)
#   -c, --cpus N            guest CPUs (default 2)
#   -o, --output PATH       output file (default: reclaimlab/data/traces/
#                           debian-<flavour>-<upstream version>-<mem>-<cpus>cpu.trace.xz
#                           in the repository)
#   -w, --workdir DIR       scratch directory, reused as a download/build cache
#                           (default /tmp/rl-capture); keep it out of the repo
#       --no-lru            leave out mm_vmscan_lru_shrink_inactive (smaller file)
#       --append ARGS       extra kernel command line, e.g. no_hash_pointers
#       --timeout SECONDS   kill qemu after this long (default 1800)
#   Workload sizes (defaults suit 512M):
#       --files N           ext4 files stat()ed in phase 1 (default 60000)
#       --neg N             negative dentries per phase (default 200000)
#       --big MB            size of the file read into the page cache (default 300)
#       --hog MB            anonymous memory touched in phase 1 (default 900)
#       --zram MB           zram swap size, 0 = no swap (default 256)
#       --memcg-max MB      memory.max of the phase-2 cgroup (default 96)
#       --memcg-read MB     how much of the large file is read inside the cgroup
#                           (default 128; 0 = all of it)
#       --memcg-files N     files created inside the cgroup (default 20000)
#       --memcg-hog MB      anonymous memory touched inside the cgroup (default 160)
#   -h, --help              show this help
#
# Workload (guest /init, written by this script):
#   phase 1, global reclaim: stat N ext4 files (icache/dcache), create negative
#     dentries, read a large file (page cache), walk /sys and /proc (kernfs and
#     proc inodes), then an anonymous hog bigger than RAM plus zram swap
#     (kswapd and direct reclaim down to low priorities; the hog ends OOM-killed);
#   phase 2, memcg reclaim: the same inside a cgroup v2 group with memory.max,
#     page cache first, then creating files while the group is full (ext4
#     allocates inodes with GFP_NOFS); each step is its own process in the group;
#   phase 3: sync, drop_caches=2 then 3 (shrink_slab at priority 0).
#   Each step is announced in the trace by a tracing_mark_write line "rl: ...".
#   Before poweroff the guest waits until every per-CPU ring buffer is drained,
#   and the host checks that no event was lost.
#
# Output: trace_pipe text.  The first lines start with '#' and record the package,
# qemu, memory, CPUs, workload, date and per-CPU buffer statistics; every other
# line is one ftrace event.  The file is written to a temporary name and renamed.
#
# Only one capture runs at a time (flock on /tmp/reclaimlab-capture.lock).  On 2
# host cores qemu runs for 1.5-4 minutes; the first run in a work dir also
# downloads the kernel (~110 MB) and builds the disk image.
#
# The files in reclaimlab/data/traces were made with (see reclaimlab/data/traces/README.md):
#   scripts/capture-kernel-trace.sh -k 6.1 -p linux-image-6.1.0-56-amd64-unsigned --no-lru
#   scripts/capture-kernel-trace.sh -k 6.12 -p linux-image-6.12.117+deb12-amd64-unsigned
set -euo pipefail

PROG=$(basename "$0")
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
ORIG_ARGS="$*"

# shellcheck source=lib/cli.sh
. "$SCRIPT_DIR/lib/cli.sh"

# ---------------------------------------------------------------- options
FLAVOUR=6.12 PACKAGE= MEM=512M CPUS=2 OUTPUT= WORK=/tmp/rl-capture
LRU=1 APPEND= TIMEOUT=1800
FILES=60000 NEG=200000 BIG_MB=300 HOG_MB=900 ZRAM_MB=256
MEMCG_MAX_MB=96 MEMCG_READ_MB=128 MEMCG_FILES=20000 MEMCG_HOG_MB=160

while [ $# -gt 0 ]; do
    case $1 in
        -k|--kernel)    need_arg "$@"; FLAVOUR=$2; shift 2 ;;
        -p|--package)   need_arg "$@"; PACKAGE=$2; shift 2 ;;
        -m|--mem)       need_arg "$@"; MEM=$2; shift 2 ;;
        -c|--cpus)      need_arg "$@"; CPUS=$2; shift 2 ;;
        -o|--output)    need_arg "$@"; OUTPUT=$2; shift 2 ;;
        -w|--workdir)   need_arg "$@"; WORK=$2; shift 2 ;;
        --no-lru)       LRU=0; shift ;;
        --append)       need_arg "$@"; APPEND=$2; shift 2 ;;
        --timeout)      need_arg "$@"; TIMEOUT=$2; shift 2 ;;
        --files)        need_arg "$@"; FILES=$2; shift 2 ;;
        --neg)          need_arg "$@"; NEG=$2; shift 2 ;;
        --big)          need_arg "$@"; BIG_MB=$2; shift 2 ;;
        --hog)          need_arg "$@"; HOG_MB=$2; shift 2 ;;
        --zram)         need_arg "$@"; ZRAM_MB=$2; shift 2 ;;
        --memcg-max)    need_arg "$@"; MEMCG_MAX_MB=$2; shift 2 ;;
        --memcg-read)   need_arg "$@"; MEMCG_READ_MB=$2; shift 2 ;;
        --memcg-files)  need_arg "$@"; MEMCG_FILES=$2; shift 2 ;;
        --memcg-hog)    need_arg "$@"; MEMCG_HOG_MB=$2; shift 2 ;;
        -h|--help)      usage; exit 0 ;;
        *)              die "unknown argument '$1' (see --help)" ;;
    esac
done

case $FLAVOUR in
    6.1)  PKG_RE='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
    6.12) PKG_RE='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
    *)    die "--kernel must be 6.1 or 6.12, not '$FLAVOUR'" ;;
esac
[[ $MEM =~ ^[0-9]+[MG]$ ]] || die "--mem must look like 512M or 1G, not '$MEM'"
is_uint "$CPUS" && [ "$CPUS" -ge 1 ] || die "--cpus must be a positive integer, not '$CPUS'"
for ov in timeout:TIMEOUT files:FILES neg:NEG big:BIG_MB hog:HOG_MB zram:ZRAM_MB memcg-max:MEMCG_MAX_MB \
          memcg-read:MEMCG_READ_MB memcg-files:MEMCG_FILES memcg-hog:MEMCG_HOG_MB; do
    v=${ov#*:}
    is_uint "${!v}" || die "--${ov%%:*} must be a non-negative integer, not '${!v}'"
done
[ "$FILES" -ge 1 ] || die "--files must be at least 1"
[ "$MEMCG_MAX_MB" -ge 16 ] || die "--memcg-max below 16 MB would OOM the guest shell"
case $WORK in "$REPO"|"$REPO"/*) die "--workdir $WORK is inside the repository; use e.g. /tmp/rl-capture" ;; esac
# --package may also name the signed image (same kernel, without the -unsigned suffix)
[ -z "$PACKAGE" ] || [[ $PACKAGE =~ $PKG_RE ]] || [[ $PACKAGE-unsigned =~ $PKG_RE ]] \
    || die "--package '$PACKAGE' is not a $FLAVOUR amd64 kernel image (pass -k 6.1 or -k 6.12 to match it)"

# ---------------------------------------------------------------- host packages
# command (or file) -> Debian package that provides it
declare -A PROVIDER=(
    [qemu-system-x86_64]=qemu-system-x86 [mkfs.ext4]=e2fsprogs [depmod]=kmod
    [cpio]=cpio [xz]=xz-utils [gcc]=gcc [flock]=util-linux [dpkg-deb]=dpkg
    [apt-get]=apt [timeout]=coreutils [sha256sum]=coreutils
)
MISSING=()
for c in "${!PROVIDER[@]}"; do
    command -v "$c" >/dev/null 2>&1 || [ -x "/sbin/$c" ] || [ -x "/usr/sbin/$c" ] || MISSING+=("${PROVIDER[$c]}")
done
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || MISSING+=(libc6-dev)
if [ ${#MISSING[@]} -gt 0 ]; then
    mapfile -t MISSING < <(printf '%s\n' "${MISSING[@]}" | sort -u)
    [ "$(id -u)" = 0 ] || die "missing host packages: ${MISSING[*]} (run as root, or: apt-get install ${MISSING[*]})"
    say "installing host packages: ${MISSING[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${MISSING[@]}" >&2 \
        || die "apt-get install ${MISSING[*]} failed (try 'apt-get update' first)"
fi
DEPMOD=$(command -v depmod || echo /sbin/depmod)
[ -e /dev/kvm ] && say "note: not using /dev/kvm; stock kernels need TCG on this kind of host"

# ---------------------------------------------------------------- work dir, lock
mkdir -p "$WORK"/{debs,kernels,run} || die "cannot create work dir $WORK"
WORK=$(cd "$WORK" && pwd)
# apt-get download as root warns when the _apt user cannot write the target directory
if id _apt >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then chown _apt "$WORK/debs" 2>/dev/null || true; fi
LOCK=/tmp/reclaimlab-capture.lock
exec 9>"$LOCK" || die "cannot open lock file $LOCK"
if ! flock -n 9; then
    say "another capture is running (lock $LOCK); waiting for it"
    flock 9
fi

# fetch_deb PACKAGE -> prints the path of the .deb of apt's candidate version
fetch_deb() {
    local pkg=$1 ver deb
    ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
    [ -n "$ver" ] || die "apt knows no package '$pkg' (run 'apt-get update'; is the archive reachable?)"
    for deb in "$WORK/debs/${pkg}"_*.deb; do
        [ -f "$deb" ] && [ "$(dpkg-deb -f "$deb" Version)" = "$ver" ] && { echo "$deb"; return; }
    done
    say "downloading $pkg $ver"
    (cd "$WORK/debs" && apt-get download "$pkg=$ver" >&2) || die "apt-get download $pkg=$ver failed"
    for deb in "$WORK/debs/${pkg}"_*.deb; do
        [ -f "$deb" ] && [ "$(dpkg-deb -f "$deb" Version)" = "$ver" ] && { echo "$deb"; return; }
    done
    die "downloaded $pkg but cannot find its .deb in $WORK/debs"
}

# ---------------------------------------------------------------- kernel
if [ -z "$PACKAGE" ]; then
    PACKAGE=$(apt-cache pkgnames linux-image- | grep -E "$PKG_RE" | sort -V | tail -1 || true)
    [ -n "$PACKAGE" ] || die "no package matching $PKG_RE in the apt lists (run 'apt-get update')"
fi
KDEB=$(fetch_deb "$PACKAGE")
KVER_DEB=$(dpkg-deb -f "$KDEB" Version)
KSHA=$(sha256sum "$KDEB" | cut -d' ' -f1)
KROOT=$WORK/kernels/${PACKAGE}_$KVER_DEB
if [ ! -f "$KROOT/.unpacked" ]; then
    rm -rf "$KROOT"; mkdir -p "$KROOT"
    dpkg -x "$KDEB" "$KROOT" || die "dpkg -x $KDEB failed"
    touch "$KROOT/.unpacked"
fi
KV=$(ls "$KROOT/lib/modules" 2>/dev/null | head -1)
[ -n "$KV" ] || die "$PACKAGE has no lib/modules/<version> directory"
VMLINUZ=$KROOT/boot/vmlinuz-$KV
[ -f "$VMLINUZ" ] || die "$PACKAGE has no boot/vmlinuz-$KV"
MDIR=$KROOT/lib/modules/$KV
[ -f "$MDIR/modules.dep" ] || "$DEPMOD" -b "$KROOT" "$KV" || die "depmod for $KV failed"
UPSTREAM=${KVER_DEB%%-*}
say "kernel $KV from $PACKAGE $KVER_DEB"

# ---------------------------------------------------------------- busybox, rlwork
BBDEB=$(fetch_deb busybox-static)
BBVER=$(dpkg-deb -f "$BBDEB" Version)
BB=$WORK/busybox-$BBVER
if [ ! -x "$BB" ]; then
    rm -rf "$WORK/bb"; dpkg -x "$BBDEB" "$WORK/bb" || die "dpkg -x $BBDEB failed"
    cp "$WORK/bb/bin/busybox" "$BB"; rm -rf "$WORK/bb"
fi
RLWORK=$WORK/rlwork
[ -f "$SCRIPT_DIR/rlwork.c" ] || die "missing $SCRIPT_DIR/rlwork.c (the guest pressure helper)"
if [ ! -x "$RLWORK" ] || [ "$SCRIPT_DIR/rlwork.c" -nt "$RLWORK" ]; then
    gcc -O2 -Wall -static -o "$RLWORK" "$SCRIPT_DIR/rlwork.c" || die "gcc -static rlwork.c failed (libc6-dev installed?)"
fi

# ---------------------------------------------------------------- initramfs
IR=$WORK/run/initramfs
rm -rf "$IR"; mkdir -p "$IR"/{bin,sbin,etc,proc,sys,dev,tmp,mnt,run,lib/modules/"$KV"}
cp "$BB" "$IR/bin/busybox"; cp "$RLWORK" "$IR/bin/rlwork"

# modules the guest needs, with their dependencies (whatever is built in is skipped);
# copied decompressed so busybox modprobe can load them, then indexed with depmod
WANTED="virtio_pci virtio_blk virtio_console crc32c_generic crc32c-intel ext4 zram"
LOADABLE=()
copy_mod() {  # path relative to $MDIR
    local rel=$1 dst
    dst=$IR/lib/modules/$KV/${rel%.xz}; dst=${dst%.zst}
    [ -f "$dst" ] && return 0
    mkdir -p "$(dirname "$dst")"
    case $rel in
        *.xz)  xz -dc "$MDIR/$rel" > "$dst" ;;
        *.zst) zstd -qdc "$MDIR/$rel" > "$dst" || die "need zstd to unpack $rel (apt-get install zstd)" ;;
        *)     cp "$MDIR/$rel" "$dst" ;;
    esac
}
for m in $WANTED; do
    line=$(grep -E "(^|/)$m\.ko(\.xz|\.zst)?:" "$MDIR/modules.dep" || true)
    if [ -z "$line" ]; then
        grep -qE "(^|/)$m\.ko$" "$MDIR/modules.builtin" 2>/dev/null || say "note: module $m neither loadable nor built in"
        continue
    fi
    for dep in ${line#*:}; do copy_mod "$dep"; done
    copy_mod "${line%%:*}"
    LOADABLE+=("$m")
done
cp "$MDIR"/modules.builtin* "$MDIR"/modules.order "$IR/lib/modules/$KV/" 2>/dev/null || true
"$DEPMOD" -b "$IR" "$KV" || die "depmod on the initramfs failed"

EVENTS="mm_shrink_slab_start mm_shrink_slab_end mm_vmscan_direct_reclaim_begin mm_vmscan_direct_reclaim_end"
EVENTS+=" mm_vmscan_memcg_reclaim_begin mm_vmscan_memcg_reclaim_end mm_vmscan_kswapd_wake mm_vmscan_kswapd_sleep"
[ "$LRU" = 1 ] && EVENTS+=" mm_vmscan_lru_shrink_inactive"

cat > "$IR/etc/rl.conf" <<EOF
RL_MODULES="${LOADABLE[*]}"
RL_EVENTS="$EVENTS"
FILES=$FILES
NEG=$NEG
HOG_MB=$HOG_MB
ZRAM_MB=$ZRAM_MB
MEMCG_MAX_MB=$MEMCG_MAX_MB
MEMCG_READ_MB=$MEMCG_READ_MB
MEMCG_FILES=$MEMCG_FILES
MEMCG_HOG_MB=$MEMCG_HOG_MB
EOF

# The guest's /init.  Runs as PID 1 under busybox sh; talks to the host through
# ttyS0 (log lines "RL[uptime] ...") and /dev/hvc0 (the trace itself).
cat > "$IR/init" <<'EOF'
#!/bin/busybox sh
# /init of the reclaimlab capture guest (generated by scripts/capture-kernel-trace.sh)
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
. /etc/rl.conf
T=/sys/kernel/tracing
log() { echo "RL[$(cut -d' ' -f1 /proc/uptime)] $*"; }
die() { log "FAIL: $*"; [ -n "$TRACE_FD" ] && echo "# rl: FAIL $*" >&3; sleep 1; poweroff -f; }
mark() { log "$*"; echo "rl: $*" > $T/trace_marker; }
meminfo() { grep -E '^(MemFree|Cached|SReclaimable|SwapFree):' /proc/meminfo | tr -s ' ' | tr '\n' ' '; }

echo /bin/modprobe > /proc/sys/kernel/modprobe
for m in $RL_MODULES; do modprobe "$m" || log "modprobe $m failed"; done
i=0; while [ ! -c /dev/hvc0 ] || [ ! -b /dev/vda ]; do
    i=$((i + 1)); [ $i -gt 100 ] && die "no /dev/hvc0 or /dev/vda after 10 s"; sleep 0.1
done
exec 3>/dev/hvc0; TRACE_FD=3
stty -F /dev/hvc0 raw -echo 2>/dev/null
mount -t ext4 /dev/vda /mnt || die "cannot mount the ext4 image"
if [ "$ZRAM_MB" != 0 ]; then
    [ -e /sys/block/zram0 ] || die "no zram0 device"
    echo "${ZRAM_MB}M" > /sys/block/zram0/disksize && mkswap /dev/zram0 > /dev/null && swapon /dev/zram0 \
        || die "zram swap setup failed"
fi
mount -t tracefs tracefs $T || die "cannot mount tracefs"

echo 0 > $T/tracing_on
echo > $T/trace
echo 16384 > $T/buffer_size_kb
for e in $RL_EVENTS; do
    echo 1 > $T/events/vmscan/$e/enable || die "cannot enable vmscan/$e"
done
{
    echo "# guest: kernel $(uname -r) $(uname -v)"
    echo "# guest: cmdline $(cat /proc/cmdline)"
    echo "# guest: $(grep MemTotal /proc/meminfo | tr -s ' '), cpus $(grep -c ^processor /proc/cpuinfo), nodes $(ls -d /sys/devices/system/node/node[0-9]* | wc -l)"
    echo "# guest: lru_gen/enabled $(cat /sys/kernel/mm/lru_gen/enabled 2>/dev/null || echo n/a), thp $(cat /sys/kernel/mm/transparent_hugepage/enabled), zram ${ZRAM_MB}M comp $(cat /sys/block/zram0/comp_algorithm 2>/dev/null || echo n/a)"
    echo "# guest: trace_clock $(tr ' ' '\n' < $T/trace_clock | grep '^\['), buffer_size_kb $(cat $T/buffer_size_kb); events $(sed 's/^vmscan://' $T/set_event | tr '\n' ' ')"
} >&3
cat $T/trace_pipe >&3 &
READER=$!
echo 1 > $T/tracing_on
log "tracing: $(cat $T/set_event | tr '\n' ' ')"

# phase 1: global reclaim
mark "phase 1 (global): stat $FILES ext4 files"; rlwork stat /mnt/files "$FILES"
mark "phase 1 (global): $NEG negative dentries"; mkdir -p /mnt/neg; rlwork neg /mnt/neg "$NEG"
mark "phase 1 (global): read /mnt/big"; rlwork read /mnt/big
mark "phase 1 (global): walk /sys and /proc"
find /sys /proc/sys > /dev/null 2>&1; ls -lR /proc/[0-9]*/ > /dev/null 2>&1
log "before hog: $(meminfo)"
mark "phase 1 (global): anon hog $HOG_MB MB"; rlwork hog "$HOG_MB" 16 20 || log "hog exited with status $? (137 = OOM-killed)"
log "after hog: $(meminfo)"

# phase 2: the same inside a memory-limited cgroup v2 group
mount -t cgroup2 cgroup2 /sys/fs/cgroup || die "cannot mount cgroup2"
echo +memory > /sys/fs/cgroup/cgroup.subtree_control || die "no memory controller"
mkdir /sys/fs/cgroup/rl && echo "${MEMCG_MAX_MB}M" > /sys/fs/cgroup/rl/memory.max || die "cannot create memcg rl"
# every step runs as its own process inside rl, so an OOM kill there ends only that step
incg() {
    sh -c 'echo 0 > /sys/fs/cgroup/rl/cgroup.procs || exit 99; exec "$@"' incg "$@"
    rc=$?
    [ $rc = 99 ] && die "cannot move a task into memcg rl"
    [ $rc = 0 ] || log "in memcg rl: '$*' exited with status $rc"
}
mkdir -p /mnt/new /mnt/neg2
P2="phase 2 (memcg rl, memory.max=${MEMCG_MAX_MB}M)"
mark "$P2: read /mnt/big (${MEMCG_READ_MB} MB, 0 = all)"; incg rlwork read /mnt/big "$MEMCG_READ_MB"
mark "$P2: create $MEMCG_FILES files"; incg rlwork mk /mnt/new "$MEMCG_FILES"
mark "$P2: $NEG negative dentries"; incg rlwork neg /mnt/neg2 "$NEG"
mark "$P2: stat $FILES ext4 files"; incg rlwork stat /mnt/files "$FILES"
mark "$P2: anon hog $MEMCG_HOG_MB MB"; incg rlwork hog "$MEMCG_HOG_MB" 8 20
log "memcg rl memory.events: $(tr '\n' ' ' < /sys/fs/cgroup/rl/memory.events)"

# phase 3: drop_caches (drop_slab: shrink_slab at priority 0)
sync
mark "phase 3: drop_caches=2"; echo 2 > /proc/sys/vm/drop_caches
mark "phase 3: drop_caches=3"; echo 3 > /proc/sys/vm/drop_caches
mark "end of workload"
echo 0 > $T/tracing_on

# drain: wait until the reader has consumed every buffered event
i=0; while [ $i -lt 1200 ]; do
    n=0; for c in $T/per_cpu/cpu*; do n=$((n + $(sed -n 's/^entries: //p' $c/stats))); done
    [ "$n" = 0 ] && break
    sleep 1; i=$((i + 1))
done
# trace_pipe returns EOF once tracing is off and the buffers are empty, so the
# reader exits by itself when it has passed everything on
j=0; while kill -0 $READER 2>/dev/null && [ $j -lt 30 ]; do sleep 1; j=$((j + 1)); done
kill $READER 2>/dev/null && { sleep 1; log "reader did not exit; killed it"; }
log "buffers drained after ${i}s ($n entries left), reader done after ${j}s more"
for c in $T/per_cpu/cpu*; do
    echo "# guest: buffer $(basename $c): $(grep -E '^(entries|overrun|commit overrun|dropped events|read events):' $c/stats | tr '\n' ' ')" >&3
done
echo "# guest: memcg rl memory.events: $(tr '\n' ' ' < /sys/fs/cgroup/rl/memory.events)" >&3
echo "# guest: vmstat $(grep -E '^(pgscan_(kswapd|direct)|pgsteal_(kswapd|direct)|slabs_scanned|allocstall_[a-z0-9]*|pageoutrun|oom_kill|pswpout|drop_slab) ' /proc/vmstat | tr '\n' ' ')" >&3
echo "# rl: end drained=$n" >&3
log "done"
sleep 1
poweroff -f
EOF
chmod +x "$IR/init"
INITRD=$WORK/run/initramfs.cpio.gz
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD" || die "cannot build the initramfs"

# ---------------------------------------------------------------- ext4 image
# files/dNNN/fNNNNNNN, 1000 per directory (the layout rlwork expects; mkfs.ext4 -d
# is quadratic in the size of one directory, so 60000 files in one take many minutes)
DISK=$WORK/disk-f$FILES-d1000-b$BIG_MB.img
if [ ! -f "$DISK" ]; then
    say "building ext4 image ($FILES empty files + a ${BIG_MB} MB sparse file)"
    rm -rf "$WORK/diskroot"; mkdir -p "$WORK/diskroot/files"
    for ((d = 0; d * 1000 < FILES; d++)); do
        sub=$(printf '%s/diskroot/files/d%03d' "$WORK" "$d"); mkdir "$sub"
        last=$(( (d + 1) * 1000 < FILES ? (d + 1) * 1000 - 1 : FILES - 1 ))
        (cd "$sub" && seq -f 'f%07g' $((d * 1000)) "$last" | xargs touch)
    done
    truncate -s "${BIG_MB}M" "$WORK/diskroot/big"
    SIZE_MB=$((BIG_MB + 700))
    truncate -s "${SIZE_MB}M" "$DISK.tmp"
    mkfs.ext4 -q -F -N $((FILES + MEMCG_FILES + 20000)) -d "$WORK/diskroot" "$DISK.tmp" \
        || { rm -f "$DISK.tmp"; die "mkfs.ext4 -d failed (e2fsprogs too old?)"; }
    mv "$DISK.tmp" "$DISK"; rm -rf "$WORK/diskroot"
fi
RUNDISK=$WORK/run/disk.img
cp --sparse=always "$DISK" "$RUNDISK"

# ---------------------------------------------------------------- boot
RAW=$WORK/run/trace.raw
CONSOLE=$WORK/run/console.log
rm -f "$RAW" "$CONSOLE"
QEMU_VERSION=$(qemu-system-x86_64 --version | head -1)
QEMU_DEB=$(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null || echo unknown)
CMDLINE="console=ttyS0 panic=-1 quiet loglevel=4${APPEND:+ $APPEND}"
QEMU=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$MEM" -smp "$CPUS"
      -nographic -no-reboot -kernel "$VMLINUZ" -initrd "$INITRD" -append "$CMDLINE"
      -drive "file=$RUNDISK,if=virtio,format=raw"
      -device virtio-serial-pci -chardev "file,id=rltrace,path=$RAW" -device virtconsole,chardev=rltrace)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
say "booting $KV under qemu TCG: $MEM, $CPUS CPUs (console: $CONSOLE)"
T0=$(date +%s)
rc=0; timeout "$TIMEOUT" "${QEMU[@]}" < /dev/null > "$CONSOLE" 2>&1 || rc=$?
WALL=$(( $(date +%s) - T0 ))
[ "$rc" = 124 ] && die "qemu did not finish within ${TIMEOUT}s; see $CONSOLE"
[ "$rc" = 0 ] || die "qemu exited with status $rc; see $CONSOLE"
grep -a 'RL\[.*FAIL' "$CONSOLE" >&2 && die "the guest workload failed; see $CONSOLE"
[ -s "$RAW" ] || die "the guest wrote no trace; see $CONSOLE"
tr -d '\r' < "$RAW" > "$RAW.lf" && mv "$RAW.lf" "$RAW"
grep -q '^# rl: end drained=0$' "$RAW" || die "trace incomplete (no clean end marker); see $CONSOLE and $RAW"

# every event the ring buffers handed out must have arrived
NEV=$(grep -vc '^#' "$RAW" || true)
buffer_sum() {  # sum a per-CPU ring-buffer statistic over the "# guest: buffer" lines
    awk -v k="$1: " '/^# guest: buffer /{ i = index($0, k); if (i) t += substr($0, i + length(k)) + 0 }
                     END { print t + 0 }' "$RAW"
}
[ "$(grep -c '^# guest: buffer ' "$RAW")" -ge 1 ] || die "the guest reported no ring-buffer statistics"
LOST=$(( $(buffer_sum overrun) + $(buffer_sum 'commit overrun') + $(buffer_sum 'dropped events') ))
READ=$(buffer_sum 'read events')
[ "$LOST" = 0 ] || die "the ring buffers lost $LOST events; try a smaller workload or --no-lru"
[ "$NEV" = "$READ" ] || die "received $NEV events but the guest's ring buffers handed out $READ"
NSTART=$(grep -c ' mm_shrink_slab_start: ' "$RAW" || true)
[ "$NSTART" -gt 0 ] || die "the trace holds no mm_shrink_slab_start event; see $CONSOLE"

# ---------------------------------------------------------------- write output
if [ -z "$OUTPUT" ]; then
    OUTPUT=$REPO/reclaimlab/data/traces/debian-$FLAVOUR-$UPSTREAM-$MEM-${CPUS}cpu.trace.xz
fi
OUTDIR=$(dirname "$OUTPUT")
mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
TMP=$(mktemp "$OUTDIR/.$(basename "$OUTPUT").XXXXXX") || die "cannot write in $OUTDIR"
trap 'rm -f "$TMP"' EXIT
{
    echo "# reclaimlab kernel shrinker trace: ftrace trace_pipe text, one event per line after these '#' lines"
    echo "# kernel: $KV from Debian package $PACKAGE $KVER_DEB (sha256 of .deb $KSHA)"
    echo "# machine: $QEMU_VERSION [qemu-system-x86 $QEMU_DEB], -accel tcg,thread=multi -cpu max, memory $MEM, cpus $CPUS; busybox-static $BBVER"
    echo "# workload: phase 1 (global): stat $FILES ext4 files, $NEG negative dentries, read a ${BIG_MB} MB file, walk /sys /proc, anon hog ${HOG_MB} MB with ${ZRAM_MB} MB zram swap;" \
         "phase 2 (cgroup v2 memcg rl, memory.max ${MEMCG_MAX_MB}M): read $MEMCG_READ_MB MB (0 = all) of the large file, create $MEMCG_FILES files, $NEG negative dentries, stat the $FILES files, anon hog ${MEMCG_HOG_MB} MB;" \
         "phase 3: drop_caches=2 then 3; steps marked by 'rl: ...' tracing_mark_write lines"
    echo "# captured: $DATE, ${WALL}s wall, by: scripts/capture-kernel-trace.sh $ORIG_ARGS"
    grep '^# guest: ' "$RAW"
    grep -v '^#' "$RAW"
} | xz -9 -T1 > "$TMP" || die "writing $TMP failed"
xz -t "$TMP" || die "xz -t failed on $TMP"
chmod 0644 "$TMP"
mv -f "$TMP" "$OUTPUT"
trap - EXIT

SIZE_KB=$(( ($(stat -c %s "$OUTPUT") + 1023) / 1024 ))
say "wrote $OUTPUT (${SIZE_KB} KB, $NEV events, ${WALL}s in qemu)"
# event counts: the event name is the field after the "seconds.micros:" timestamp
grep -v '^#' "$RAW" | awk '{ for (i = 1; i < NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { e = $(i + 1); sub(/:$/, "", e); n[e]++; break } }
    END { for (e in n) printf "    %7d %s\n", n[e], e }' | sort -k2 >&2
[ "$SIZE_KB" -le 400 ] || say "warning: ${SIZE_KB} KB is above the ~400 KB wanted for reclaimlab/data/traces; try --no-lru or a smaller workload"

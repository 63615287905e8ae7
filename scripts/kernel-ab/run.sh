#!/usr/bin/env bash
# run.sh - build Linux 6.1 from Debian's source with do_shrink_slab() variants
# and capture real shrinker traces of one workload on each, under qemu (TCG).
#
# Usage:
#   scripts/kernel-ab/run.sh [options]
#
#   Builds a small built-in-only x86_64 kernel (config: scripts/kernel-ab/
#   config.fragment on top of allnoconfig) from the linux-source-6.1 package,
#   once stock and once per variant, then boots each under qemu-system-x86_64
#   (-accel tcg) with a busybox initramfs, runs the workload of guest-init.sh
#   and writes, per kernel, into the output directory:
#     kernel-ab-6.1.<N>-<variant>-<mem>-<cpus>cpu.trace.xz    ftrace trace_pipe text
#     kernel-ab-6.1.<N>-<variant>-<mem>-<cpus>cpu.samples.xz  vmstat/slabinfo samples
#   plus build-times.txt (seconds per build, or 'cached' when an image built
#   from the same config, patch and source was reused) and run-summary.txt.
#
# Options:
#   --patch FILE        your own do_shrink_slab patch (patch -p1 against the
#                       kernel source top directory); built and run beside
#                       the --variants (name: --name, default: the file name
#                       without .patch)
#   --name NAME         variant name for --patch (letters, digits, '-', '_')
#   --variants LIST     comma-separated built-in variants (default stock,floor,rik):
#                         stock  Debian's 6.1 as is
#                         floor  + the 172b06c32b94 floor (patches/floor.patch)
#                         rik    + Rik van Riel's small_scan accumulator (patches/rik.patch)
#                       stock is always built (the shared tree starts from it);
#                       it is only run when listed.  An empty list runs only --patch.
#   -o, --output DIR    where the captures go (default: ./kernel-ab-out); must
#                       not exist or be a directory; files are written atomically
#   -w, --workdir DIR   source, object tree, ccache, disk images, logs
#                       (default /work/kbuild; must be outside the repository)
#   -m, --mem SIZE      guest memory (default 512M)
#   -c, --cpus N        guest CPUs (default 1: with one CPU and the config's
#                       PREEMPT_NONE no two do_shrink_slab() calls interleave,
#                       so Rik's per-shrinker accumulator, a plain int, loses no
#                       update and its trace replays exactly; with 2 CPUs races
#                       lose updates now and then)
#   -j, --jobs N        make -j (default: number of host CPUs)
#       --timeout SEC   kill qemu after this long (default 900)
#       --no-samples    do not write the .samples.xz files
#       --build-only    build the kernels (and record build times), run nothing
#       --nice N        niceness of the compiles and of qemu (default 19)
#   Workload sizes (defaults suit 512M; see docs/kernel-ab.md):
#       --files N       files of the big ext4 tree, stat()ed each round (default 60000)
#       --small N       files of the small ext4 tree (default 300)
#       --tiny N        files on the small tmpfs (default 100)
#       --neg N         negative dentries per round (default 20000)
#       --big MB        size of the streamed file (default 640)
#       --write MB      streamed write per round (default 64)
#       --rounds N      global rounds (default 2)
#       --memcg-max MB  memory.max of the memcg (default 64)
#       --memcg-rounds N (default 2)  --memcg-read MB (default 256)
#       --memcg-files N files created per memcg round (default 3000)
#       --memcg-small N small-ext4 files stat()ed inside the memcg (default 200)
#   -h, --help          show this help
#
# Example (your own patch against all three):
#   sudo scripts/kernel-ab/run.sh --patch my-shrink.patch -o /tmp/ab
#
# Needs root for apt-get (missing host packages are installed: qemu-system-x86,
# busybox-static, linux-source-6.1, bc bison flex libelf-dev libssl-dev cpio
# xz-utils ccache gcc make e2fsprogs libc6-dev).  Compiles and qemu run under
# `nice -n 19` (--nice).  Measured on 2 cores (docs/kernel-ab.md): the first
# build takes ~8.5 min (~3.5 min with a warm ccache); a variant that only touches
# mm/vmscan.c rebuilds in ~15 s; each guest run takes 1-1.5 min.
# Only one run.sh works at a time per work dir (flock).
set -euo pipefail

PROG=kernel-ab/run.sh
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
ORIG_ARGS="$*"

# shellcheck source=lib/cli.sh
. "$SCRIPT_DIR/../lib/cli.sh"

# ---------------------------------------------------------------- options
USER_PATCH= USER_NAME= VARIANTS=stock,floor,rik OUT=./kernel-ab-out WORK=/work/kbuild
MEM=512M CPUS=1 JOBS=$(nproc) TIMEOUT=900 SAMPLES=1 BUILD_ONLY=0 NICE=19
FILES=60000 SMALL=300 TINY=100 NEG=20000 BIG_MB=640 WRITE_MB=64 ROUNDS=2
MEMCG_MAX_MB=64 MEMCG_ROUNDS=2 MEMCG_READ_MB=256 MEMCG_FILES=3000 MEMCG_SMALL=200

while [ $# -gt 0 ]; do
    case $1 in
        --patch)        need_arg "$@"; USER_PATCH=$2; shift 2 ;;
        --name)         need_arg "$@"; USER_NAME=$2; shift 2 ;;
        --variants)     [ $# -ge 2 ] || die "--variants needs a value"; VARIANTS=$2; shift 2 ;;
        -o|--output)    need_arg "$@"; OUT=$2; shift 2 ;;
        -w|--workdir)   need_arg "$@"; WORK=$2; shift 2 ;;
        -m|--mem)       need_arg "$@"; MEM=$2; shift 2 ;;
        -c|--cpus)      need_arg "$@"; CPUS=$2; shift 2 ;;
        -j|--jobs)      need_arg "$@"; JOBS=$2; shift 2 ;;
        --timeout)      need_arg "$@"; TIMEOUT=$2; shift 2 ;;
        --no-samples)   SAMPLES=0; shift ;;
        --build-only)   BUILD_ONLY=1; shift ;;
        --nice)         need_arg "$@"; NICE=$2; shift 2 ;;
        --files)        need_arg "$@"; FILES=$2; shift 2 ;;
        --small)        need_arg "$@"; SMALL=$2; shift 2 ;;
        --tiny)         need_arg "$@"; TINY=$2; shift 2 ;;
        --neg)          need_arg "$@"; NEG=$2; shift 2 ;;
        --big)          need_arg "$@"; BIG_MB=$2; shift 2 ;;
        --write)        need_arg "$@"; WRITE_MB=$2; shift 2 ;;
        --rounds)       need_arg "$@"; ROUNDS=$2; shift 2 ;;
        --memcg-max)    need_arg "$@"; MEMCG_MAX_MB=$2; shift 2 ;;
        --memcg-rounds) need_arg "$@"; MEMCG_ROUNDS=$2; shift 2 ;;
        --memcg-read)   need_arg "$@"; MEMCG_READ_MB=$2; shift 2 ;;
        --memcg-files)  need_arg "$@"; MEMCG_FILES=$2; shift 2 ;;
        --memcg-small)  need_arg "$@"; MEMCG_SMALL=$2; shift 2 ;;
        -h|--help)      usage; exit 0 ;;
        *)              die "unknown argument '$1' (see --help)" ;;
    esac
done

[[ $MEM =~ ^[0-9]+[MG]$ ]] || die "--mem must look like 512M or 1G, not '$MEM'"
for v in NICE CPUS JOBS TIMEOUT FILES SMALL TINY NEG BIG_MB WRITE_MB ROUNDS MEMCG_MAX_MB MEMCG_ROUNDS \
         MEMCG_READ_MB MEMCG_FILES MEMCG_SMALL; do
    is_uint "${!v}" || die "$v must be a non-negative integer, not '${!v}'"
done
[ "$CPUS" -ge 1 ] && [ "$JOBS" -ge 1 ] || die "--cpus and --jobs must be at least 1"
[ "$MEMCG_MAX_MB" -ge 16 ] || die "--memcg-max below 16 MB would OOM the guest shell"
[ "$FILES" -ge 1 ] && [ "$SMALL" -ge 1 ] && [ "$MEMCG_SMALL" -ge 1 ] || die "--files, --small and --memcg-small must be at least 1"
case $WORK in "$REPO"|"$REPO"/*) die "--workdir $WORK is inside the repository; use e.g. /work/kbuild" ;; esac

declare -A PATCHFILE=([stock]= [floor]=$SCRIPT_DIR/patches/floor.patch [rik]=$SCRIPT_DIR/patches/rik.patch)
RUN_LIST=()
IFS=, read -r -a _vs <<< "$VARIANTS"
for v in "${_vs[@]}"; do
    [ -z "$v" ] && continue
    [[ -v PATCHFILE[$v] ]] || die "unknown variant '$v' in --variants (known: stock, floor, rik)"
    [[ " ${RUN_LIST[*]} " == *" $v "* ]] || RUN_LIST+=("$v")
done
if [ -n "$USER_PATCH" ]; then
    [ -f "$USER_PATCH" ] && [ -r "$USER_PATCH" ] || die "--patch $USER_PATCH: no such readable file"
    USER_PATCH=$(cd "$(dirname "$USER_PATCH")" && pwd)/$(basename "$USER_PATCH")
    [ -n "$USER_NAME" ] || USER_NAME=$(basename "$USER_PATCH" .patch)
    [[ $USER_NAME =~ ^[A-Za-z0-9_-]+$ ]] || die "--name '$USER_NAME' may only hold letters, digits, '-' and '_'"
    [[ -v PATCHFILE[$USER_NAME] ]] && die "--name $USER_NAME clashes with a built-in variant; pass another --name"
    PATCHFILE[$USER_NAME]=$USER_PATCH
    RUN_LIST+=("$USER_NAME")
elif [ -n "$USER_NAME" ]; then
    die "--name only makes sense with --patch"
fi
[ ${#RUN_LIST[@]} -gt 0 ] || die "nothing to run: --variants is empty and there is no --patch"
for v in "${RUN_LIST[@]}"; do
    p=${PATCHFILE[$v]}
    [ -z "$p" ] || [ -f "$p" ] || die "missing patch file $p for variant $v"
done

# ---------------------------------------------------------------- host packages
declare -A PROVIDER=(
    [qemu-system-x86_64]=qemu-system-x86 [mkfs.ext4]=e2fsprogs [cpio]=cpio [xz]=xz-utils
    [gcc]=gcc [make]=make [bc]=bc [bison]=bison [flex]=flex [ccache]=ccache [flock]=util-linux
    [patch]=patch [timeout]=coreutils [sha256sum]=coreutils [perl]=perl [gzip]=gzip
)
MISSING=()
for c in "${!PROVIDER[@]}"; do
    command -v "$c" >/dev/null 2>&1 || [ -x "/sbin/$c" ] || [ -x "/usr/sbin/$c" ] || MISSING+=("${PROVIDER[$c]}")
done
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || MISSING+=(libc6-dev)
[ -e /usr/include/libelf.h ] || [ -e /usr/include/gelf.h ] || MISSING+=(libelf-dev)
[ -e /usr/include/openssl/ssl.h ] || MISSING+=(libssl-dev)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx poweroff \
    && dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || MISSING+=(busybox-static)
[ -f /usr/src/linux-source-6.1.tar.xz ] || MISSING+=(linux-source-6.1)
if [ ${#MISSING[@]} -gt 0 ]; then
    mapfile -t MISSING < <(printf '%s\n' "${MISSING[@]}" | sort -u)
    [ "$(id -u)" = 0 ] || die "missing host packages: ${MISSING[*]} (run as root, or: apt-get install ${MISSING[*]})"
    say "installing host packages: ${MISSING[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${MISSING[@]}" >&2 \
        || die "apt-get install ${MISSING[*]} failed (try 'apt-get update' first)"
fi
[ -f /usr/src/linux-source-6.1.tar.xz ] || die "/usr/src/linux-source-6.1.tar.xz missing after installing linux-source-6.1"

# ---------------------------------------------------------------- work dir, lock
mkdir -p "$WORK"/{kernels,logs,run,ccache,backup} || die "cannot create work dir $WORK"
WORK=$(cd "$WORK" && pwd)
exec 9>"$WORK/.run.lock" || die "cannot open $WORK/.run.lock"
flock -n 9 || { say "another run.sh uses $WORK; waiting for it"; flock 9; }
mkdir -p "$OUT" || die "cannot create output directory $OUT"
OUT=$(cd "$OUT" && pwd)

SRC=$WORK/linux-source-6.1 OBJ=$WORK/obj
export CCACHE_DIR=$WORK/ccache
SRCPKG_VER=$(dpkg-query -W -f '${Version}' linux-source-6.1)
if [ ! -f "$SRC/.reclaimlab-unpacked" ] || [ "$(cat "$SRC/.reclaimlab-unpacked")" != "$SRCPKG_VER" ]; then
    say "unpacking linux-source-6.1 $SRCPKG_VER into $SRC"
    rm -rf "$SRC" "$OBJ"
    tar -C "$WORK" -xaf /usr/src/linux-source-6.1.tar.xz || die "cannot unpack /usr/src/linux-source-6.1.tar.xz"
    [ -f "$SRC/Makefile" ] || die "the tarball did not give $SRC/Makefile"
    echo "$SRCPKG_VER" > "$SRC/.reclaimlab-unpacked"
fi
KV_UP=$(make -s -C "$SRC" kernelversion 2>/dev/null) || die "cannot read the kernel version of $SRC"

# A patch applied by an interrupted run is undone first: the touched files were
# saved in $WORK/backup/<variant>/ before it was applied.
restore_backup() {
    local b=$1 f
    [ -f "$b/.files" ] || { rm -rf "$b"; return 0; }
    while IFS= read -r f; do
        if [ -e "$b/tree/$f" ]; then cp "$b/tree/$f" "$SRC/$f"; else rm -f "$SRC/$f"; fi
        touch "$SRC/$f" 2>/dev/null || true   # new mtime: make must rebuild from it
    done < "$b/.files"
    rm -rf "$b"
}
for b in "$WORK"/backup/*/; do [ -d "$b" ] && { say "undoing a patch left applied by an interrupted run ($b)"; restore_backup "${b%/}"; }; done

# ---------------------------------------------------------------- config
FRAG=$SCRIPT_DIR/config.fragment
[ -f "$FRAG" ] || die "missing $FRAG"
FRAG_SHA=$(sha256sum "$FRAG" | cut -c1-16)
if [ ! -f "$OBJ/.config" ] || [ "$(cat "$OBJ/.reclaimlab-fragment" 2>/dev/null)" != "$FRAG_SHA" ]; then
    say "configuring $OBJ (allnoconfig + $FRAG)"
    mkdir -p "$OBJ"
    KCONFIG_ALLCONFIG=$FRAG make -C "$SRC" O="$OBJ" CC="ccache gcc" allnoconfig > "$WORK/logs/config.log" 2>&1 \
        || die "make allnoconfig failed; see $WORK/logs/config.log"
    # every option of the fragment must have been taken
    while IFS= read -r line; do
        [[ $line =~ ^CONFIG_ ]] || continue
        k=${line%%=*} val=${line#*=}
        if [ "$val" = n ]; then
            grep -q "^$k=" "$OBJ/.config" && die "config: $k stayed on although the fragment turns it off"
        else
            grep -qxF "$line" "$OBJ/.config" || die "config: $line did not take (a missing dependency?); see $OBJ/.config"
        fi
    done < "$FRAG"
    echo "$FRAG_SHA" > "$OBJ/.reclaimlab-fragment"
fi

# build_variant NAME PATCH -> $WORK/kernels/bzImage-NAME-<key>; prints its path
build_variant() {
    local name=$1 patch=$2 key img b t0 secs f
    key=$(cat "$FRAG" ${patch:+"$patch"} | { cat; echo "$SRCPKG_VER"; } | sha256sum | cut -c1-16)
    img=$WORK/kernels/bzImage-$name-$key
    if [ -f "$img" ]; then
        say "$name: kernel already built ($img)"
        echo "$name cached" >> "$OUT/build-times.txt"
        echo "$img"; return 0
    fi
    b=$WORK/backup/$name
    if [ -n "$patch" ]; then
        rm -rf "$b"; mkdir -p "$b/tree"
        # files the patch touches (its "+++ b/path" lines, -p1)
        sed -n 's/^+++ [^/]*\/\([^[:space:]]*\).*/\1/p' "$patch" | sort -u > "$b/.files"
        [ -s "$b/.files" ] || { rm -rf "$b"; die "$patch: no '+++ b/...' lines; is it a unified diff for patch -p1?"; }
        while IFS= read -r f; do
            [ -e "$SRC/$f" ] && { mkdir -p "$b/tree/$(dirname "$f")"; cp -p "$SRC/$f" "$b/tree/$f"; }
        done < "$b/.files"
        (cd "$SRC" && patch -p1 --dry-run -s < "$patch" > /dev/null) \
            || { rm -rf "$b"; die "$patch does not apply to linux-source-6.1 $SRCPKG_VER (patch -p1 --dry-run)"; }
        (cd "$SRC" && patch -p1 -s --no-backup-if-mismatch < "$patch") || { restore_backup "$b"; die "patch -p1 < $patch failed"; }
    else
        # stock: make sure no file is newer in the tree than a previous variant left
        :
    fi
    say "$name: building (nice -n $NICE make -j$JOBS bzImage; log $WORK/logs/build-$name.log)"
    t0=$(date +%s)
    if ! nice -n "$NICE" make -C "$SRC" O="$OBJ" CC="ccache gcc" -j"$JOBS" bzImage > "$WORK/logs/build-$name.log" 2>&1; then
        [ -n "$patch" ] && restore_backup "$b"
        die "$name: kernel build failed; see $WORK/logs/build-$name.log"
    fi
    secs=$(( $(date +%s) - t0 ))
    cp "$OBJ/arch/x86/boot/bzImage" "$img.tmp" && mv "$img.tmp" "$img"
    [ -n "$patch" ] && restore_backup "$b"
    echo "$name $secs s ($(date -u +%Y-%m-%dT%H:%M:%SZ), make -j$JOBS, ccache $CCACHE_DIR)" >> "$WORK/logs/build-times.txt"
    echo "$name $secs" >> "$OUT/build-times.txt"
    say "$name: built in ${secs}s -> $img"
    echo "$img"
}

declare -A IMAGE
IMAGE[stock]=$(build_variant stock "")
for v in "${RUN_LIST[@]}"; do
    [ "$v" = stock ] && continue
    IMAGE[$v]=$(build_variant "$v" "${PATCHFILE[$v]}")
done
if [ "$BUILD_ONLY" = 1 ]; then
    say "--build-only: kernels built; nothing run"
    exit 0
fi

# ---------------------------------------------------------------- guest files
RLWORK=$WORK/rlwork
[ -f "$REPO/scripts/rlwork.c" ] || die "missing $REPO/scripts/rlwork.c (the guest pressure helper)"
if [ ! -x "$RLWORK" ] || [ "$REPO/scripts/rlwork.c" -nt "$RLWORK" ]; then
    gcc -O2 -Wall -static -o "$RLWORK" "$REPO/scripts/rlwork.c" || die "gcc -static rlwork.c failed (libc6-dev installed?)"
fi
BBVER=$(dpkg-query -W -f '${Version}' busybox-static)
EVENTS="mm_shrink_slab_start mm_shrink_slab_end mm_vmscan_kswapd_wake mm_vmscan_kswapd_sleep"
EVENTS+=" mm_vmscan_direct_reclaim_begin mm_vmscan_direct_reclaim_end mm_vmscan_memcg_reclaim_begin mm_vmscan_memcg_reclaim_end"
IR=$WORK/run/initramfs
rm -rf "$IR"; mkdir -p "$IR"/{bin,etc,proc,sys,dev,tmp,mnt,run}
cp /bin/busybox "$IR/bin/busybox"; cp "$RLWORK" "$IR/bin/rlwork"
cp "$SCRIPT_DIR/guest-init.sh" "$IR/init"; chmod +x "$IR/init"
cat > "$IR/etc/ab.conf" <<EOF
EVENTS="$EVENTS"
BUFFER_KB=16384
FILES=$FILES
SMALL_FILES=$SMALL
TINY_FILES=$TINY
NEG=$NEG
BIG_MB=$BIG_MB
WRITE_MB=$WRITE_MB
ROUNDS=$ROUNDS
MEMCG_MAX_MB=$MEMCG_MAX_MB
MEMCG_ROUNDS=$MEMCG_ROUNDS
MEMCG_READ_MB=$MEMCG_READ_MB
MEMCG_FILES=$MEMCG_FILES
MEMCG_SMALL_FILES=$MEMCG_SMALL
EOF
INITRD=$WORK/run/initramfs.cpio.gz
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD" || die "cannot build the initramfs"

# disks: files/dNNN/fNNNNNNN, 1000 per directory (the layout rlwork expects)
make_tree() {  # DIR COUNT
    local dir=$1 count=$2 d sub last
    mkdir -p "$dir"
    for ((d = 0; d * 1000 < count; d++)); do
        sub=$(printf '%s/d%03d' "$dir" "$d"); mkdir "$sub"
        last=$(( (d + 1) * 1000 < count ? (d + 1) * 1000 - 1 : count - 1 ))
        (cd "$sub" && seq -f 'f%07g' $((d * 1000)) "$last" | xargs touch)
    done
}
BIGDISK=$WORK/run/big-f$FILES-b$BIG_MB.img
if [ ! -f "$BIGDISK" ]; then
    say "building the big ext4 image ($FILES empty files + a ${BIG_MB} MB sparse file)"
    rm -rf "$WORK/run/diskroot"; make_tree "$WORK/run/diskroot/files" "$FILES"
    truncate -s "${BIG_MB}M" "$WORK/run/diskroot/big"
    truncate -s "$((BIG_MB + WRITE_MB + 400))M" "$BIGDISK.tmp"
    mkfs.ext4 -q -F -N $((FILES + MEMCG_ROUNDS * MEMCG_FILES + 20000)) -d "$WORK/run/diskroot" "$BIGDISK.tmp" \
        || { rm -f "$BIGDISK.tmp"; die "mkfs.ext4 -d (big) failed"; }
    mv "$BIGDISK.tmp" "$BIGDISK"; rm -rf "$WORK/run/diskroot"
fi
SMALLDISK=$WORK/run/small-f$SMALL-c$MEMCG_SMALL.img
if [ ! -f "$SMALLDISK" ]; then
    say "building the small ext4 image ($SMALL + $MEMCG_SMALL files)"
    rm -rf "$WORK/run/diskroot"; make_tree "$WORK/run/diskroot/files" "$SMALL"; make_tree "$WORK/run/diskroot/cg" "$MEMCG_SMALL"
    truncate -s 32M "$SMALLDISK.tmp"
    mkfs.ext4 -q -F -N $((SMALL + MEMCG_SMALL + 1000)) -d "$WORK/run/diskroot" "$SMALLDISK.tmp" \
        || { rm -f "$SMALLDISK.tmp"; die "mkfs.ext4 -d (small) failed"; }
    mv "$SMALLDISK.tmp" "$SMALLDISK"; rm -rf "$WORK/run/diskroot"
fi

# ---------------------------------------------------------------- runs
QEMU_VERSION=$(qemu-system-x86_64 --version | head -1)
QEMU_DEB=$(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null || echo unknown)
CMDLINE="console=ttyS0 panic=-1 quiet loglevel=4 no_hash_pointers"
WORKLOAD="guest-init.sh (sha256 $(sha256sum "$SCRIPT_DIR/guest-init.sh" | cut -c1-16)...): big ext4 /dev/vda ($FILES files, a ${BIG_MB} MB file), small ext4 /dev/vdb ($SMALL + $MEMCG_SMALL files), small tmpfs ($TINY files);"
WORKLOAD+=" $ROUNDS global rounds, each: stream-read the ${BIG_MB} MB file and stream-write ${WRITE_MB} MB (conv=fsync) while, alongside,"
WORKLOAD+=" stat() $FILES big-tree files, $NEG negative dentries, $SMALL small-tree files, $FILES big-tree files again, $SMALL small-tree files again;"
WORKLOAD+=" then $MEMCG_ROUNDS rounds in a cgroup v2 memcg (memory.max ${MEMCG_MAX_MB}M), each: stream-read $MEMCG_READ_MB MB while, alongside,"
WORKLOAD+=" stat() $MEMCG_SMALL small-ext4 files, create $MEMCG_FILES big-ext4 files, stat() both sets again"

run_variant() {  # NAME IMAGE
    local name=$1 img=$2 base raw samp con rc wall date nev lost read nstart tmp f
    base=kernel-ab-$KV_UP-$name-$MEM-${CPUS}cpu
    raw=$WORK/run/$name.trace.raw samp=$WORK/run/$name.samples.raw con=$WORK/logs/console-$name.log
    rm -f "$raw" "$samp" "$con"
    cp --sparse=always "$BIGDISK" "$WORK/run/vda.img"
    cp --sparse=always "$SMALLDISK" "$WORK/run/vdb.img"
    local QEMU=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$MEM" -smp "$CPUS"
        -nographic -no-reboot -kernel "$img" -initrd "$INITRD" -append "$CMDLINE"
        -drive "file=$WORK/run/vda.img,if=virtio,format=raw"
        -drive "file=$WORK/run/vdb.img,if=virtio,format=raw"
        -device virtio-serial-pci
        -chardev "file,id=abtrace,path=$raw" -device virtconsole,chardev=abtrace
        -chardev "file,id=absamples,path=$samp" -device virtconsole,chardev=absamples)
    date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    say "$name: booting under qemu TCG ($MEM, $CPUS CPUs; console $con)"
    local t0; t0=$(date +%s)
    rc=0; nice -n "$NICE" timeout "$TIMEOUT" "${QEMU[@]}" < /dev/null > "$con" 2>&1 || rc=$?
    wall=$(( $(date +%s) - t0 ))
    [ "$rc" = 124 ] && die "$name: qemu did not finish within ${TIMEOUT}s; see $con"
    [ "$rc" = 0 ] || die "$name: qemu exited with status $rc; see $con"
    grep -a 'AB\[.*FAIL' "$con" >&2 && die "$name: the guest workload failed; see $con"
    [ -s "$raw" ] || die "$name: the guest wrote no trace; see $con"
    tr -d '\r' < "$raw" > "$raw.lf" && mv "$raw.lf" "$raw"
    grep -q '^# ab: end drained=0$' "$raw" || die "$name: trace incomplete (no clean end marker); see $con and $raw"
    nev=$(grep -vc '^#' "$raw" || true)
    buffer_sum() { awk -v k="$1: " '/^# guest: buffer /{ i = index($0, k); if (i) t += substr($0, i + length(k)) + 0 } END { print t + 0 }' "$raw"; }
    lost=$(( $(buffer_sum overrun) + $(buffer_sum 'commit overrun') + $(buffer_sum 'dropped events') ))
    read=$(buffer_sum 'read events')
    [ "$lost" = 0 ] || die "$name: the ring buffers lost $lost events; try a smaller workload"
    [ "$nev" = "$read" ] || die "$name: received $nev events but the guest's ring buffers handed out $read"
    nstart=$(grep -c ' mm_shrink_slab_start: ' "$raw" || true)
    [ "$nstart" -gt 0 ] || die "$name: the trace holds no mm_shrink_slab_start event; see $con"
    local hdr="# kernel: Linux $KV_UP ($name) built from Debian linux-source-6.1 $SRCPKG_VER, config scripts/kernel-ab/config.fragment (sha256 ${FRAG_SHA}...)"
    [ -n "${PATCHFILE[$name]}" ] && hdr+=", patch $(basename "${PATCHFILE[$name]}") (sha256 $(sha256sum "${PATCHFILE[$name]}" | cut -c1-16)...)"
    tmp=$(mktemp "$OUT/.$base.trace.xz.XXXXXX"); chmod 644 "$tmp"
    {
        echo "# reclaimlab kernel shrinker trace: ftrace trace_pipe text, one event per line after these '#' lines"
        echo "$hdr"
        echo "# machine: $QEMU_VERSION [qemu-system-x86 $QEMU_DEB], -accel tcg,thread=multi -cpu max, memory $MEM, cpus $CPUS; busybox-static $BBVER"
        echo "# workload: $WORKLOAD; steps marked by 'ab: ...' tracing_mark_write lines"
        echo "# captured: $date, ${wall}s wall, by: scripts/kernel-ab/run.sh $ORIG_ARGS"
        grep '^# guest: ' "$raw"
        grep -v '^#' "$raw"
    } | xz -9 -T1 > "$tmp" || { rm -f "$tmp"; die "writing $tmp failed"; }
    mv -f "$tmp" "$OUT/$base.trace.xz"
    if [ "$SAMPLES" = 1 ]; then
        tr -d '\r' < "$samp" > "$samp.lf" && mv "$samp.lf" "$samp"
        grep -q '^@@ done ' "$samp" || die "$name: the samples channel has no '@@ done' line; see $samp"
        tmp=$(mktemp "$OUT/.$base.samples.xz.XXXXXX"); chmod 644 "$tmp"
        { echo "# reclaimlab kernel-ab samples of /proc/vmstat and /proc/slabinfo, one frame per second: '@@ sample SEQ UPTIME', '@@ vmstat', lines, '@@ slabinfo', lines, '@@ end SEQ'; last line '@@ done N'"
          echo "$hdr"
          cat "$samp"; } | xz -9 -T1 > "$tmp" || { rm -f "$tmp"; die "writing $tmp failed"; }
        mv -f "$tmp" "$OUT/$base.samples.xz"
    fi
    local counts
    counts=$(grep -v '^#' "$raw" | awk '{ for (i = 1; i < NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { e = $(i + 1); sub(/:$/, "", e); n[e]++; break } }
        END { for (e in n) printf "%s=%d ", e, n[e] }')
    echo "$name: ${wall}s wall, $nev events: $counts" >> "$OUT/run-summary.txt"
    say "$name: ${wall}s in qemu, $nev events, $nstart mm_shrink_slab_start -> $OUT/$base.trace.xz"
}

for v in "${RUN_LIST[@]}"; do
    run_variant "$v" "${IMAGE[$v]}"
done
# the kernel configuration all variants share (they differ only in mm/vmscan.c)
tmp=$(mktemp "$OUT/.kernel-ab-$KV_UP.config.xz.XXXXXX"); chmod 644 "$tmp"
{ echo "# reclaimlab kernel-ab: the .config of every kernel-ab $KV_UP variant (allnoconfig + scripts/kernel-ab/config.fragment, sha256 ${FRAG_SHA}...), Debian linux-source-6.1 $SRCPKG_VER"
  cat "$OBJ/.config"; } | xz -9 -T1 > "$tmp" || { rm -f "$tmp"; die "writing the config failed"; }
mv -f "$tmp" "$OUT/kernel-ab-$KV_UP.config.xz"
say "done; captures in $OUT"

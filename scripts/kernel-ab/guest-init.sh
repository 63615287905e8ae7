#!/bin/busybox sh
# /init of the reclaimlab kernel-ab capture guest (copied into the initramfs by
# scripts/kernel-ab/run.sh, which also writes /etc/ab.conf).
#
# Talks to the host through three channels:
#   ttyS0     console; progress lines "AB[uptime] ..."
#   /dev/hvc0 the ftrace trace_pipe text (first lines "# guest: ...")
#   /dev/hvc1 one framed sample of /proc/vmstat and /proc/slabinfo per second:
#               @@ sample SEQ UPTIME
#               @@ vmstat
#               <the lines of /proc/vmstat>
#               @@ slabinfo
#               <the lines of /proc/slabinfo>
#               @@ end SEQ
#             and a last line "@@ done SAMPLES"
#
# Workload (see docs/kernel-ab.md): a big ext4 tree on /dev/vda, a small ext4
# tree on /dev/vdb and a small tmpfs give slab caches and superblock shrinkers
# of very different sizes; a streaming reader and writer through the page cache
# keep light reclaim going (kswapd at high priorities), first globally, then
# inside a cgroup v2 memcg with memory.max.  The slab side (stat() of the trees,
# negative dentries, file creation) runs alongside the streaming, a fixed amount
# of work per round, so every kernel reclaims while its caches are refilled.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o size=16m tmpfs /tmp
. /etc/ab.conf
T=/sys/kernel/tracing
TRACE_FD=
log() { echo "AB[$(cut -d' ' -f1 /proc/uptime)] $*"; }
die() { log "FAIL: $*"; [ -n "$TRACE_FD" ] && echo "# ab: FAIL $*" >&3; sleep 1; poweroff -f; }
mark() { log "$*"; echo "ab: $*" > $T/trace_marker; }

i=0; while [ ! -c /dev/hvc0 ] || [ ! -c /dev/hvc1 ] || [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; do
    i=$((i + 1)); [ $i -gt 100 ] && die "no /dev/hvc0, /dev/hvc1, /dev/vda or /dev/vdb after 10 s"; sleep 0.1
done
exec 3>/dev/hvc0; TRACE_FD=3
exec 4>/dev/hvc1
stty -F /dev/hvc0 raw -echo 2>/dev/null
stty -F /dev/hvc1 raw -echo 2>/dev/null
mkdir -p /mnt /small /run/tiny
mount -t ext4 /dev/vda /mnt || die "cannot mount /dev/vda (big ext4)"
mount -t ext4 /dev/vdb /small || die "cannot mount /dev/vdb (small ext4)"
mount -t tmpfs -o size=8m tmpfs /run/tiny || die "cannot mount the small tmpfs"
mount -t tracefs tracefs $T || die "cannot mount tracefs"
mount -t cgroup2 cgroup2 /sys/fs/cgroup || die "cannot mount cgroup2"

echo 0 > $T/tracing_on
echo > $T/trace
echo "$BUFFER_KB" > $T/buffer_size_kb
for e in $EVENTS; do
    echo 1 > $T/events/vmscan/$e/enable || die "cannot enable vmscan/$e"
done
{
    echo "# guest: kernel $(uname -r) $(uname -v)"
    echo "# guest: cmdline $(cat /proc/cmdline)"
    echo "# guest: $(grep MemTotal /proc/meminfo | tr -s ' '), cpus $(grep -c ^processor /proc/cpuinfo)"
    echo "# guest: lru_gen $(cat /sys/kernel/mm/lru_gen/enabled 2>/dev/null || echo n/a), swap $(grep SwapTotal /proc/meminfo | tr -s ' ')"
    echo "# guest: trace_clock $(tr ' ' '\n' < $T/trace_clock | grep '^\['), buffer_size_kb $(cat $T/buffer_size_kb); events $(sed 's/^vmscan://' $T/set_event | tr '\n' ' ')"
} >&3

# the sampler: one framed vmstat + slabinfo snapshot per second on hvc1
(
    n=0
    while [ ! -e /tmp/stop-sampler ]; do
        {
            echo "@@ sample $n $(cut -d' ' -f1 /proc/uptime)"
            echo "@@ vmstat"; cat /proc/vmstat
            echo "@@ slabinfo"; cat /proc/slabinfo
            echo "@@ end $n"
        } >&4
        n=$((n + 1))
        sleep 1
    done
    echo "@@ done $n" >&4
) &
SAMPLER=$!

cat $T/trace_pipe >&3 &
READER=$!
echo 1 > $T/tracing_on
log "tracing: $(cat $T/set_event | tr '\n' ' ')"

# small caches: a small tmpfs tree (pinned dentries) and the small ext4 tree
mark "setup: tmpfs $TINY_FILES files"
mkdir -p /run/tiny/t && rlwork mk /run/tiny/t "$TINY_FILES"
mark "setup: stat $SMALL_FILES files on the small ext4"
rlwork stat /small/files "$SMALL_FILES"

# global phase: streaming reader + writer next to a big and a small cache
r=1
while [ $r -le "$ROUNDS" ]; do
    mark "global round $r/$ROUNDS: stream read ${BIG_MB} MB + write ${WRITE_MB} MB while stat()ing $FILES big-tree files, $NEG negative dentries, $SMALL_FILES small-tree files"
    # the slab side runs during the streaming, so every kernel reclaims while
    # its caches are being refilled (a fixed amount of work, not a time)
    ( mkdir -p /mnt/neg
      rlwork stat /mnt/files "$FILES"; rlwork neg /mnt/neg "$NEG"; rlwork stat /small/files "$SMALL_FILES"
      rlwork stat /mnt/files "$FILES"; rlwork stat /small/files "$SMALL_FILES" ) &
    ST=$!
    rlwork read /mnt/big &
    RD=$!
    dd if=/dev/zero of=/mnt/stream bs=1M count="$WRITE_MB" conv=fsync 2>/dev/null || log "dd failed"
    wait $RD || log "reader exited with status $?"
    wait $ST || log "stat()er exited with status $?"
    r=$((r + 1))
done

# memcg phase: the same kind of load inside a cgroup v2 group with memory.max
echo +memory > /sys/fs/cgroup/cgroup.subtree_control || die "no memory controller"
mkdir /sys/fs/cgroup/ab && echo "${MEMCG_MAX_MB}M" > /sys/fs/cgroup/ab/memory.max || die "cannot create memcg ab"
incg() {
    sh -c 'echo 0 > /sys/fs/cgroup/ab/cgroup.procs || exit 99; exec "$@"' incg "$@"
    rc=$?
    [ $rc = 99 ] && die "cannot move a task into memcg ab"
    [ $rc = 0 ] || log "in memcg ab: '$*' exited with status $rc"
}
r=1
while [ $r -le "$MEMCG_ROUNDS" ]; do
    P="memcg round $r/$MEMCG_ROUNDS (ab, memory.max=${MEMCG_MAX_MB}M)"
    mark "$P: stream read ${MEMCG_READ_MB} MB while stat()ing $MEMCG_SMALL_FILES small-ext4 files and creating $MEMCG_FILES big-ext4 files"
    mkdir -p /mnt/cg$r
    ( incg rlwork stat /small/cg "$MEMCG_SMALL_FILES"; incg rlwork mk /mnt/cg$r "$MEMCG_FILES"
      incg rlwork stat /small/cg "$MEMCG_SMALL_FILES"; incg rlwork stat /mnt/cg$r "$MEMCG_FILES" ) &
    ST=$!
    incg rlwork read /mnt/big "$MEMCG_READ_MB"
    wait $ST || log "memcg stat()er exited with status $?"
    r=$((r + 1))
done
log "memcg ab memory.events: $(tr '\n' ' ' < /sys/fs/cgroup/ab/memory.events)"
mark "end of workload"
echo 0 > $T/tracing_on

touch /tmp/stop-sampler
# drain: wait until the reader has consumed every buffered event
i=0; while [ $i -lt 600 ]; do
    n=0; for c in $T/per_cpu/cpu*; do n=$((n + $(sed -n 's/^entries: //p' $c/stats))); done
    [ "$n" = 0 ] && break
    sleep 1; i=$((i + 1))
done
j=0; while kill -0 $READER 2>/dev/null && [ $j -lt 30 ]; do sleep 1; j=$((j + 1)); done
kill $READER 2>/dev/null && { sleep 1; log "reader did not exit; killed it"; }
wait $SAMPLER
log "buffers drained after ${i}s ($n entries left), reader done after ${j}s more"
for c in $T/per_cpu/cpu*; do
    echo "# guest: buffer $(basename $c): $(grep -E '^(entries|overrun|commit overrun|dropped events|read events):' $c/stats | tr '\n' ' ')" >&3
done
echo "# guest: memcg ab memory.events: $(tr '\n' ' ' < /sys/fs/cgroup/ab/memory.events)" >&3
echo "# guest: vmstat $(grep -E '^(pgscan_(kswapd|direct)|pgsteal_(kswapd|direct)|slabs_scanned|allocstall_[a-z0-9]*|pageoutrun|kswapd_(low|high)_wmark_hit_quickly|oom_kill) ' /proc/vmstat | tr '\n' ' ')" >&3
echo "# ab: end drained=$n" >&3
log "done"
sync
sleep 1
poweroff -f

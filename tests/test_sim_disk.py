"""The shared disk (reclaimlab.sim.disk) and what XFS puts on it: inode writes, log forces."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclaimlab.kernel.releases import Rules
from reclaimlab.sim import disk
from reclaimlab.sim.engine import Sim
from reclaimlab.sim.params import FileSet, SimParams
from reclaimlab.sim.state import ROOT
from reclaimlab.sim.workload import age_dirty
from reclaimlab.sim.xfs import reclaim_inodes_nr, xfsaild

GIB = 262_144


def disk_sim(dt_s=0.1, **kw):
    fs = FileSet("f", pages_per_file=1, creates_per_s=1.0, writes=True)
    params = SimParams(nodes=1, node_pages=GIB, filesets=(fs,), dt_s=dt_s, xfs_ags=1, **kw)
    return Sim(params, Rules("v5.0", "v4.18", "sync", "none"), 0)


def step_with_dirty(sim, dirty_pages):
    """One step's writeback of ``dirty_pages``; returns the pages it cleaned."""
    sim.st.p_dirty[0, ROOT, 0] = dirty_pages
    age_dirty(sim)
    return dirty_pages - int(sim.st.p_dirty[0, ROOT, 0])


def bandwidth_pages(sim):
    return int(sim.costs.disk_mb_per_s * 1024 / 4 * sim.params.dt_s)


MS = 1e-3


def overload(sim, issuers):
    """``issuers`` serial issuers each book a whole step of IO on an idle disk: together
    ``issuers`` steps' worth, more than the disk serves in the step."""
    for j in range(issuers):
        disk.issue_as(sim, "burst", j)
        disk.charge(sim, sim.params.dt_s)


def test_an_idle_disk_serves_a_request_in_its_service_time():
    sim = disk_sim()
    step_with_dirty(sim, 0)
    assert disk.charge(sim, 0.008) == pytest.approx(0.008)
    assert disk.queued(sim, 0.002) == pytest.approx(0.002)     # not booked
    assert sim.disk.io_s == pytest.approx(0.008)


def test_a_synchronous_issuer_never_queues_behind_its_own_io():
    """xfs_bwrite() submits and waits: a reclaimer's sequential flushes, step after
    step, each cost their service time however busy its own IO keeps the disk
    (the old M/M/1 factor counted them: a disk busy 90% with one issuer's
    writes made its next write wait 10x)."""
    sim = disk_sim()
    disk.issue_as(sim, "job", 0)
    for _ in range(5):
        step_with_dirty(sim, 0)
        disk.issue_as(sim, "job", 0)
        waits = [disk.charge(sim, 0.008) for _ in range(11)]   # 88% of the step
        assert waits == pytest.approx([0.008] * 11)


def test_another_issuers_requests_are_ahead_with_its_busy_share():
    """Two serial issuers: one busy half the last step finds the other's request at
    the disk half the time, a random IO each."""
    sim = disk_sim()
    disk.issue_as(sim, "a")
    disk.charge(sim, 0.05)
    disk.issue_as(sim, "b")
    disk.charge(sim, 0.02)
    step_with_dirty(sim, 0)
    io = sim.costs.disk_read_ms * MS
    disk.issue_as(sim, "b")
    assert disk.queued(sim, io) == pytest.approx(io + 0.5 * io)
    disk.issue_as(sim, "a")
    assert disk.queued(sim, io) == pytest.approx(io + 0.2 * io)
    disk.issue_as(sim, "c")                  # a third: both are ahead of it
    assert disk.queued(sim, 2 * io) == pytest.approx(2 * (io + 0.7 * io))


def test_wbt_keeps_four_writeback_requests_ahead_of_a_read():
    """Backlogged flushers: wbt's background limit, wb_background = (16 + 3) / 4 = 4
    requests in flight (calc_wb_limits, block/blk-wbt.c), each a 1280 KiB request
    (BLK_DEF_MAX_SECTORS) at 120 MB/s; a read finds 3.5 of them ahead on average."""
    sim = disk_sim()
    assert step_with_dirty(sim, 10 ** 6) == bandwidth_pages(sim)
    request = 1280 / 1024 / sim.costs.disk_mb_per_s
    assert request == pytest.approx(10.4 * MS, rel=0.01)
    assert sim.disk.ahead_async_s == pytest.approx(3.5 * request, rel=1e-3)
    io = sim.costs.disk_read_ms * MS
    assert disk.charge(sim, io) == pytest.approx(io + 3.5 * request, rel=1e-3)
    # 8 ms + 36 ms: under wbt's 75 ms read latency target, so wbt does not scale down.
    assert disk.charge(sim, io) < disk.WBT_ROTATIONAL_TARGET_S


def test_wbt_scales_a_throttled_writers_depth_down_to_its_latency_target():
    """A writer dirty-throttled within the last second gets the full depth of 16
    (get_limit: wb_recent_wait), which wbt halves (scale_down) while a read behind
    it would wait more than 75 ms: 16 -> 8 -> 4 with these service times; on a
    faster disk it stays deeper."""
    from reclaimlab.sim.params import Costs
    assert disk.wbt_depth(Costs(), throttled=True) == 4
    assert disk.wbt_depth(Costs(), throttled=False) == 4
    assert disk.wbt_depth(Costs(disk_mb_per_s=250.0, disk_read_ms=4.0), throttled=True) == 8
    assert disk.wbt_depth(Costs(disk_mb_per_s=500.0, disk_read_ms=4.0), throttled=True) == 16


def test_writeback_that_keeps_up_is_ahead_only_its_share_of_the_step():
    """Flushers with little to write issue writes only part of the step."""
    sim = disk_sim()
    pages = bandwidth_pages(sim) // 4
    assert step_with_dirty(sim, pages) == pages
    request = 1280 / 1024 / sim.costs.disk_mb_per_s
    busy = pages * 4 / 1024 / sim.costs.disk_mb_per_s / sim.params.dt_s
    assert sim.disk.ahead_async_s == pytest.approx(busy * 3.5 * request, rel=1e-3)


def test_asynchronous_xfs_writes_are_ahead_as_random_ios():
    """xfsaild's cluster writes are booked asynchronously (nobody waits for them) and
    are ahead of the next step's requests as random IOs in wbt's queue."""
    sim = disk_sim()
    disk.book_async(sim, 0.02, sim.costs.disk_read_ms * MS)     # a fifth of the step
    step_with_dirty(sim, 0)
    io = sim.costs.disk_read_ms * MS
    assert sim.disk.ahead_async_s == pytest.approx(0.2 * 3.5 * io)
    assert sim.disk.sync_last_total == 0.0


def test_reads_of_the_last_step_take_disk_time_from_writeback():
    """Half a step of reads leaves writeback half the bandwidth; more reads
    never take it below a third (mq-deadline's writes_starved = 2)."""
    sim = disk_sim()
    disk.charge(sim, 0.05)                   # half of a 0.1 s step
    assert step_with_dirty(sim, 10 ** 6) == bandwidth_pages(sim) // 2
    overload(sim, 10)                        # ten steps' worth
    assert step_with_dirty(sim, 10 ** 6) == int(bandwidth_pages(sim) / 3)


def test_disk_time_booked_beyond_a_step_is_served_in_the_next_ones():
    """Nothing is forgotten: a burst of ten steps' IO keeps the disk busy after it,
    and it is ahead of each issuer's first request of the step."""
    sim = disk_sim()
    overload(sim, 10)
    step_with_dirty(sim, 0)
    assert sim.disk.backlog_s == pytest.approx(0.9)
    for left in (0.8, 0.7):                  # no new IO: the backlog drains a step at a time
        step_with_dirty(sim, 0)
        assert sim.disk.backlog_s == pytest.approx(left)
    disk.issue_as(sim, "reader")
    io = sim.costs.disk_read_ms * MS
    assert disk.charge(sim, io) == pytest.approx(io + 0.7)
    assert disk.charge(sim, io) == pytest.approx(io)          # once per step
    assert step_with_dirty(sim, 10 ** 6) == int(bandwidth_pages(sim) / 3)   # still busy


@given(reads=st.floats(0.0, 0.2), flushes=st.floats(0.0, 0.2), dirty=st.integers(0, 10 ** 5))
def test_the_wait_is_the_service_plus_the_work_ahead_with_no_cap(reads, flushes, dirty):
    """wait = service x (1 + ahead / random IO): the asynchronous writes in flight plus the
    other issuers' busy shares; the issuer's own IO never counts."""
    sim = disk_sim()
    disk.issue_as(sim, "reader")
    disk.charge(sim, reads)
    disk.issue_as(sim, "reclaimer")
    disk.charge(sim, flushes)
    step_with_dirty(sim, dirty)
    io = sim.costs.disk_read_ms * MS
    ahead = sim.disk.ahead_async_s + min(reads / sim.params.dt_s, 1.0) * io
    wait = disk.queued(sim, 0.008)
    assert wait == pytest.approx(0.008 * (1 + ahead / io) + sim.disk.backlog_s)
    # Each serial stream takes at most the step (an idle disk: all of it); the rest runs on.
    dt = sim.params.dt_s
    assert sim.disk.backlog_s == pytest.approx(
        max(min(reads, dt) + min(flushes, dt) + (dirty - int(sim.st.p_dirty.sum())) * 4 / 1024 / sim.costs.disk_mb_per_s
            - sim.params.dt_s, 0.0), abs=1e-9)


def test_xfs_inode_writes_are_booked_on_the_disk():
    """Sync reclaim's flushes and xfsaild's writes both take disk time."""
    sim = disk_sim()
    sim.st.x_dirty[0] = 100
    sim.clock = sim.now
    reclaim_inodes_nr(sim, 0, 32)                # flushes the 32 of one batch
    flush = sim.costs.inode_flush_ms * 1e-3
    assert sim.disk.io_s == pytest.approx(32 * flush)
    xfsaild(sim)                                 # the push queued the other 68
    written = 68 - int(sim.st.x_dirty[0])
    assert written > 0
    assert sim.disk.io_s == pytest.approx((32 + written) * flush)



def test_the_log_worker_pushes_the_ail_every_30_s():
    """xfs_log_worker() runs every xfs_syncd_centisecs (30 s): a log force (when
    something is pinned), then an AIL push; only then (or when reclaim pushes)
    does xfsaild write the dirty inodes, at the disk's cost. Dirty expiry does
    not clean them: the engine's steps (age_dirty, then XFS) leave them dirty."""
    from reclaimlab.sim import xfs
    sim = disk_sim()
    sim.st.x_dirty[0], sim.st.x_pinned[0] = 40, 10
    for step in range(int(30 / sim.params.dt_s)):
        sim.now = step * sim.params.dt_s
        age_dirty(sim)
        xfs.step(sim)
    assert sim.st.x_dirty[0] == 40 and sim.st.x_pinned[0] == 10 and sim.disk.io_s == 0.0
    sim.now = 30.0
    age_dirty(sim)
    xfs.step(sim)
    assert sim.st.x_dirty[0] == 0 and sim.st.x_pinned[0] == 0
    assert sim.st.x_clean[0] == 0                # and the 5 s reclaim worker freed them
    c = sim.costs
    assert sim.disk.io_s == pytest.approx((40 * c.inode_flush_ms + c.log_force_ms) * 1e-3)
    assert sim.xfs.log_due == 60.0
    sim.st.x_dirty[0] = 5                        # nothing pinned: no force, no log IO
    sim.now = 60.0
    age_dirty(sim)
    xfs.step(sim)
    assert sim.disk.io_s == pytest.approx(5 * c.inode_flush_ms * 1e-3)


def test_cached_dirty_inodes_are_written_at_dirty_expiry_on_the_disk():
    sim = disk_sim(dt_s=0.5)
    sim.st.i_dirty[0, ROOT, 0] = 6000
    age_dirty(sim)
    written = 6000 - int(sim.st.i_dirty[0, ROOT, 0])
    assert 0 < written < 6000                  # about dt / dirty_expire of them
    assert abs(written - 6000 * 0.5 / 30) < 5 * (6000 * 0.5 / 30) ** 0.5
    assert sim.disk.io_s == pytest.approx(written * sim.costs.inode_flush_ms * 1e-3)


def test_the_writeback_share_is_overridable():
    from reclaimlab.sim.params import Costs
    sim = disk_sim(costs=Costs(writeback_min_share=1.0))
    disk.charge(sim, 1.0)                    # ten steps of reads
    assert step_with_dirty(sim, 10 ** 6) == bandwidth_pages(sim)   # writeback keeps it all


@pytest.mark.parametrize("kw,match", [
    (dict(writeback_min_share=1.5), r"writeback_min_share=1.5 is not allowed; it must be between 0 and 1"),
])
def test_bad_disk_costs_name_the_parameter(kw, match):
    import reclaimlab as rl
    with pytest.raises(ValueError, match=match):
        rl.simulate("desktop-copy", reduced=True, **kw)
def pinned_sim(xfs_reclaim="sync", dirty=1000, pinned=1000, ags=1):
    fs = FileSet("f", pages_per_file=1, creates_per_s=1.0, writes=True)
    params = SimParams(nodes=2, node_pages=GIB, filesets=(fs,), dt_s=0.1, xfs_ags=ags)
    sim = Sim(params, Rules("v5.0", "v4.18", xfs_reclaim, "none"), 0)
    sim.st.x_dirty[:] = dirty
    sim.st.x_pinned[:] = pinned
    sim.clock = sim.now
    return sim


def test_sync_reclaim_forces_the_log_once_before_flushing_pinned_inodes():
    """4.19's xfs_reclaim_inode(SYNC_WAIT): a pinned inode waits in xfs_iunpin_wait()
    for a log force, and that force unpins every inode of the log (both nodes), so
    a walk through four AGs forces once. The disk books service times; the
    reclaimer waits them stretched by the work ahead (two random IOs: 3x), and its
    serial stream takes a third of the disk while it lasts (the rest of the step's
    share runs on into the next steps, disk.DiskState.streams)."""
    sim = pinned_sim(ags=4)
    sim.disk.ahead_async_s = 2 * sim.costs.disk_read_ms * 1e-3
    _, freed, waited = reclaim_inodes_nr(sim, 0, 1)       # a batch of 32 in each AG
    c = sim.costs
    service = (c.log_force_ms + 128 * c.inode_flush_ms) * 1e-3
    assert freed == 128
    assert sim.disk.io_s == pytest.approx(sim.params.dt_s / 3)
    assert sim.disk.io_s + sum(left for left, _ in sim.disk.streams.values()) == pytest.approx(service)
    assert waited == pytest.approx(3 * service)
    assert sim.st.x_pinned.tolist() == [0, 0]
    _, _, again = reclaim_inodes_nr(sim, 0, 1)        # nothing pinned now: flushes only
    assert again == pytest.approx(3 * 128 * c.inode_flush_ms * 1e-3)


def test_no_force_without_pinned_inodes_and_none_in_async_mode():
    sim = pinned_sim(pinned=0)
    assert reclaim_inodes_nr(sim, 0, 32)[2] == pytest.approx(32 * sim.costs.inode_flush_ms * 1e-3)
    sim = pinned_sim(xfs_reclaim="async")
    assert reclaim_inodes_nr(sim, 0, 32)[2] == 0.0
    assert sim.st.x_pinned.tolist() == [1000, 1000] and sim.disk.io_s == 0.0


def test_xfsaild_writes_no_pinned_inode_until_a_log_force():
    """Fresh transactions are in the CIL, not the AIL: xfsaild cannot push them."""
    from reclaimlab.sim import xfs
    sim = pinned_sim(dirty=100, pinned=60)
    sim.st.x_pushed[:] = sim.st.x_dirty          # an AIL push, no force
    for _ in range(20):
        xfsaild(sim)
    assert sim.st.x_dirty.tolist() == [60, 60]   # the 40 unpinned of each node written
    xfs.log_worker(sim)                          # force, then push
    for _ in range(20):
        xfsaild(sim)
    assert sim.st.x_dirty.tolist() == [0, 0]


def test_an_unlink_pins_its_inode():
    from reclaimlab.sim.workload import _unlink
    fs = FileSet("f", pages_per_file=1, creates_per_s=1.0, writes=True, replaces=True)
    params = SimParams(nodes=1, node_pages=GIB, filesets=(fs,), xfs_ags=1)
    sim = Sim(params, Rules("v5.0", "v4.18", "sync", "none"), 0)
    sim.st.d_ref[0, ROOT, 0] = 10
    _unlink(sim, 0, 0, 4)
    assert sim.st.x_dirty[0] == 4 and sim.st.x_pinned[0] == 4


def test_cluster_buffer_reads_are_booked_with_the_writes():
    """With no inode cluster buffer cached, xfsaild's write of an inode is a read and a
    write on the disk, and an unlink's read is booked and waited for."""
    from reclaimlab.sim import xfs
    from reclaimlab.sim.params import SlabCache
    from reclaimlab.sim.workload import _unlink
    buffers = SlabCache("xfs_buf", objects=1000, objects_per_page=0.5, inode_clusters=True)
    fs = FileSet("f", pages_per_file=1, creates_per_s=1.0, writes=True, replaces=True)
    params = SimParams(nodes=1, node_pages=GIB, filesets=(fs,), caches=(buffers,), xfs_ags=1)
    sim = Sim(params, Rules("v5.0", "v4.18", "sync", "none"), 0)
    flush = sim.costs.inode_flush_ms * 1e-3
    xfs.write_inodes(sim, 0, 10)
    assert sim.disk.io_s == pytest.approx(20 * flush)
    sim.st.g_ref[0, ROOT, 0] = sim.st.g_unref[0, ROOT, 0] = 0    # the shrinker emptied it
    sim.st.d_ref[0, ROOT, 0] = 10
    sim.disk.ahead_async_s = sim.costs.disk_read_ms * 1e-3     # one random IO ahead: 2x
    assert _unlink(sim, 0, 0, 4) == pytest.approx(2 * 4 * flush)
    assert sim.disk.io_s == pytest.approx(24 * flush)


def test_disk_busy_counts_the_time_served_and_reaches_the_dataset():
    sim = disk_sim()
    disk.charge(sim, 0.25)                    # two and a half steps of IO
    for _ in range(4):
        step_with_dirty(sim, 0)
    assert sim.totals.disk_busy == pytest.approx(0.25)     # 0.1, 0.1, 0.05, 0
    import reclaimlab as rl
    ds = rl.simulate("desktop-copy", reduced=True)
    record = float(ds.time[1] - ds.time[0])
    assert ds.disk_busy.dims == ("time",) and ds.disk_busy.attrs["units"] == "s"
    assert 0 < float(ds.disk_busy.min()) and float(ds.disk_busy.max()) <= record + 1e-9


def _reader_waits(dt_s: float, stream_s: float) -> tuple[float, float]:
    """A reclaimer's serial stream of ``stream_s`` seconds of flushes at time 0, and a
    reader's random IO every 0.1 s for a second: (the reader's total wait, the disk's busy time)."""
    sim = disk_sim(dt_s=dt_s)
    io = sim.costs.disk_read_ms * MS
    waits, next_read = 0.0, 0.1
    for step in range(int(round(1.2 / dt_s))):
        step_with_dirty(sim, 0)
        t = step * dt_s
        if step == 0:
            disk.issue_as(sim, "kswapd", 0)
            disk.charge(sim, stream_s)
        if t + 1e-9 >= next_read and next_read < 1.05:
            disk.issue_as(sim, "reader")
            waits += disk.charge(sim, io)
            next_read += 0.1
    return waits, sim.totals.disk_busy


@pytest.mark.parametrize("stream_s,extra", [(0.4, (4, 8)), (0.15, (1, 3))])
def test_a_serial_streams_delay_of_others_does_not_depend_on_the_step(stream_s, extra):
    """xfs_bwrite() waits for each flush before the next: a reclaimer's stream has one
    request at the disk at a time, however long it runs. Another issuer's read waits
    for that one request while the stream lasts, whatever ``dt_s`` the engine uses.
    Booked at once, the stream's part beyond the step it was charged in was a backlog
    each read waited for in full (0.4 s stream: 0.73 s of waits, against 0.11 s
    now; 0.15 s: 0.13 s against 0.09 s)."""
    io = 8 * MS
    runs = {dt: _reader_waits(dt, stream_s) for dt in (0.1, 0.025, 0.00625)}
    for dt, (waits, busy) in runs.items():
        # ten reads: those while the stream lasts wait one request of it (its share of
        # the step, which the reads' own share slows a little), the others none
        assert (10 + extra[0]) * io <= waits <= (10 + extra[1]) * io, dt
        assert busy == pytest.approx(stream_s + 10 * io), dt       # the disk time is all served
    waits = [w for w, _ in runs.values()]
    assert max(waits) - min(waits) <= 2 * io


def test_a_steady_readers_wait_behind_a_stream_does_not_depend_on_the_step():
    """A task reading 20 random IOs a second, charged once a step (the engine books a
    task's reads of a step together), behind a reclaimer's 0.4 s serial stream: its
    wait per second is the same at every ``dt_s``. The stream's part beyond a step was
    a backlog ahead of the reader's first request of every step, so the wait grew as
    the step shrank (0.94 s at dt_s 0.1, 3.8 s at 0.025, 15 s at 0.00625; now 0.26 s at each)."""
    io = 8 * MS
    totals = {}
    for dt in (0.1, 0.025, 0.00625):
        sim = disk_sim(dt_s=dt)
        wait = 0.0
        for step in range(int(round(1.0 / dt))):
            step_with_dirty(sim, 0)
            if step == 0:
                disk.issue_as(sim, "kswapd", 0)
                disk.charge(sim, 0.4)
            disk.issue_as(sim, "reader")
            wait += disk.charge(sim, 20 * dt * io)
        totals[dt] = wait
    for dt, wait in totals.items():
        # 0.16 s of reads; those in the stream's ~0.45 s wait its one request ahead too
        assert 0.16 <= wait <= 0.30, (dt, wait)
    assert max(totals.values()) / min(totals.values()) <= 1.1, totals

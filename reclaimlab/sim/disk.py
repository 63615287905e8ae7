"""One disk, shared by every IO the model issues (docs/simulator.md, "The disk").

The scenarios put a file system on one 7200 rpm SATA disk (``Costs``: a
random IO of ``disk_read_ms``, ``disk_mb_per_s`` sequential). Data writeback
by the flusher threads and the IO of tasks and XFS share its time: reads of
refaulted dentries, inodes and pages, reads of new files, XFS inode cluster
reads and writes (sync reclaim's flushes, unlinks, xfsaild, cached dirty
inodes written at dirty expiry) and XFS log forces.

**Who waits.** Asynchronous IO (data writeback, xfsaild, the log worker's
force, dirty inodes written at expiry) is booked with :func:`book_async`:
nobody waits for it, it takes the disk's time from everyone else. A
synchronous IO (:func:`charge`) keeps its issuer waiting for its own service
time plus the work *ahead of it* when it reaches the disk:

* **Asynchronous writes in flight.** Writeback throttling (wbt,
  block/blk-wbt.c, on by default for blk-mq devices since 4.12; SCSI disks
  are blk-mq by default from 4.19) lets a background writer
  (``REQ_BACKGROUND``, or any buffered write within 100 ms of other IO:
  ``close_io()``) have ``wb_background = (depth + 3) / 4`` requests in
  flight, 4 for the default depth of 16 (``RWB_DEF_DEPTH``); one that was
  dirty-throttled in the last second (``wb_recent_wait()``) gets the full
  depth, which wbt halves (``scale_down()``) while reads miss its 75 ms
  target on a rotational disk (``wbt_default_latency_nsec()``), down to 4
  as well with these service times (:func:`wbt_depth`). mq-deadline
  dispatches reads before queued writes (``writes_starved = 2`` read
  batches before a write batch of ``fifo_batch = 16``), so what is ahead of
  a request is the writes already in flight, not the whole dirty backlog.
  While asynchronous writes are being issued (all the step when the
  flushers are backlogged, else the share of the step they keep the disk
  busy) a request finds ``depth`` of them, one half served on average:
  ``(depth - 1/2)`` requests of their mean size (data writeback: one
  ``max_sectors_kb`` = 1280 KiB request, ``BLK_DEF_MAX_SECTORS`` = 2560
  sectors, at ``disk_mb_per_s``; XFS inode cluster writes: a random IO).
* **Other synchronous issuers.** Each task, kswapd or reclaimer waits for
  its IO before it issues the next (xfs_bwrite() is submit-and-wait), so it
  has at most one request at the disk at a time: a request finds another
  issuer's request there with probability that issuer's busy share of the
  step, and waits one random IO for it. An issuer never queues behind its
  own IO: a synchronous reclaimer's sequential flushes do not slow each
  other down. Issuers are named by :func:`issue_as` (tasks, kswapd, the
  interactive task); the last step's account is this step's estimate.
* **Disk time booked beyond the steps so far** (``backlog_s``) is ahead of
  each issuer's first request of the step.

**A synchronous stream is served over its own wait, not at once.** One
issuer's requests reach the disk one at a time (xfs_bwrite() and a read
fault wait for each request before the next: submit_bio_wait(),
wait_on_page_locked()), so a stream of ``s`` seconds of service that waits
``s x stretch`` takes the disk at ``1 / stretch`` of each step it spans,
whatever the step: at most ``dt / stretch`` of it is booked in the step it
is charged in and the rest in the next steps (``DiskState.streams``), as
that issuer's IO. Booking it all in one step made the part beyond the step
a backlog that every other issuer waited for in full, and waited for again
in each step (``backlog_s``, once per issuer and step), though it never had
more than one request ahead of them: the wait grew as the step shrank
(compile-and-copy under 4.19.3: 186 s of backlog waits at ``dt_s`` 0.05,
416 s at 0.0125, seed 0). The backlog is now what the issuers together
book beyond the disk's time, a real overload.

A synchronous IO of ``s`` seconds of service is ``s / disk_read_ms``
requests issued one after the other (the model books a task's reads or a
walk's flushes together), each waiting for the work ahead; the seek away
from a streaming writer is part of each request's own random-IO service.

Each step, in order:

* :func:`next_step` (first thing) keeps the IO booked in the last step,
  plus the backlog the disk could not serve in it, and starts a new
  account.
* :func:`writeback_share` is the part of the step the flusher threads get:
  what the last step's other IO and the backlog left, but never less than
  ``Costs.writeback_min_share`` (a third: mq-deadline prefers reads over
  waiting writes only ``writes_starved = 2`` times in a row).
* :func:`settle` (after writeback) sets the step's work ahead of a request
  from the asynchronous writes in flight, and what exceeds the step is the
  backlog carried to the next one.
* :func:`charge` books a synchronous IO's service time and returns how
  long its issuer waits; :func:`queued` is that wait without booking (XFS
  reclaim sizes a lock hold before it knows it will take the lock).
"""
from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from dataclasses import dataclass, field

if TYPE_CHECKING:                      # the engine imports this module
    from .engine import Sim
    from .params import Costs

#: wbt's default queue depth (RWB_DEF_DEPTH, block/blk-wbt.c).
WBT_DEFAULT_DEPTH = 16
#: wbt's read latency target on a rotational disk, s (wbt_default_latency_nsec(): 75 ms).
WBT_ROTATIONAL_TARGET_S = 0.075
#: Largest request the flushers build, KiB: BLK_DEF_MAX_SECTORS (2560 sectors of 512 bytes).
MAX_REQUEST_KIB = 1280
#: The issuer of IO whose caller named none (:func:`issue_as`).
ANONYMOUS = ("anonymous", 0)


@dataclass
class DiskState:
    """The disk's account, changed only by this module's functions."""

    io_s: float = 0.0         # IO booked on the disk this step, other than data writeback, s
    io_last_s: float = 0.0    # and in the last step (plus the backlog), s
    backlog_s: float = 0.0    # disk time booked beyond the steps so far, s
    async_s: float = 0.0      # asynchronous IO among io_s (xfsaild, log worker, expiry), s
    async_requests: float = 0.0   # and its requests
    async_last_s: float = 0.0     # the last step's
    async_last_requests: float = 0.0
    ahead_async_s: float = 0.0    # asynchronous writes in flight ahead of a request this step, s
    issuer: Hashable = ANONYMOUS  # who issues the synchronous IO charged now
    sync_s: dict = field(default_factory=dict)       # this step's synchronous IO by issuer, s
    sync_last: dict = field(default_factory=dict)    # the last step's, as busy shares (0 to 1)
    sync_last_total: float = 0.0  # sum of sync_last
    met_backlog: set = field(default_factory=set)    # issuers that waited for the backlog this step
    #: per issuer, synchronous service charged and not yet booked: (seconds, share of a step it takes)
    streams: dict = field(default_factory=dict)


def issue_as(sim: Sim, *issuer: Hashable) -> None:
    """Name the issuer of the synchronous IO charged from now on (a task, kswapd, ...)."""
    sim.disk.issuer = issuer


def random_io_s(costs: Costs) -> float:
    """Service time of one random IO (``disk_read_ms``), s."""
    return costs.disk_read_ms * 1e-3


def writeback_request_s(costs: Costs) -> float:
    """Service time of one full-size data writeback request (1280 KiB at ``disk_mb_per_s``), s."""
    return MAX_REQUEST_KIB / 1024 / costs.disk_mb_per_s


def wbt_depth(costs: Costs, throttled: bool) -> int:
    """Asynchronous write requests wbt lets in flight on this rotational disk.

    A background writer gets ``wb_background = (depth + 3) / 4`` (calc_wb_limits(),
    block/blk-wbt.c); one dirty-throttled within the last second
    (wb_recent_wait()) gets the whole depth, which wbt halves
    (scale_down(): ``1 + ((depth - 1) >> step)``) while a read behind it
    waits more than the 75 ms target.

    Examples
    --------
    >>> from reclaimlab.sim.params import Costs
    >>> wbt_depth(Costs(), throttled=False), wbt_depth(Costs(), throttled=True)
    (4, 4)
    """
    if not throttled:
        return (WBT_DEFAULT_DEPTH + 3) // 4
    req, read = writeback_request_s(costs), random_io_s(costs)
    step = 0
    while True:
        depth = 1 + ((WBT_DEFAULT_DEPTH - 1) >> step)
        if depth == 1 or (depth - 0.5) * req + read <= WBT_ROTATIONAL_TARGET_S:
            return depth
        step += 1


def ahead_s(sim: Sim) -> float:
    """Seconds of work ahead of one synchronous request of the current issuer (module doc)."""
    d = sim.disk
    others = d.sync_last_total - d.sync_last.get(d.issuer, 0.0)
    return d.ahead_async_s + max(others, 0.0) * random_io_s(sim.costs)


def stretch(sim: Sim) -> float:
    """How many times its service time a stream of the current issuer's requests takes.

    Each request of one random IO (``disk_read_ms``) waits for the work
    ahead of it (:func:`ahead_s`): ``1 + ahead / disk_read_ms``.
    """
    io = random_io_s(sim.costs)
    return 1.0 + ahead_s(sim) / io if io > 0 else 1.0


def queued(sim: Sim, service_s: float) -> float:
    """Seconds a synchronous IO of ``service_s`` disk time keeps its issuer waiting now.

    ``service_s / disk_read_ms`` requests one after the other, each behind
    the work ahead of it (:func:`stretch`); the disk time booked beyond the
    steps so far is ahead of the issuer's first IO of the step only.
    """
    if service_s <= 0:
        return 0.0
    d = sim.disk
    backlog = d.backlog_s if d.issuer not in d.met_backlog else 0.0
    return service_s * stretch(sim) + backlog


def charge(sim: Sim, service_s: float) -> float:
    """Book ``service_s`` seconds of synchronous IO of the current issuer; return its wait."""
    if service_s == 0:
        # Nothing to book: no wait, and an issuer's 0.0 in sync_s adds nothing to any sum
        # or share after (the most common call: a step's reads that found everything cached).
        return 0.0
    d = sim.disk
    wait = queued(sim, service_s)
    # The issuer's requests go one at a time, each behind the work ahead of it: they take
    # 1 / stretch of the disk while the stream lasts (module doc).
    others = max(d.sync_last_total - d.sync_last.get(d.issuer, 0.0), 0.0)
    rate = min(1.0 / stretch(sim), max(1.0 - others, 0.0))
    left, _ = d.streams.get(d.issuer, (0.0, rate))
    d.streams[d.issuer] = (left + service_s, rate)
    _book_streams(sim, (d.issuer,))
    if service_s > 0:
        d.met_backlog.add(d.issuer)
    return wait


def _book_streams(sim: Sim, issuers, fresh: bool = False) -> None:
    """Book what ``issuers``' synchronous streams take of this step (their share of it, at most).

    ``fresh``: a new step; each stream's share is ``1 / stretch`` again, behind the
    work ahead of its requests now (the other issuers' last step, the writes in flight).
    """
    d, dt = sim.disk, sim.params.dt_s
    io = random_io_s(sim.costs)
    for key in issuers:
        left, rate = d.streams[key]
        if fresh and io > 0:
            # Behind the work ahead of each request, and never more than the others leave:
            # the disk's time is not booked twice (a backlog each issuer would wait for).
            others = max(d.sync_last_total - d.sync_last.get(key, 0.0), 0.0)
            rate = min(1.0 / (1.0 + (d.ahead_async_s + others * io) / io), max(1.0 - others, 0.0))
        used = d.sync_s.get(key, 0.0)
        now = min(left, max(rate * dt - used, 0.0))
        if left - now <= 1e-12:
            now = left                   # a rounding crumb: booked now, not carried
            del d.streams[key]
        else:
            d.streams[key] = (left - now, rate)
        if now > 0:
            d.io_s += now
            d.sync_s[key] = used + now


def book_async(sim: Sim, service_s: float, request_s: float) -> None:
    """Book ``service_s`` seconds of asynchronous IO in requests of ``request_s`` each; nobody waits."""
    d = sim.disk
    d.io_s += service_s
    d.async_s += service_s
    d.async_requests += service_s / request_s if request_s > 0 else 0.0


def writeback_share(sim: Sim) -> float:
    """Share of this step's disk time left to data writeback (``writeback_min_share`` to 1)."""
    left = 1.0 - sim.disk.io_last_s / sim.params.dt_s
    return min(max(left, sim.costs.writeback_min_share), 1.0)


def next_step(sim: Sim) -> None:
    """Start a step: the last step's IO and the backlog set the writeback share (module doc)."""
    d, dt = sim.disk, sim.params.dt_s
    d.io_last_s, d.io_s = d.io_s + d.backlog_s, 0.0
    d.async_last_s, d.async_last_requests = d.async_s, d.async_requests
    d.async_s = d.async_requests = 0.0
    d.sync_last = {k: min(v / dt, 1.0) for k, v in d.sync_s.items()}
    d.sync_last_total = sum(d.sync_last.values())
    d.sync_s = {}
    d.met_backlog = set()
    if d.streams:                        # streams that run on into this step take their share of it
        _book_streams(sim, list(d.streams), fresh=True)


def settle(sim: Sim, writeback_s: float) -> None:
    """After writeback: the backlog, and the asynchronous writes ahead of this step's requests."""
    d, dt, costs = sim.disk, sim.params.dt_s, sim.costs
    busy = writeback_s + d.io_last_s
    d.backlog_s = max(busy - dt, 0.0)   # served in the next steps
    sim.totals.disk_busy += busy - d.backlog_s
    async_s = writeback_s + d.async_last_s
    if async_s <= 0:
        d.ahead_async_s = 0.0
        return
    requests = writeback_s / writeback_request_s(costs) + d.async_last_requests
    if requests <= 0:                   # requests of no service time (disk_read_ms = 0)
        d.ahead_async_s = 0.0
        return
    # Backlogged flushers (they used all the time left to them) issue writes all the step.
    backlogged = writeback_s >= 0.99 * dt * writeback_share(sim)
    issuing = 1.0 if backlogged else min(async_s / dt, 1.0)
    throttled = sim.st.dirty_pages() >= sim.dirty_limit
    depth = wbt_depth(costs, throttled)
    d.ahead_async_s = issuing * (depth - 0.5) * async_s / requests

"""One disk, shared by every IO the model issues.

The scenarios put a file system on one SATA disk (``Costs``: a random IO of
``disk_read_ms``, ``disk_mb_per_s`` sequential). Data writeback by the
flusher threads and the synchronous IO of tasks and XFS share its time:
reads of refaulted dentries, inodes and pages, reads of new files, and XFS
inode cluster reads and writes (sync reclaim's flushes, unlinks, xfsaild).

Each step, in order:

* :func:`next_step` (first thing) keeps the synchronous IO charged in the
  last step and starts a new account.
* :func:`writeback_share` is the part of the step the flusher threads get:
  what the last step's synchronous IO left, but never less than a third,
  because mq-deadline prefers reads over waiting writes only
  ``writes_starved = 2`` times in a row.
* :func:`settle` (after writeback) sets the step's queueing factor from
  the disk's utilisation ``rho = busy / dt``, busy being the writeback's
  time plus the last step's synchronous IO: every IO issued this step
  waits its service time times ``1 / (1 - rho)``, an M/M/1 queue's mean
  response time, at most 10x (``rho`` capped at 0.9): on a rotational disk
  writeback throttling (wbt, 75 ms target read latency) keeps a request
  from waiting behind an unbounded queue of writes.
* :func:`charge` books an IO's service time on the disk and returns how
  long its issuer waits; :func:`queued` is that wait without booking
  (XFS reclaim sizes a lock hold before it knows it will take the lock).

Before this module the model let synchronous IO cost its issuer time but no
disk time: a refault storm slowed nobody else down.
"""
from __future__ import annotations

MAX_RHO = 0.9            # queueing factor at most 1 / (1 - 0.9) = 10x
MIN_WRITEBACK_SHARE = 1 / 3   # mq-deadline writes_starved = 2


def queued(sim, service_s: float) -> float:
    """Seconds an IO of ``service_s`` disk time keeps its issuer waiting this step."""
    return service_s * sim.disk_slowdown


def charge(sim, service_s: float) -> float:
    """Book ``service_s`` seconds of synchronous IO on the disk; return the issuer's wait."""
    sim.disk_io_s += service_s
    return queued(sim, service_s)


def writeback_share(sim) -> float:
    """Share of this step's disk time left to data writeback (1/3 to 1)."""
    left = 1.0 - sim.disk_io_last_s / sim.params.dt_s
    return min(max(left, MIN_WRITEBACK_SHARE), 1.0)


def next_step(sim) -> None:
    """Start a step: the last step's synchronous IO sets the writeback share (see module doc)."""
    sim.disk_io_last_s, sim.disk_io_s = sim.disk_io_s, 0.0


def settle(sim, writeback_s: float) -> None:
    """After writeback: this step's queueing factor from the disk's busy time."""
    rho = (writeback_s + sim.disk_io_last_s) / sim.params.dt_s
    sim.disk_slowdown = 1.0 / (1.0 - min(rho, MAX_RHO))

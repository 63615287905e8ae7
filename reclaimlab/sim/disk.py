"""One disk, shared by every IO the model issues.

The scenarios put a file system on one SATA disk (``Costs``: a random IO of
``disk_read_ms``, ``disk_mb_per_s`` sequential). Data writeback by the
flusher threads and the IO of tasks and XFS share its time: reads of
refaulted dentries, inodes and pages, reads of new files, XFS inode cluster
reads and writes (sync reclaim's flushes, unlinks, xfsaild, cached dirty
inodes written at dirty expiry) and XFS log forces.

Each step, in order:

* :func:`next_step` (first thing) keeps the IO charged in the last step,
  plus the backlog the disk could not serve in it, and starts a new
  account.
* :func:`writeback_share` is the part of the step the flusher threads get:
  what the last step's other IO and the backlog left, but never less than
  ``Costs.writeback_min_share`` (a third: mq-deadline prefers reads over
  waiting writes only ``writes_starved = 2`` times in a row).
* :func:`settle` (after writeback) sets the step's queueing factor from
  the disk's utilisation ``rho = busy / dt``, busy being this step's
  writeback plus the last step's other IO and backlog; what exceeds the
  step is the backlog carried to the next one. Every IO issued this step
  waits its service time times ``1 / (1 - rho)``, an M/M/1 queue's mean
  response time, at most ``Costs.disk_max_queueing`` times (10: on a
  rotational disk writeback throttling, wbt with its 75 ms target read
  latency, keeps a request from waiting behind an unbounded queue of
  writes).
* :func:`charge` books an IO's service time on the disk and returns how
  long its issuer waits; :func:`queued` is that wait without booking
  (XFS reclaim sizes a lock hold before it knows it will take the lock).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass

if TYPE_CHECKING:                      # the engine imports this module
    from .engine import Sim


@dataclass
class DiskState:
    """The disk's account, changed only by this module's functions."""

    slowdown: float = 1.0     # queueing factor of this step's IO
    io_s: float = 0.0         # synchronous IO booked on the disk this step, s
    io_last_s: float = 0.0    # and in the last step (plus the backlog), s
    backlog_s: float = 0.0    # disk time booked beyond the steps so far, s


def queued(sim: Sim, service_s: float) -> float:
    """Seconds an IO of ``service_s`` disk time keeps its issuer waiting this step."""
    return service_s * sim.disk.slowdown


def charge(sim: Sim, service_s: float) -> float:
    """Book ``service_s`` seconds of synchronous IO on the disk; return the issuer's wait."""
    sim.disk.io_s += service_s
    return queued(sim, service_s)


def writeback_share(sim: Sim) -> float:
    """Share of this step's disk time left to data writeback (``writeback_min_share`` to 1)."""
    left = 1.0 - sim.disk.io_last_s / sim.params.dt_s
    return min(max(left, sim.costs.writeback_min_share), 1.0)


def next_step(sim: Sim) -> None:
    """Start a step: the last step's IO and the backlog set the writeback share (module doc)."""
    sim.disk.io_last_s, sim.disk.io_s = sim.disk.io_s + sim.disk.backlog_s, 0.0


def settle(sim: Sim, writeback_s: float) -> None:
    """After writeback: this step's queueing factor from the disk's busy time."""
    busy = writeback_s + sim.disk.io_last_s
    sim.disk.backlog_s = max(busy - sim.params.dt_s, 0.0)   # served in the next steps
    sim.totals.disk_busy += busy - sim.disk.backlog_s
    rho = busy / sim.params.dt_s
    sim.disk.slowdown = min(1.0 / max(1.0 - rho, 1e-9), sim.costs.disk_max_queueing)

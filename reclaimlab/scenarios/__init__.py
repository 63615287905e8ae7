"""Named, documented scenarios: the cases argued on LKML in 2019.

Each scenario is a :class:`Scenario` with a full-size ``params`` and a
``reduced`` preset that runs in under a second (for widgets, notebooks and
scorecards). Parameters are physical quantities (sizes, rates, latencies)
documented in :mod:`reclaimlab.sim.params`; none is tuned to reach a result.

Examples
--------
>>> import reclaimlab as rl
>>> rl.scenarios.names()
('small-vs-large', 'compile-and-copy', 'desktop-copy', 'dying-memcgs', 'recursive-grep')
"""
from .catalog import SCENARIOS, Scenario, get, names

__all__ = ["SCENARIOS", "Scenario", "get", "names"]

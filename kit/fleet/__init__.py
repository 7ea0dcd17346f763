"""Validate a fleet: score many machines at once on dask.distributed, and find the odd one out.

=================  ==============================================================================
``run``            :func:`score_fleet` (one pinned task per worker, one at a time per host),
                   :func:`local_cluster`, :func:`connect`
``store``          :func:`save_run`, :func:`load_run`, :func:`dataset`: a folder of records per run
                   and a Parquet dataset partitioned by run and machine
``outliers``       the robust rule (median and MAD of log index per category, a minimum effect)
``report``         :func:`fleet_report`: tables, HTML with a chart, ``to_dict`` for ``--json``
``faults``         :func:`parse_slowdowns`: slow one worker's machine, or one backend there
``drill``          ``python -m kit.fleet.drill``: detection rate of a 1.5x slower machine
=================  ==============================================================================

dask is imported on first use of a function that needs it, never at ``import kit.fleet``.

Examples
--------
>>> from kit.fleet import local_cluster, score_fleet, save_run, fleet_report   # doctest: +SKIP
>>> with local_cluster(3) as client:                                           # doctest: +SKIP
...     run = score_fleet(client, operations=["fingerprint", "json.encode"], sizes=["small"],
...                       slowdowns={"worker-1": {"*": 3.0}})
>>> save_run(run)                                                              # doctest: +SKIP
>>> fleet_report(run).flagged                                                  # doctest: +SKIP
['worker-1']
"""

from __future__ import annotations

from kit._lazy import attach

_LAZY = {
    "FleetRun": "kit.fleet.run",
    "Machine": "kit.fleet.run",
    "score_fleet": "kit.fleet.run",
    "local_cluster": "kit.fleet.run",
    "connect": "kit.fleet.run",
    "save_run": "kit.fleet.store",
    "load_run": "kit.fleet.store",
    "list_runs": "kit.fleet.store",
    "dataset": "kit.fleet.store",
    "fleet_dir": "kit.fleet.store",
    "OutlierRule": "kit.fleet.outliers",
    "fleet_outliers": "kit.fleet.outliers",
    "robust_outliers": "kit.fleet.outliers",
    "FleetReport": "kit.fleet.report",
    "fleet_report": "kit.fleet.report",
    "parse_slowdowns": "kit.fleet.faults",
}

__getattr__, __dir__, __all__ = attach("kit.fleet", _LAZY)

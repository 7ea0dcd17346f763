"""Result records: one run's machine, versions, measurements, score and tier, and their validation.

One module per job, behind this face (as pyperf keeps its results format apart from comparing and
from running):

* :mod:`kit.records.store`: the versioned record format, reading (with migration), writing, the
  Parquet table, finding records in the results folder (:func:`kit._paths.results_dir`);
* :mod:`kit.records.compare`: :func:`validate`, a run against a reference record;
* :mod:`kit.records.verdict`: its answer, :class:`Validation` (PASS, FAIL or INCONCLUSIVE, with the
  reason, exit status 0, 1, 3) and its tables;
* :mod:`kit.records.contention`: how contended the machine was while a record was measured;
* :mod:`kit.records.noise_drill`: ``kit drill noise``, the live check of the run-to-run noise.

Making a record is the score's business (:meth:`kit.scoring.ScoreResult.to_record`); the
statistical tests are :mod:`kit.stats`'.

Examples
--------
>>> from kit.records import mann_whitney_u
>>> u, p = mann_whitney_u([1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6], [2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6])
>>> u, round(p, 5)
(0.0, 0.00058)
"""

from __future__ import annotations

from kit._paths import results_dir
from kit.records.store import (MAX_RECORD_BYTES, MIGRATIONS, PARQUET_NAME, REQUIRED, REQUIRED_MEASUREMENT, SCHEMA,
                               SCHEMA_VERSION, Record, RecordError, append_parquet, as_record, find_reference,
                               latest_record, load_record, read_table, write_record)
from kit.records.contention import CONTENTION_LEVELS, LIGHT_LOAD, contention_of
from kit.records.verdict import (ALPHA, EXIT_CODES, FAIL, FASTER_HERE, IMPROVEMENT, INCONCLUSIVE, MIN_EFFECT, PASS,
                                 QUESTIONS, REGRESSION, RUN_ALPHA, SAME, SLOWER_HERE, SUGGESTIVE_ALPHA, TOLERANCE,
                                 VERDICTS,
                                 Comparison, Validation, validation_tables)
from kit.records.compare import SCOPES, validate
from kit.stats import mann_whitney_u, min_p_value

__all__ = [
    "ALPHA",
    "CONTENTION_LEVELS",
    "EXIT_CODES",
    "FAIL",
    "FASTER_HERE",
    "IMPROVEMENT",
    "INCONCLUSIVE",
    "LIGHT_LOAD",
    "MAX_RECORD_BYTES",
    "MIGRATIONS",
    "MIN_EFFECT",
    "PARQUET_NAME",
    "PASS",
    "QUESTIONS",
    "REGRESSION",
    "REQUIRED",
    "REQUIRED_MEASUREMENT",
    "RUN_ALPHA",
    "SAME",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SCOPES",
    "SLOWER_HERE",
    "SUGGESTIVE_ALPHA",
    "TOLERANCE",
    "VERDICTS",
    "Comparison",
    "Record",
    "RecordError",
    "Validation",
    "append_parquet",
    "as_record",
    "contention_of",
    "find_reference",
    "latest_record",
    "load_record",
    "mann_whitney_u",
    "min_p_value",
    "read_table",
    "results_dir",
    "validate",
    "validation_tables",
    "write_record",
]

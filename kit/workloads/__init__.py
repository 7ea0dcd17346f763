"""Workloads: seeded payloads the engine measures on (more arrive with the workloads issue).

Examples
--------
>>> from kit.workloads import payload
>>> len(payload("random", 32, seed=1))
32
"""

from kit.workloads.payloads import KINDS, payload

__all__ = ["KINDS", "payload"]

"""Drill: a local fleet of 3 workers, one slowed 1.5x in turn over 10 trials (kit.fleet.drill).

Target (issue: validate a fleet): the slowed worker flagged in 10 of 10 trials, no unslowed worker
in any. The workers measure with thread CPU time, as the drill's figures in docs/fleet.md were.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.drill


def test_fleet_flags_the_slowed_worker_and_no_other(monkeypatch):
    pytest.importorskip("distributed")
    from kit.fleet.drill import detection

    monkeypatch.setenv("KIT_CLOCK", "thread")  # the workers inherit it
    figures = detection(trials=10, factor=1.5, say=print)
    print(f"fleet drill ({figures['clock']} clock): slowed worker flagged {figures['slowed_flagged']}/10, "
          f"runs with a false alarm {figures['false_alarm_runs']}/10, realised slowdown "
          f"{figures['realised_median']:.2f}x, largest unslowed overall deviation "
          f"{figures['worst_unslowed_overall']:.0%}")
    assert figures["slowed_flagged"] == 10 and figures["false_alarm_runs"] == 0

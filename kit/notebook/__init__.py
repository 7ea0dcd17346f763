"""Widget panels the notebooks call: the logic lives here, the notebooks stay thin.

Each panel is a class with a ``widget`` (display it, or display the panel
itself) and plain methods and attributes that tests drive by setting widget
values and calling handlers. Menus come from the registry; charts are
matplotlib figures rendered offline to PNG; long work shows ``tqdm.auto``
progress bars. ``KIT_QUICK=1`` (``kit.get_config()["quick"]``) makes each
panel's default run take seconds.

ipywidgets, matplotlib and tqdm load on first use of a panel, never at
``import kit``.

Examples
--------
>>> import kit.notebook as nb
>>> panel = nb.ProfilingPanel(operation="fingerprint")   # doctest: +SKIP
>>> panel                                                # shows the widgets  # doctest: +SKIP
>>> panel.run()                                          # same as pressing Measure  # doctest: +SKIP
"""

from __future__ import annotations

from kit._lazy import attach

_LAZY = {
    "GenerationPanel": "kit.notebook.generation",
    "ProfilingPanel": "kit.notebook.profiling",
    "Scaling": "kit.profile",
    "measure_scaling": "kit.profile",
    "TiersPanel": "kit.notebook.tiers",
    "FleetPanel": "kit.notebook.fleet",
    "CacheExplorer": "kit.notebook.cache",
    "MemoizePanel": "kit.notebook.cache",
    "hit_rate_curves": "kit.notebook.cache",
    "tier_breakdown": "kit.notebook.cache",
    "compression_savings": "kit.notebook.cache",
}

__all__ = list(_LAZY)


__getattr__, __dir__, _ = attach("kit.notebook", _LAZY)

"""Every notebook runs headless from top to bottom (nbclient, KIT_QUICK=1); any error fails.

The kernel inherits this process's environment: ``KIT_QUICK=1`` (set here)
and conftest's temporary ``KIT_CACHE_DIR`` apply to it. Each notebook runs in a
temporary copy of ``notebooks/`` (beside a copy of ``results/kit``) so that
nothing it writes lands in the repository.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_the_five_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == [
        "01-generation.ipynb", "02-profiling.ipynb", "03-tiers-and-validation.ipynb", "04-cache-explorer.ipynb",
        "05_fleet.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean_and_thin(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    for i, cell in enumerate(code):
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: code cell {i} has outputs"
        lines = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        # thin: the logic lives in kit.notebook, the cells only call it
        assert len(lines) <= 8, f"{path.name}: code cell {i} has {len(lines)} lines; move logic to kit.notebook"
    assert "widgets" not in nb.metadata, f"{path.name} carries saved widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_headless(path, tmp_path, monkeypatch):
    work = tmp_path / "notebooks"
    shutil.copytree(path.parent, work)
    # 03 reads reference records from ../results/kit and saves there: a copy, never the repository's
    if (ROOT / "results" / "kit").is_dir():
        shutil.copytree(ROOT / "results" / "kit", tmp_path / "results" / "kit")
    nb = nbformat.read(work / path.name, as_version=4)
    monkeypatch.setenv("KIT_QUICK", "1")  # the kernel inherits it: seconds, not minutes
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(work)}})
    client.execute()  # a cell that raises fails the test with its traceback (CellExecutionError)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    for c in code:
        errors = [o for o in c.outputs if o.output_type == "error"]
        assert not errors, errors
    views = [o for c in code for o in c.outputs if WIDGET_VIEW in o.get("data", {})]
    assert views, f"{path.name} displayed no widget"

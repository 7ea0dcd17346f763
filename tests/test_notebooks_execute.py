"""Every notebook runs headless from top to bottom (nbclient, KIT_QUICK=1); any error fails; its charts
and tables are ordinary outputs, which a page converted by nbconvert shows.

The kernel inherits this process's environment: ``KIT_QUICK=1`` (set here)
and conftest's temporary ``KIT_CACHE_DIR`` apply to it. Each notebook runs in a
temporary copy of ``notebooks/`` (beside a copy of ``results/kit``) so that
nothing it writes lands in the repository.
"""

from __future__ import annotations

import re
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
        "05-fleet.ipynb"]


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
    # Every chart and table of the run is an ordinary output too, so that the saved notebook and a page
    # converted by nbconvert carry them without any widget state.
    pngs = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    tables = [o for c in code for o in c.outputs if "kit-table" in o.get("data", {}).get("text/html", "")]
    if path.name in PLOTS:
        assert len(pngs) >= PLOTS[path.name], f"{path.name}: {len(pngs)} charts as outputs"
        assert tables, f"{path.name}: no table as an output"
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter().from_notebook_node(nb)
    images = re.findall(r"<img [^>]*src=\"data:image/png;base64,", page)
    assert len(images) >= PLOTS.get(path.name, 0), f"{path.name}: {len(images)} charts in the converted page"
    for text in EXPECT.get(path.name, ()):
        assert text in page, f"{path.name}: {text!r} missing from the converted page"
    for i, n in OWN_OUTPUT.get(path.name, {}).items():
        assert len([o for o in code[i].outputs if "image/png" in o.get("data", {})]) >= n, \
            f"{path.name}: code cell {i} shows no chart of its own"


#: Charts each notebook's first run shows as outputs (at least).
PLOTS = {"01-generation.ipynb": 1, "02-profiling.ipynb": 2, "03-tiers-and-validation.ipynb": 2,
         "04-cache-explorer.ipynb": 3}
#: Code cells that must show a chart of their own: 01's "Traffic" burst, 03's score and validation.
OWN_OUTPUT = {"01-generation.ipynb": {1: 1}, "03-tiers-and-validation.ipynb": {0: 1, 1: 1}}
#: Text the converted page must contain: the quick run labelled as a subset, the answers of 01.
EXPECT = {"03-tiers-and-validation.ipynb": ("quick run: a subset", "significant changes"),
          "01-generation.ipynb": ("cache hit: L1", "time spent serving")}

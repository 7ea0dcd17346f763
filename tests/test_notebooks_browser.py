"""End to end: each notebook in a real JupyterLab, driven in Debian's headless Chromium.

One JupyterLab server per module, on loopback, on a free port, serving a
temporary copy of ``notebooks/``, with kit in quick mode and everything that
would reach the network switched off (news, update checks, the extension
manager). One Chromium (``/usr/bin/chromium``, never a downloaded browser)
with a fresh profile. Each test opens its notebook, waits for the *status
bar's* kernel to be idle (the toolbar can read idle before a kernel exists),
runs all cells from the Run menu, changes a widget, checks that the cell's
output changed in place, and saves a screenshot under ``artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
# JupyterLab user settings that keep it offline and render every cell (no windowing).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
RUN_TIMEOUT_MS = 180_000
# the notebook on screen (JupyterLab hides the others)
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium: apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server started by the tests; ``stop()`` ends its process group."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "notebooks"
        shutil.copytree(ROOT / "notebooks", self.root)
        # 03 reads reference records from ../results/kit and saves there: a copy, never the repository's
        if (ROOT / "results" / "kit").is_dir():
            shutil.copytree(ROOT / "results" / "kit", base / "results" / "kit")
        settings = base / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, KIT_QUICK="1", KIT_CACHE_DIR=str(base / "kit-cache"),
                   JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
                   JUPYTER_CONFIG_DIR=str(base / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(base / "runtime"))
        self.log_path = base / "jupyterlab.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             "--IdentityProvider.token=", f"--ServerApp.root_dir={self.root}",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=",
             "--LabApp.extension_manager=readonly", "--ServerApp.log_level=WARN"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                self.api("status")
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not answer on {self.url} in 90 s:\n{self.log()}") from exc
                time.sleep(0.3)

    def api(self, path: str, method: str = "GET") -> object:
        req = urllib.request.Request(f"{self.url}/api/{path}", method=method)
        with urllib.request.urlopen(req, timeout=5) as r:
            body = r.read()
        return json.loads(body) if body else None

    def sessions(self, notebook: str) -> list[dict]:
        return [s for s in self.api("sessions") if s.get("path", "").endswith(notebook)]

    def shutdown_kernels(self, context) -> None:
        """Shut every kernel down through the browser's session (the server wants its XSRF cookie)."""
        xsrf = next((c["value"] for c in context.cookies(self.url) if c["name"] == "_xsrf"), "")
        for k in self.api("kernels"):
            context.request.delete(f"{self.url}/api/kernels/{k['id']}", headers={"X-XSRFToken": xsrf})

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield server
    finally:
        server.stop()  # also when a test failed: never leave a server behind


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1500})
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def notebook(lab, browser):
    """Open a notebook and wait until its kernel really exists and is idle; returns the page."""
    pages = []

    def open_notebook(name: str):
        page = browser.new_page()
        pages.append(page)
        page.goto(f"{lab.url}/lab/tree/{name}?reset")  # ?reset: no notebook restored from an earlier test
        page.locator(NOTEBOOK).first.wait_for(timeout=60_000)
        wait_kernel_idle(page, lab, name)
        page.keyboard.press("Control+b")  # fold the file browser: more room for the notebook
        return page

    try:
        yield open_notebook
    finally:
        for page in pages:
            page.close()
        lab.shutdown_kernels(browser)


def wait_kernel_idle(page, lab: Lab, name: str, timeout: float = 90) -> None:
    """Wait for the status bar's kernel item to read Idle *and* the server to list an idle kernel."""
    status = page.locator("#jp-main-statusbar span[title^='Change kernel']")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = status.inner_text() if status.count() else ""
        kernels = [s["kernel"] for s in lab.sessions(name) if s.get("kernel")]
        if text.endswith("| Idle") and "No Kernel" not in text and kernels \
                and all(k.get("execution_state") == "idle" for k in kernels):
            return
        time.sleep(0.25)
    raise AssertionError(f"kernel of {name} not idle after {timeout} s (status bar: {text!r})\n{lab.log()}")


def run_all_cells(page) -> None:
    """Run > Run All Cells, then wait until every code cell has run (or one failed)."""
    page.locator("li.lm-MenuBar-item", has_text="Run").first.click()
    page.locator("li.lm-Menu-item", has_text="Run All Cells").first.click()
    page.wait_for_function(
        """(nb) => {
            const panel = document.querySelector(nb);
            if (!panel) return false;
            if (panel.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
                    ?.textContent.includes('Traceback')) return true;
            const ps = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
            return ps.length > 0 && ps.every(p => /^\\[\\d+\\]:$/.test(p));
        }""", arg=NOTEBOOK, timeout=RUN_TIMEOUT_MS)
    errors = page.locator(f"{NOTEBOOK} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                          has_text="Traceback")
    assert errors.count() == 0, errors.first.inner_text()[:3000]


def screenshot(page, name: str, focus=None) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if focus is not None:
        focus.evaluate("el => el.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


# --- one test per notebook ---------------------------------------------------------------------
# Charts and tables are ordinary outputs of the cells (image/png, text/html) that the widgets update in
# place: the tests read them there, change a widget, and wait for the output to change.


def cell(page, i: int):
    return page.locator(f"{NOTEBOOK} .jp-CodeCell").nth(i)


def images(page, i: int):
    return cell(page, i).locator(".jp-OutputArea-output[data-mime-type='image/png'] img")


def wait_src_changed(page, i: int, before: str, k: int = 0, timeout: float = 60_000) -> str:
    """Wait until the k-th image output of code cell i shows another picture."""
    js = """([nb, i, k, before]) => {
        const code = [...document.querySelector(nb).querySelectorAll('.jp-CodeCell')][i];
        const img = code?.querySelectorAll(".jp-OutputArea-output[data-mime-type='image/png'] img")[k];
        return !!img && img.getAttribute('src') !== before; }"""
    page.wait_for_function(js, arg=[NOTEBOOK, i, k, before], timeout=timeout)
    return images(page, i).nth(k).get_attribute("src")


def wait_text(page, i: int, needle: str, timeout: float = 60_000) -> str:
    """Wait until the outputs of code cell i contain ``needle``; returns their text."""
    js = """([nb, i, needle]) => {
        const code = [...document.querySelector(nb).querySelectorAll('.jp-CodeCell')][i];
        return !!code && (code.querySelector('.jp-Cell-outputArea')?.textContent ?? '').includes(needle); }"""
    page.wait_for_function(js, arg=[NOTEBOOK, i, needle], timeout=timeout)
    return cell(page, i).locator(".jp-Cell-outputArea").inner_text()


def test_profiling_notebook(notebook):
    page = notebook("02-profiling.ipynb")
    run_all_cells(page)
    images(page, 0).first.wait_for(timeout=30_000)
    before = images(page, 0).first.get_attribute("src")
    assert before.startswith("data:image/png")
    assert cell(page, 0).locator(".jp-OutputArea-output .kit-table td.r").count() > 0  # right-aligned numbers
    page.locator(".kit-profiling .widget-toggle-button", has_text="throughput").first.click()
    after = wait_src_changed(page, 0, before)  # the kernel redrew the chart, in the cell's own output
    assert after.startswith("data:image/png") and after != before
    shot = screenshot(page, "02-profiling", focus=page.locator(".kit-profiling").first)
    assert shot.stat().st_size > 10_000
    assert images(page, 1).first.get_attribute("src").startswith("data:image/png")  # the kernels' panel ran too
    shot = screenshot(page, "02-profiling-kernels", focus=cell(page, 1))
    assert shot.stat().st_size > 10_000


def test_cache_explorer_notebook(notebook):
    page = notebook("04-cache-explorer.ipynb")
    run_all_cells(page)
    images(page, 0).first.wait_for(timeout=30_000)
    before = images(page, 0).first.get_attribute("src")
    table_before = cell(page, 0).locator(".jp-OutputArea-output .kit-table").first.inner_text()
    page.locator(".kit-cache-explorer .widget-dropdown select").first.select_option("uniform")
    page.locator(".kit-cache-explorer button", has_text="Simulate").first.click()
    after = wait_src_changed(page, 0, before)  # a new trace, new hit-rate curves
    assert after.startswith("data:image/png") and after != before
    assert cell(page, 0).locator(".jp-OutputArea-output .kit-table").first.inner_text() != table_before
    # memoize: two calls in the notebook (miss, hit), one more from the button (hit)
    memo = page.locator(".kit-memoize").first
    memo.locator("button", has_text="Call").click()
    wait_text(page, 1, "hits 2")
    rows = cell(page, 1).locator(".jp-OutputArea-output .kit-table tbody tr")
    results = [rows.nth(i).locator("td").nth(3).inner_text().strip() for i in range(min(rows.count(), 3))]
    assert results == ["miss", "hit", "hit"], rows.all_inner_texts()
    shot = screenshot(page, "04-cache-explorer", focus=page.locator(".kit-cache-explorer").first)
    assert shot.stat().st_size > 10_000


def test_generation_notebook(notebook):
    page = notebook("01-generation.ipynb")
    run_all_cells(page)
    panel = page.locator(".kit-generation").first
    before = wait_text(page, 0, "cache hit: L1")  # the notebook's second call
    images(page, 1).first.wait_for(timeout=30_000)  # the traffic cell shows its own chart
    chart_before = images(page, 1).first.get_attribute("src")
    button = panel.locator("button", has_text="Send 200 requests (Zipf trace)")
    assert button.evaluate("b => b.scrollWidth <= b.clientWidth")  # the whole label shows
    panel.locator(".widget-dropdown", has_text="tone").locator("select").select_option("luxury")
    after = wait_text(page, 0, "cache miss: generated")  # a new tone alone is a new request, answered
    assert after != before
    panel.locator("button", has_text="Generate").click()
    wait_text(page, 0, "cache hit: L1")  # the same request again
    wait_src_changed(page, 1, chart_before)  # the latency chart grew, in the traffic cell
    shot = screenshot(page, "01-generation", focus=panel)
    assert shot.stat().st_size > 10_000


def test_tiers_notebook(notebook):
    page = notebook("03-tiers-and-validation.ipynb")
    run_all_cells(page)
    panel = page.locator(".kit-tiers").first
    headline = wait_text(page, 0, "/ 100")
    assert "a subset" in headline  # a quick run says so
    assert images(page, 0).count() == 1 and images(page, 1).count() == 1  # score and claims; validation
    before = images(page, 1).first.get_attribute("src")
    assert "relative to each run's baseline" in wait_text(page, 1, "significant changes")
    # untick "relative to each run's baseline": the kernel validates again in absolute times and redraws
    panel.locator(".widget-checkbox", has_text="relative").locator("input").uncheck()
    wait_src_changed(page, 1, before)
    assert "absolute times" in wait_text(page, 1, "absolute times")
    shot = screenshot(page, "03-tiers-and-validation", focus=panel)
    assert shot.stat().st_size > 10_000
    shot = screenshot(page, "03-tiers-and-validation-compare", focus=images(page, 1).first)
    assert shot.stat().st_size > 10_000

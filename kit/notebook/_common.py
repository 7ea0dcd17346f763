"""Plumbing shared by the notebook panels: lazy imports, figures as PNG, quick mode.

ipywidgets, matplotlib and tqdm are imported here, inside functions, so that
``import kit`` (and even ``import kit.notebook``) loads none of them.
"""

from __future__ import annotations

import html
import io
import traceback
from typing import Any, Callable

from kit._display import format_bytes  # noqa: F401  (the panels import it from here)
from kit.errors import KitError



def quick() -> bool:
    """``True`` when ``KIT_QUICK`` (``kit.get_config()["quick"]``) asks for a short run.

    Examples
    --------
    >>> import kit
    >>> with kit.config_context(quick=True):
    ...     quick()
    True
    """
    from kit import get_config

    return bool(get_config()["quick"])


def ipywidgets() -> Any:
    """The ``ipywidgets`` module, imported on first use."""
    try:
        import ipywidgets as w
    except ImportError as exc:  # pragma: no cover - a dependency of kit
        raise ImportError("kit.notebook needs ipywidgets (pip install ipywidgets)") from exc
    return w


def new_figure(width: float = 7.0, height: float = 4.2, ncols: int = 1) -> tuple[Any, Any]:
    """A matplotlib ``Figure`` (no pyplot state, no GUI backend) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols)
    return fig, axes


def to_png(fig: Any, dpi: int = 96) -> bytes:
    """Render a matplotlib figure to PNG bytes (offline: the Agg renderer).

    Examples
    --------
    >>> fig, ax = new_figure(2, 2)
    >>> _ = ax.plot([1, 2], [3, 4])
    >>> to_png(fig)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def error_html(exc: BaseException) -> str:
    """One red line for a widget's status: the exception's type and message."""
    return (f"<span style='color:#b00020'><b>{html.escape(type(exc).__name__)}</b>: "
            f"{html.escape(str(exc))}</span>")


def note_html(text: str) -> str:
    return f"<span style='color:#555'>{html.escape(text)}</span>"


def progress(total: int, desc: str) -> Any:
    """A ``tqdm.auto`` bar: a widget in Jupyter, text in a terminal."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)


def in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel, where ``display()`` makes an output of the running cell.

    Examples
    --------
    >>> in_kernel()
    False
    """
    import sys

    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def png_output(png: bytes) -> Any:
    """A PNG as an ordinary output (``image/png``), which a notebook saves and nbconvert shows."""
    from IPython.display import Image

    return Image(data=bytes(png), format="png")


def html_output(text: str) -> Any:
    """HTML as an ordinary output (``text/html``)."""
    from IPython.display import HTML

    return HTML(text)


class Panel:
    """Base of the notebook panels: a ``widget`` to display, a status line, a log, results as outputs.

    Subclasses build their controls in ``__init__`` and set ``self.widget``;
    the widgets that show results (charts, tables) go into ``self.result_boxes``,
    a box inside it (or a list of boxes). A handler wrapped by :meth:`_guarded` never lets an
    exception escape into the kernel's log, where nobody would see it: it
    shows the error on the status line and keeps it in ``self.error``.
    Methods called from a cell (``run()`` and friends) raise as usual.

    Every chart and table is also an ordinary output of the cell whose call
    made it (:meth:`show`), so that a notebook saved after running, or
    converted by nbconvert, carries them without widget state; a widget that
    changes them later (a button, a menu) updates those outputs in place.
    Once they exist, those boxes are hidden, so nothing shows twice.
    """

    widget: Any
    result_boxes: Any = None

    def __init__(self) -> None:
        w = ipywidgets()
        self.error: BaseException | None = None
        self.status = w.HTML(value="")
        self.log = w.Output()
        #: The last object shown per view name (what the outputs show).
        self.shown: dict[str, Any] = {}
        self._handles: dict[str, tuple[int, Any]] = {}
        self._handling = 0

    def _guarded(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def handler(*args: Any) -> None:
            self.error = None
            self._handling += 1
            try:
                fn()
            except Exception as exc:  # shown to the user instead of lost in the kernel log
                self.error = exc
                self.status.value = error_html(exc)
                if not isinstance(exc, (KitError, ValueError, TypeError)):
                    with self.log:  # an unexpected failure: the traceback helps
                        traceback.print_exc()
            finally:
                self._handling -= 1

        return handler

    def show(self, name: str, obj: Any) -> None:
        """Show ``obj`` (:func:`png_output`, :func:`html_output`) as the output called ``name``.

        Called from a cell, it becomes an output of that cell (the same name
        shown by an earlier cell is emptied there: one live copy); called from
        a widget's handler, it replaces the output shown before. Outside a
        kernel it is only kept in :attr:`shown`.
        """
        self.shown[name] = obj
        if not in_kernel():
            return
        from IPython import get_ipython
        from IPython.display import display

        cell = get_ipython().execution_count
        old = self._handles.get(name)
        if self._handling or (old is not None and old[0] == cell):
            if old is not None:
                old[1].update(obj)
            return
        if old is not None:
            old[1].update(html_output(""))
        self._handles[name] = (cell, display(obj, display_id=True))
        boxes = self.result_boxes if isinstance(self.result_boxes, (list, tuple)) else [self.result_boxes]
        for box in boxes:
            if box is not None:
                box.layout.display = "none"  # the outputs show them now

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

"""Where kit reads and writes: the cache folder, the results folder, the shared data, and writes that
readers see whole.

One helper each, so that every part of kit agrees on a folder (and on Windows): the cache folder is
``KIT_CACHE_DIR`` (or ``set_config(cache_dir=...)``), else the user cache directory of platformdirs;
result records go to ``KIT_RESULTS_DIR``, else ``results/kit`` of kit's checkout when run inside it,
else the user data directory.
The third-party conformance suites and workloads are not copied into kit: tests, verification and
benchmarks read them from ``../shared/data`` beside the project's root, or from ``KIT_SHARED_DATA``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

#: Seconds a process waits for a :func:`file_lock` before it gives up.
LOCK_TIMEOUT = 30.0

from kit.config import check_folder

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_data() -> Path | None:
    """The shared data folder, or ``None`` when it is absent.

    Examples
    --------
    >>> p = shared_data()
    >>> p is None or (p / "README.md").exists()
    True
    """
    candidates = []
    if os.environ.get("KIT_SHARED_DATA"):
        candidates.append(Path(os.environ["KIT_SHARED_DATA"]))
    candidates += [PROJECT_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if (c / "README.md").is_file():
            return c
    return None


def shared_file(*parts: str) -> Path | None:
    """A file under the shared data folder, or ``None`` when absent."""
    root = shared_data()
    if root is None:
        return None
    p = root.joinpath(*parts)
    return p if p.exists() else None


def user_cache_dir() -> Path:
    """The user cache directory of platformdirs for kit (no author folder on Windows).

    Examples
    --------
    >>> user_cache_dir().name
    'kit'
    """
    import platformdirs

    return Path(platformdirs.user_cache_dir("kit", appauthor=False))


def cache_dir() -> Path:
    """kit's cache folder: the configured ``cache_dir`` (``KIT_CACHE_DIR``), else :func:`user_cache_dir`.

    Examples
    --------
    >>> import kit
    >>> with kit.config_context(cache_dir="kit-demo"):
    ...     str(cache_dir())
    'kit-demo'
    """
    from kit.config import get_config

    base = get_config().get("cache_dir")
    return Path(base).expanduser() if base else user_cache_dir()


def atomic_write(path: Any, data: str | bytes, *, mode: int | None = None, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one, never a part.

    The data goes to a temporary file in the same folder, which replaces ``path`` in one rename; on
    any failure the temporary file is removed and ``path`` is untouched. ``mode`` sets the file's
    permissions (``tempfile`` makes it 0600); ``fsync`` flushes it to the disk before the rename.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "out.json"
    >>> atomic_write(p, "{}") == p, p.read_text()
    (True, '{}')
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w",
                       **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def usual_mode() -> int:
    """The permissions a new file gets here (0666 less the umask), for files written via a temporary.

    Examples
    --------
    >>> 0 <= usual_mode() <= 0o666
    True
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def checkout_results() -> Path | None:
    """``results/kit`` of the source checkout kit runs from, if it is one.

    Examples
    --------
    >>> p = checkout_results()
    >>> p is None or p.parts[-2:] == ("results", "kit")
    True
    """
    if (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "results" / "kit").is_dir():
        return PROJECT_ROOT / "results" / "kit"
    return None


def results_dir() -> Path:
    """Where records are written: ``KIT_RESULTS_DIR``; else, run from inside kit's own checkout, its
    ``results/kit``; else ``results`` in the user data directory (platformdirs), so that a score run
    in any other folder leaves nothing there.

    Examples
    --------
    >>> results_dir().is_absolute()
    True
    """
    env = os.environ.get("KIT_RESULTS_DIR")
    if env:
        return Path(check_folder("KIT_RESULTS_DIR", env)).expanduser().absolute()
    checkout = checkout_results()
    if checkout is not None and Path.cwd().resolve().is_relative_to(checkout.parent.parent):
        return checkout
    import platformdirs

    return Path(platformdirs.user_data_dir("kit", appauthor=False)) / "results"


def _wait_for(attempt: Any, busy: type[BaseException], path: Path, deadline: float, timeout: float) -> None:
    """Call ``attempt`` until it does not raise ``busy`` (the lock is held elsewhere), every 10 ms, or
    raise ``TimeoutError`` once ``deadline`` (``time.monotonic``) has passed."""
    while True:
        try:
            attempt()
            return
        except busy:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} stayed locked for {timeout:g} s") from None
            time.sleep(0.01)


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) across processes.

    ``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows; where neither exists, a lock file
    created with ``O_EXCL`` (one left by a crashed process is taken over after ``timeout``).
    Raises ``TimeoutError`` after ``timeout`` seconds of waiting.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with file_lock(pathlib.Path(tempfile.mkdtemp()) / "x.lock"):
    ...     pass
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    try:
        import fcntl
    except ImportError:
        fcntl = None  # type: ignore[assignment]
    if fcntl is not None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _wait_for(lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB), BlockingIOError, path, deadline, timeout)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock
        return
    try:
        import msvcrt
    except ImportError:
        msvcrt = None  # type: ignore[assignment]
    if msvcrt is not None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _wait_for(lambda: msvcrt.locking(fd, msvcrt.LK_NBLCK, 1), OSError, path, deadline, timeout)
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.close(fd)
        return
    while True:  # neither: a lock file that exists while it is held
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.close(fd)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    if time.time() - path.stat().st_mtime > timeout:  # left by a process that died
                        path.unlink()
                        continue
                raise TimeoutError(f"{path} stayed locked for {timeout:g} s") from None
            time.sleep(0.01)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()

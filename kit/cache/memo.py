"""``kit.memoize``: cache a function's results by the content of its arguments.

(The module is ``memo``, not ``memoize``, so that importing it never shadows
the function ``kit.cache.memoize``.)

The key of a call is the function's qualified name, a hash of its source
(so editing the function is a miss), ``version=``, and the arguments bound to
the signature (defaults applied, ``ignore=`` names left out) and
fingerprinted by content (:mod:`kit.cache.fingerprint`): arrays and tables by
their buffers, at memory speed.

Concurrent callers of one key compute once: threads wait on a per-key lock,
and processes sharing the on-disk tier wait on a file lock (one of 256
stripes under ``<cache>/locks``), then read the result the first one stored.

The key also holds what the function *holds*: its closure cells, defaults
and, for a bound method, its object, by content (``make_scaler(2)`` and
``make_scaler(3)`` are two functions); functions, closures and bound methods
passed as arguments are fingerprinted the same way.

Results and aliasing: a numpy array in a result (also inside a tuple, list or
dict) is stored as a private copy and returned **read-only**, on the first call
as on every hit, so neither a caller mutating the array it passed in nor one
writing into a result can change what later callers get (``a[0] = 1`` on a
result raises ``ValueError: assignment destination is read-only``; take
``.copy()`` to modify it). polars frames are returned as clones (cheap: the
buffers are shared copy-on-write); Arrow tables are immutable. Other containers
(lists, dicts) are shared, as with ``functools.lru_cache``: do not mutate them.

Persistence: results live in the cache's tiers; with the default cache that is
the on-disk store under the user cache directory (``kit cache stats``), kept
across sessions until evicted, ``.clear()``-ed or invalidated by an edit of the
function or ``version=``.

Examples
--------
>>> import kit
>>> calls = []
>>> @kit.memoize(cache=kit.Cache(disk=False))
... def square(x):
...     calls.append(x)
...     return x * x
>>> square(4), square(4), calls
(16, 16, [4])
>>> square.info()["hits"]
1
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from kit.cache._tier import MISSING
from kit.cache.fingerprint import (ALGORITHM, free_variables, function_identity, function_state, has_state,
                                   new_hasher, update)
from kit.cache.values import UnsupportedValue
from kit.errors import KitWarning

__all__ = ["memoize", "Memoized", "default_cache", "location_cache"]

_STRIPES = 256
_default: list[Any] = []
_default_lock = threading.Lock()


def default_cache() -> Any:
    """The cache ``memoize`` uses when none is given (created on first use, at the default path)."""
    if not _default:
        with _default_lock:
            if not _default:
                from kit.cache.core import Cache

                _default.append(Cache())
    return _default[0]


_located: dict[str, Any] = {}


def location_cache(location: str | os.PathLike) -> Any:
    """The cache of a memoize ``location`` (a project folder): one per folder, created on first use.

    Examples
    --------
    >>> import tempfile
    >>> c = location_cache(tempfile.mkdtemp())
    >>> c.l3 is not None
    True
    """
    path = Path(location).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ValueError(f"memoize location must be a folder, got the file {str(path)!r}")
    key = str(path)
    with _default_lock:
        cache = _located.get(key)
        if cache is None or getattr(cache, "_closed", False):
            from kit.cache.core import Cache

            cache = _located[key] = Cache(path)
    return cache


class _KeyLocks:
    """Per-key locks for threads; per-stripe file locks (``fcntl.flock``) for processes."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, list] = {}  # key -> [lock, users]
        self._held: dict[tuple[str, int], list] = {}  # (dir, stripe) -> [fd, count]
        self._pid = os.getpid()

    @contextlib.contextmanager
    def hold(self, key: str, stripe: int, lock_dir: Path | None) -> Iterator[None]:
        if self._pid != os.getpid():  # forked: inherited locks are not ours
            self.__init__()
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                release = self._file_lock(lock_dir, stripe) if lock_dir is not None else None
                try:
                    yield
                finally:
                    if release is not None:
                        release()
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    self._locks.pop(key, None)

    def _file_lock(self, lock_dir: Path, stripe: int) -> Callable[[], None] | None:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): threads only
            return None
        slot = (str(lock_dir), stripe)
        with self._guard:
            held = self._held.get(slot)
            if held is not None:  # this process already holds the stripe (nested or another thread)
                held[1] += 1
                fd = None
            else:
                fd = -1
        if fd is None:
            return lambda: self._unref(slot)
        lock_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_dir / f"{stripe:02x}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        with self._guard:
            held = self._held.get(slot)
            if held is not None:  # another thread took it meanwhile: share theirs
                held[1] += 1
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            else:
                self._held[slot] = [fd, 1]
        return lambda: self._unref(slot)

    def _unref(self, slot: tuple[str, int]) -> None:
        import fcntl

        with self._guard:
            held = self._held[slot]
            held[1] -= 1
            if held[1] == 0:
                del self._held[slot]
                fcntl.flock(held[0], fcntl.LOCK_UN)
                os.close(held[0])


_locks = _KeyLocks()


#: Containers deeper than this are not searched for arrays to freeze (they are returned as they are).
_FREEZE_DEPTH = 32


def _freeze(value: Any, depth: int = 0) -> Any:
    """A result no caller can change: arrays copied and read-only, inside tuples, lists and dicts too.

    The copy matters: ``lambda a: a[:3]`` returns a view of the caller's array, and
    ``lambda a: a`` the array itself; a read-only view of either still changes when the
    caller writes into their array.
    """
    np = sys.modules.get("numpy")
    t = type(value)
    if np is not None and isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return value  # elements are objects the copy would share anyway
        private = value.copy()
        private.flags.writeable = False
        mask = getattr(private, "_mask", None)
        if isinstance(mask, np.ndarray):
            mask.flags.writeable = False
        # A view of the read-only copy: its flag cannot be set back to writeable.
        return private.view()
    if depth >= _FREEZE_DEPTH:
        return value
    if t is tuple:
        return tuple(_freeze(x, depth + 1) for x in value)
    if t is list:
        return [_freeze(x, depth + 1) for x in value]
    if t is dict:
        return {k: _freeze(x, depth + 1) for k, x in value.items()}
    return _for_caller(value)


def _for_caller(value: Any) -> Any:
    """What a caller gets from a stored result: polars frames cloned (copy-on-write), the rest as stored."""
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(value, (pl.DataFrame, pl.Series)):
        return value.clone()
    return value


def _check_ttl(ttl: Any) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl) or ttl <= 0:
        raise ValueError(f"ttl must be None or a finite positive number of seconds, got {ttl!r}")
    return ttl


class Memoized:
    """A memoized function: call it as the original; ``.clear()``, ``.info()``, ``.key(...)``.

    Parameters
    ----------
    func : callable
    cache : Cache, optional
        Default: :func:`default_cache` (the on-disk cache at the default path).
    version : object, optional
        Part of every key: change it to invalidate results when something the
        source hash cannot see changed (data files, globals, libraries).
    ignore : iterable of str
        Parameter names left out of the key (e.g. ``verbose``, ``self``), and
        closure variables that do not change the result (a call counter, a
        logger): every other closure variable is part of the key, by content.
    ttl : float, optional
        Seconds a result lives.
    location : str or path, optional
        A folder whose on-disk cache keeps the results (not with ``cache``).
    """

    def __init__(self, func: Callable, cache: Any = None, version: Any = None, ignore: Iterable[str] = (),
                 ttl: float | None = None, location: str | os.PathLike | None = None) -> None:
        if not callable(func):
            raise TypeError(f"memoize expects a callable, got {type(func).__name__!r}")
        if cache is not None and location is not None:
            raise ValueError("give memoize a cache= or a location=, not both")
        functools.update_wrapper(self, func)
        self.func = func
        self._cache = cache
        self.location = None if location is None else Path(location).expanduser().resolve()
        if self.location is not None and self.location.exists() and not self.location.is_dir():
            raise ValueError(f"memoize location must be a folder, got the file {str(self.location)!r}")
        self.version = version
        self.ttl = _check_ttl(ttl)
        try:
            self._sig: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            self._sig = None
        if isinstance(ignore, str):
            ignore = [ignore]
        self.ignore = frozenset(ignore)
        self._free = free_variables(func)
        if self.ignore and self._sig is not None:
            unknown = self.ignore - set(self._sig.parameters) - self._free
            if unknown:
                raise ValueError(f"ignore names {sorted(unknown)!r} are neither parameters of "
                                 f"{func.__qualname__}{self._sig} nor variables it closes over "
                                 f"({', '.join(sorted(self._free)) or 'none'})")
        self._var_kw = self._sig is not None and any(
            p.kind is p.VAR_KEYWORD for p in self._sig.parameters.values())
        ident = function_identity(func)
        # Closure cells, defaults and a bound object can change after this: hashed at each call.
        self._stateful = has_state(func)
        name = ident.split(b"\0")[0].decode()
        self.prefix = f"kit.memoize:{name}:"
        h = new_hasher()
        h.update(b"kit.memoize/1\0" + ident)
        update(h, repr(version))
        self._seed = h.digest()
        self.hits = self.misses = self.computes = self.waits = 0
        self.compute_seconds = 0.0
        self._warned = False

    @property
    def cache(self) -> Any:
        """Where results are kept: the ``cache=`` given, the ``location=``'s cache, or :func:`default_cache`."""
        if self._cache is None:
            self._cache = location_cache(self.location) if self.location is not None else default_cache()
        return self._cache

    def cached(self, *args: Any, **kwargs: Any) -> bool:
        """Whether the result of this call is stored (in any tier); nothing is computed or counted.

        (joblib calls it ``check_call_in_cache``; that name works too.)

        Examples
        --------
        >>> import kit
        >>> f = kit.memoize(lambda x: x * 2, cache=kit.Cache(disk=False))
        >>> f.cached(3)
        False
        >>> _ = f(3)
        >>> f.cached(3), f.cached(4)
        (True, False)
        """
        return self.key(*args, **kwargs) in self.cache

    check_call_in_cache = cached

    def key(self, *args: Any, **kwargs: Any) -> str:
        """The cache key of a call (computed, not looked up).

        Examples
        --------
        >>> import kit
        >>> f = kit.memoize(lambda x, verbose=False: x, cache=kit.Cache(disk=False), ignore=["verbose"])
        >>> f.key(1) == f.key(1, verbose=True)
        True
        """
        h = new_hasher()
        h.update(self._seed)
        if self._stateful:
            function_state(h, self.func, ignore=self.ignore)
        if self._sig is not None:
            try:
                bound = self._sig.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{self.func.__qualname__}{self._sig}: {exc}") from None
            bound.apply_defaults()
            for name, value in bound.arguments.items():
                if name in self.ignore:
                    continue
                if self._var_kw and self._sig.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                    value = {k: v for k, v in value.items() if k not in self.ignore}
                update(h, name)
                update(h, value)
        else:
            update(h, args)
            update(h, kwargs)
        return f"{self.prefix}{ALGORITHM}:{h.hexdigest()}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = self.key(*args, **kwargs)
        cache = self.cache
        value = cache.get(key, MISSING)
        if value is not MISSING:
            self.hits += 1
            return _for_caller(value)
        l3 = getattr(cache, "l3", None)
        lock_dir = l3.path.parent / "locks" if l3 is not None else None
        stripe = int(key[-2:], 16) % _STRIPES
        with _locks.hold(key, stripe, lock_dir):
            value = cache.get(key, MISSING)
            if value is not MISSING:  # another caller computed it while we waited
                self.waits += 1
                self.hits += 1
                return _for_caller(value)
            self.misses += 1
            t0 = time.perf_counter()
            result = self.func(*args, **kwargs)
            self.compute_seconds += time.perf_counter() - t0
            self.computes += 1
            result = _freeze(result)
            try:
                cache.set(key, result, self.ttl)
            except Exception as exc:  # never lose a computed result to the cache
                self._keep_in_memory(cache, key, result, exc)
            return _for_caller(result)

    def _keep_in_memory(self, cache: Any, key: str, result: Any, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            why = str(exc) if isinstance(exc, UnsupportedValue) else f"{type(exc).__name__}: {exc}"
            warnings.warn(KitWarning(f"kit.memoize: results of {self.func.__qualname__} are kept in memory "
                                     f"only: {why}"), stacklevel=3)
        try:
            cache.set_memory(key, result, self.ttl)
        except Exception:  # not even L1 can hold it (e.g. larger than its bound): computed again next time
            pass

    def __kit_fingerprint__(self) -> bytes:
        """A memoized function as an argument (or a closure cell): its identity, version and state."""
        h = new_hasher()
        h.update(self._seed)
        if self._stateful:
            function_state(h, self.func, ignore=self.ignore)
        return h.digest()

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    def clear(self) -> None:
        """Remove every stored result of this function (all versions and sources) from every tier."""
        self.cache.clear(prefix=self.prefix)

    def info(self) -> dict[str, Any]:
        """Calls answered from the cache, computed, waited for; compute time; key prefix and hash.

        Examples
        --------
        >>> import kit
        >>> f = kit.memoize(lambda x: x, cache=kit.Cache(disk=False))
        >>> _ = f(1); _ = f(1)
        >>> (f.info()["hits"], f.info()["misses"])
        (1, 1)
        """
        calls = self.hits + self.misses
        mean = self.compute_seconds / self.computes if self.computes else None
        return {"function": f"{self.func.__module__}.{self.func.__qualname__}", "hits": self.hits,
                "misses": self.misses, "hit_rate": round(self.hits / calls, 4) if calls else None,
                "computes": self.computes, "waited": self.waits, "compute_seconds": self.compute_seconds,
                "mean_compute_seconds": mean,
                "saved_seconds_estimate": mean * self.hits if mean is not None else None,
                "key_prefix": self.prefix, "key_hash": ALGORITHM, "version": self.version,
                "ignore": sorted(self.ignore), "ttl": self.ttl,
                "location": str(self.location) if self.location is not None else None}

    def __repr__(self) -> str:
        return f"<memoized {self.func.__module__}.{self.func.__qualname__}>"


def memoize(func: Callable | None = None, *, cache: Any = None, version: Any = None, ignore: Iterable[str] = (),
            ttl: float | None = None, location: str | os.PathLike | None = None) -> Any:
    """Cache a function's results by the content of its arguments.

    Use as ``@memoize`` or ``@memoize(location=..., version=..., ignore=[...], ttl=...)``.

    The key of a call is the function (qualified name, source and code, and
    what it holds: closure cells, defaults, a bound method's object, by
    content), ``version`` and the arguments bound to the signature, each
    fingerprinted by content (arrays and tables by their buffers).

    Results are **read-only**: a numpy array in a result (also inside a
    tuple, list or dict) is a private copy, returned read-only on the first
    call as on every hit (``a[0] = 1`` raises ``ValueError: assignment
    destination is read-only``; use ``.copy()`` to modify it), so no caller
    can change what later callers get; polars frames come back as clones.
    Lists and dicts themselves are shared, as with ``functools.lru_cache``.

    Results **persist**: they are stored in the cache's on-disk tier and
    survive the process, until evicted (least recently used beyond the
    cache's ``disk_bytes``), cleared (``f.clear()``, ``kit cache clear``) or
    invalidated (editing the function, a new ``version``). Without ``cache``
    or ``location`` that is the user cache directory (``kit cache stats``);
    ``location`` keeps them in a folder of your choosing, such as a
    project's, like ``joblib.Memory(location)``.

    Parameters
    ----------
    func : callable, optional
    cache : kit.Cache, optional
        Where results are kept (default: the on-disk cache at the default path).
    version : object, optional
        Bump it to invalidate (e.g. when data a function reads changed).
    ignore : iterable of str
        Parameters that do not change the result (``verbose``, ``n_jobs``),
        and closure variables that do not (a call counter, a logger).
    ttl : float, optional
        Seconds a result lives.
    location : str or path, optional
        A folder for the results (one on-disk cache per folder, shared by the
        functions memoized there); not with ``cache``.

    Returns
    -------
    Memoized
        Call it as the function; ``.cached(*args)`` says whether a call is
        stored, ``.clear()`` forgets every result, ``.info()`` counts hits.

    Examples
    --------
    >>> import kit, numpy as np, tempfile
    >>> @kit.memoize(location=tempfile.mkdtemp())
    ... def col_means(a):
    ...     return a.mean(axis=0)
    >>> x = np.ones((1000, 3))
    >>> col_means.cached(x)
    False
    >>> col_means(x).tolist() == col_means(x.copy()).tolist()
    True
    >>> col_means.info()["hits"], col_means.cached(x)
    (1, True)
    >>> col_means(x).flags.writeable
    False
    """
    if func is None:
        return lambda f: Memoized(f, cache, version, ignore, ttl, location)
    return Memoized(func, cache, version, ignore, ttl, location)

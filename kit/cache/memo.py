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

Results are shared, as with ``functools.lru_cache``: the object returned on
a hit is the one stored. numpy arrays are returned read-only (a read-only
view of the result), so a caller cannot change what later callers get.

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
import os
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from kit.cache._tier import MISSING
from kit.cache.fingerprint import ALGORITHM, _update, function_identity, new_hasher
from kit.cache.values import UnsupportedValue
from kit.errors import KitWarning

__all__ = ["memoize", "Memoized", "default_cache"]

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


def _freeze(value: Any) -> Any:
    np = sys.modules.get("numpy")
    if np is not None and type(value) is np.ndarray and value.flags.writeable:
        view = value.view()
        view.flags.writeable = False
        return view
    return value


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
        Parameter names left out of the key (e.g. ``verbose``, ``self``).
    ttl : float, optional
        Seconds a result lives.
    """

    def __init__(self, func: Callable, cache: Any = None, version: Any = None, ignore: Iterable[str] = (),
                 ttl: float | None = None) -> None:
        if not callable(func):
            raise TypeError(f"memoize expects a callable, got {type(func).__name__!r}")
        functools.update_wrapper(self, func)
        self.func = func
        self._cache = cache
        self.version = version
        self.ttl = ttl
        try:
            self._sig: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            self._sig = None
        self.ignore = frozenset(ignore)
        if self.ignore and self._sig is not None:
            unknown = self.ignore - set(self._sig.parameters)
            if unknown:
                raise ValueError(f"ignore names {sorted(unknown)!r} are not parameters of "
                                 f"{func.__qualname__}{self._sig}")
        self._var_kw = self._sig is not None and any(
            p.kind is p.VAR_KEYWORD for p in self._sig.parameters.values())
        ident = function_identity(func)
        name = ident.split(b"\0")[0].decode()
        self.prefix = f"kit.memoize:{name}:"
        h = new_hasher()
        h.update(b"kit.memoize/1\0" + ident)
        _update(h, repr(version), 0)
        self._seed = h.digest()
        self.hits = self.misses = self.computes = self.waits = 0
        self.compute_seconds = 0.0
        self._warned = False

    @property
    def cache(self) -> Any:
        if self._cache is None:
            self._cache = default_cache()
        return self._cache

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
                _update(h, name, 0)
                _update(h, value, 0)
        else:
            _update(h, args, 0)
            _update(h, kwargs, 0)
        return f"{self.prefix}{ALGORITHM}:{h.hexdigest()}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = self.key(*args, **kwargs)
        cache = self.cache
        value = cache.get(key, MISSING)
        if value is not MISSING:
            self.hits += 1
            return value
        l3 = getattr(cache, "l3", None)
        lock_dir = l3.path.parent / "locks" if l3 is not None else None
        stripe = int(key[-2:], 16) % _STRIPES
        with _locks.hold(key, stripe, lock_dir):
            value = cache.get(key, MISSING)
            if value is not MISSING:  # another caller computed it while we waited
                self.waits += 1
                self.hits += 1
                return value
            self.misses += 1
            t0 = time.perf_counter()
            result = self.func(*args, **kwargs)
            self.compute_seconds += time.perf_counter() - t0
            self.computes += 1
            result = _freeze(result)
            try:
                cache.set(key, result, self.ttl)
            except UnsupportedValue as exc:
                if not self._warned:
                    self._warned = True
                    warnings.warn(KitWarning(f"kit.memoize: results of {self.func.__qualname__} are kept in memory "
                                             f"only: {exc}"), stacklevel=2)
                cache.set_memory(key, result, self.ttl)
            return result

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
                "ignore": sorted(self.ignore), "ttl": self.ttl}

    def __repr__(self) -> str:
        return f"<memoized {self.func.__module__}.{self.func.__qualname__}>"


def memoize(func: Callable | None = None, *, cache: Any = None, version: Any = None, ignore: Iterable[str] = (),
            ttl: float | None = None) -> Any:
    """Cache a function's results by the content of its arguments.

    Use as ``@memoize`` or ``@memoize(cache=..., version=..., ignore=[...], ttl=...)``.

    Parameters
    ----------
    func : callable, optional
    cache : kit.Cache, optional
        Default: the on-disk cache at the default path (see ``kit cache stats``).
    version : object, optional
        Bump it to invalidate (e.g. when data a function reads changed).
    ignore : iterable of str
        Parameters that do not change the result (``verbose``, ``n_jobs``).
    ttl : float, optional
        Seconds a result lives.

    Returns
    -------
    Memoized

    Examples
    --------
    >>> import kit, numpy as np
    >>> @kit.memoize(cache=kit.Cache(disk=False))
    ... def col_means(a):
    ...     return a.mean(axis=0)
    >>> x = np.ones((1000, 3))
    >>> col_means(x).tolist() == col_means(x.copy()).tolist()
    True
    >>> col_means.info()["hits"]
    1
    """
    if func is None:
        return lambda f: Memoized(f, cache, version, ignore, ttl)
    return Memoized(func, cache, version, ignore, ttl)

"""JSON through the engine's selected backend: ``dumps`` and ``loads``.

The behaviour is the registry's contract (see ``kit.registry.json``), the
same whichever backend runs: the baseline's bytes out (stdlib ``json``,
compact, UTF-8), exact integers, non-finite floats as ``null``,
``NaN``/``Infinity`` literals rejected, RFC 3339 datetimes. A backend that
would answer an input differently declines it and the call falls back to the
baseline, counted per input class in ``kit info``.

``dumps`` cannot know its output size in advance, so it uses the backend
selected for the medium class; ``loads`` picks per size class.

Examples
--------
>>> import kit
>>> kit.json.dumps({"a": [1, 2**70, float("nan")]})
b'{"a":[1,1180591620717411303424,null]}'
>>> kit.json.loads(b'{"a": 1}')
{'a': 1}
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

from kit import config as _config
from kit import registry as _registry
from kit.engine.core import get_engine
from kit.engine.handlers import dispatch
from kit.registry import MEDIUM_MAX, SMALL_MAX
from kit.registry.json import SMALL_FLOATS, SMALL_FLOATS_WHY, find_problem, small_float_written

__all__ = ["dumps", "loads", "encode", "decode"]

_loads = dispatch("json.decode")


def _unserializable(obj: Any, default: Callable | None, exc: BaseException) -> BaseException:
    """The error for an object the contract cannot encode, naming the real offender and its path."""
    found = find_problem(obj, default)
    if found is None:
        return exc
    path, bad, kind, detail = found
    if kind == "cycle":
        where = "it contains itself" if detail == path else f"it is the object at {detail} again"
        return ValueError(f"Circular reference detected at {path}: {where}; JSON has no references, so "
                          "the encoding would never end")
    if kind == "surrogate":
        i = next(j for j, c in enumerate(bad) if 0xD800 <= ord(c) <= 0xDFFF)
        return UnicodeEncodeError("utf-8", bad, i, i + 1, f"surrogates not allowed (a lone surrogate in the str at "
                                  f"{path}; UTF-8 cannot encode it)")
    if kind == "int":
        return ValueError(f"the integer at {path} has more digits than Python converts to str "
                          f"({len(str(abs(bad).bit_length()))}+ bits; see sys.set_int_max_str_digits)")
    if kind == "non-finite key":
        return ValueError(f"Out of range float key {bad!r} at {path}: non-finite floats cannot be keys")
    if kind == "key":
        return TypeError(f"keys must be str, int, float, bool or None, not {type(bad).__name__}, at {path}")
    return TypeError(
        f"Object of type {type(bad).__name__} is not JSON serializable at {path}; "
        "kit.json encodes dict, list, tuple, str, int, float, bool, None, datetime, date, time, "
        "UUID, Enum and dataclasses (pass default= for others)"
    )


def _encode_fallback(obj: Any, exc: BaseException) -> bytes:
    b = get_engine().binding("json.encode")
    try:
        return b.fallback((obj,), exc, b.names[1])
    except _registry.Declined:
        raise  # a forced backend declined: its own error, never swapped
    except (TypeError, ValueError) as final:
        raise _unserializable(obj, None, final) from None


_bound: "weakref.WeakSet[Callable]" = weakref.WeakSet()


def _cell(fn: Callable, name: str) -> Any:
    return fn.__closure__[fn.__code__.co_freevars.index(name)]


def _bound_encoder(fn: Callable) -> Callable[..., bytes]:
    """``dumps`` specialised to one binding: closure cells and a single Python frame above the library.

    The module attribute ``dumps`` is replaced by this function while the
    binding is current. When the configuration or the selection changes, its
    ``live`` cell turns false (see :func:`_unbind`) and it re-dispatches, so a
    copy kept by ``from kit.json import dumps`` stays correct: the per-call
    cost of following changes is reading one cell. The parameters are
    positional-or-keyword on purpose: CPython specialises calls to such
    functions, not to ones with keyword-only parameters (~10% of a 200-byte
    encode). A backend that names its library call (``fn.inline``, orjson's)
    is called inline, with its output screen (what it declines falls back
    here); any other runs its own guard inside ``fn``.
    """
    live = True
    inline = getattr(fn, "inline", None)
    if inline is not None:
        lib, hook, opts = inline

        def dumps(obj: Any, default: Callable | None = None, backend: str | None = None) -> bytes:
            if live and default is backend is None:
                try:
                    out = lib(obj, hook, opts)
                except Exception as exc:
                    return _encode_fallback(obj, exc)
                # small_float_screen, inlined: a frame costs as much as the screen. 45 is ord("-"): an int
                # needle makes `in` a memchr without a method call.
                if out.partition(b"0.0000")[1] or (45 in out and out.partition(b"e-")[1]):
                    if small_float_written(out):
                        return _encode_fallback(obj, _registry.Declined(SMALL_FLOATS, SMALL_FLOATS_WHY))
                return out
            return _other_dumps(obj, default, backend)
    else:
        call = fn

        def dumps(obj: Any, default: Callable | None = None, backend: str | None = None) -> bytes:
            if live and default is backend is None:
                try:
                    return call(obj)
                except Exception as exc:
                    return _encode_fallback(obj, exc)
            return _other_dumps(obj, default, backend)

    dumps.__doc__ = _dumps.__doc__
    dumps.__module__ = __name__
    _bound.add(dumps)
    return dumps


def _other_dumps(obj: Any, default: Callable | None, backend: str | None) -> bytes:
    """A bound ``dumps`` called with ``default=``/``backend=``, or after it went stale."""
    if default is backend is None:
        return _generic_dumps(obj)
    return _dumps(obj, default=default, backend=backend)


def _bound_decoder(b: Any) -> Callable[..., Any]:
    """``loads`` specialised to one binding, as :func:`_bound_encoder`: one frame above the library.

    Only ``bytes`` and ``str`` take the one-frame path (a library may accept
    any buffer, the baseline does not); a bytearray, a memoryview or a
    subclass takes the general path. The two types are closure cells that
    :func:`_unbind` sets to ``None`` when the binding goes stale, so that one
    test covers both the input's type and the binding's freshness. Two
    identity tests cost less than a ``live`` flag and a set lookup: 1.08–1.10×
    a direct call on a 186-byte document, against 1.11× (three runs each of
    ``python -m kit.targets engine``).
    """
    fast_bytes, fast_str = bytes, str
    small, medium, large = b.small, b.medium, b.large
    names, fallback = b.names, b.fallback
    if names[0] == names[1] == names[2]:
        name = names[0]

        def loads(data: Any, backend: str | None = None) -> Any:
            t = type(data)
            if (t is fast_bytes or t is fast_str) and backend is None:
                try:
                    return medium(data)
                except Exception as exc:
                    return fallback((data,), exc, name)
            return _generic_loads(data, backend=backend)
    else:
        def loads(data: Any, backend: str | None = None) -> Any:
            t = type(data)
            if (t is fast_bytes or t is fast_str) and backend is None:
                n = len(data)
                if n < SMALL_MAX:
                    fn, i = small, 0
                elif n < MEDIUM_MAX:
                    fn, i = medium, 1
                else:
                    fn, i = large, 2
                try:
                    return fn(data)
                except Exception as exc:
                    return fallback((data,), exc, names[i])
            return _generic_loads(data, backend=backend)

    loads.__doc__ = _generic_loads.__doc__
    loads.__module__ = __name__
    _bound.add(loads)
    return loads


def _unbind() -> None:
    globals()["dumps"] = _generic_dumps
    globals()["loads"] = _generic_loads
    for f in list(_bound):
        if "live" in f.__code__.co_freevars:  # an encoder
            _cell(f, "live").cell_contents = False
        else:  # a decoder: no type is `None`, so every call takes the general path
            _cell(f, "fast_bytes").cell_contents = _cell(f, "fast_str").cell_contents = None
    _bound.clear()


_config.on_change(_unbind)


def _rebind() -> Callable[..., bytes]:
    b = get_engine().binding("json.encode")
    if b.gen < 0:  # a config_context is active somewhere: no specialisation
        return _dumps
    fast = _bound_encoder(b.medium)
    globals()["dumps"] = fast
    return fast


def _rebind_loads() -> Callable[..., Any] | None:
    b = get_engine().binding("json.decode")
    if b.gen < 0:
        return None
    fast = _bound_decoder(b)
    globals()["loads"] = fast
    return fast


def _dumps(obj: Any, *, default: Callable | None = None, backend: str | None = None) -> bytes:
    """Encode ``obj`` as compact UTF-8 JSON bytes.

    Parameters
    ----------
    default : callable, optional
        Called for objects the contract does not cover; returns a JSON-able value.
    backend : str, optional
        Force a backend (``kit info`` lists them); its errors propagate.

    Raises
    ------
    TypeError
        For an object that cannot be encoded, naming its type and path.
    ValueError
        For a circular reference, naming the path where the cycle closes.

    Examples
    --------
    >>> dumps({"when": __import__("datetime").date(2024, 1, 2)})
    b'{"when":"2024-01-02"}'
    >>> dumps({"items": [1, {2}]})
    Traceback (most recent call last):
    ...
    TypeError: Object of type set is not JSON serializable at $.items[1]; ...
    """
    if default is None and backend is None:
        b = get_engine().binding("json.encode")
        try:
            return b.medium(obj)
        except Exception as exc:
            return _encode_fallback(obj, exc)
        finally:
            if b.gen >= 0 and not _config.contexts_active():
                _rebind()
    if backend is None:
        b = get_engine().binding("json.encode")
        try:
            return b.medium(obj, default)
        except Exception as exc:
            if b.forced:
                raise
            try:
                out = b.baseline(obj, default)
            except (TypeError, ValueError) as final:
                if isinstance(final, _registry.Declined):
                    raise
                raise _unserializable(obj, default, final) from None
            b.engine.count_fallback("json.encode", b.names[1], _registry.input_class(exc))
            return out
    return get_engine().implementation("json.encode", backend)(obj, default)


def _generic_loads(data: bytes | bytearray | memoryview | str, backend: str | None = None) -> Any:
    """Decode JSON from bytes or str.

    Raises
    ------
    ValueError
        For invalid JSON, with the position (``json.JSONDecodeError``).
    TypeError
        For an input that is not bytes-like or str.

    Examples
    --------
    >>> loads('[1, 2.5, "x"]')
    [1, 2.5, 'x']
    >>> loads(b'[1,')
    Traceback (most recent call last):
    ...
    json.decoder.JSONDecodeError: Expecting value: line 1 column 4 (char 3)
    """
    if not isinstance(data, (bytes, str, bytearray, memoryview)):
        raise TypeError(f"kit.json.loads expects bytes, bytearray, memoryview or str, got {type(data).__name__}")
    if backend is None and globals()["loads"] is _generic_loads and not _config.contexts_active():
        _rebind_loads()  # later calls take the one-frame path
    return _loads(data, backend=backend)


loads = _generic_loads


def _generic_dumps(obj: Any, default: Callable | None = None, backend: str | None = None) -> bytes:
    current = globals()["dumps"]
    fast = _rebind() if current is _generic_dumps else current
    return fast(obj, default=default, backend=backend)  # (_dumps's parameters are keyword-only)


_generic_dumps.__doc__ = _dumps.__doc__
dumps = _generic_dumps


def encode(obj: Any, *, default: Callable | None = None, backend: str | None = None) -> bytes:
    """Alias of :func:`dumps` (msgspec's name).

    Examples
    --------
    >>> encode([1])
    b'[1]'
    """
    return globals()["dumps"](obj, default=default, backend=backend)


def decode(data: bytes | bytearray | memoryview | str, *, backend: str | None = None) -> Any:
    """Alias of :func:`loads` (msgspec's name).

    Examples
    --------
    >>> decode(b'[1]')
    [1]
    """
    return globals()["loads"](data, backend=backend)

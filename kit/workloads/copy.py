"""Deterministic, template-based marketing copy: the copywriting service's workload.

A :class:`CopyRequest` names a product and how to write about it (tone, use
case, language); :func:`generate_copy` renders the language's templates
(``_templates.py``) with its grammar (``_grammar.py``): articles, adjectives,
participles and pronouns agree with the product's gender and number, verbs
take the tone's register (Spanish *tú*/*usted*, French *tu*/*vous*), and the
orthographic rules of each language are applied. No model, no network: the
same request gives the same copy, on any machine.

Examples
--------
>>> from kit.workloads import generate_copy
>>> r = generate_copy({"product": "Aurora", "tone": "luxury", "language": "es",
...                    "gender": "feminine", "variants": 2})
>>> len(r.variants), r.variants[0] != r.variants[1]
(2, True)
>>> ad = generate_copy({"product": "Aurora", "tone": "luxury", "language": "es", "gender": "feminine",
...                     "use_case": "ad_copy", "variants": 3})
>>> [v for v in ad.variants if v.startswith("La Aurora.")]
['La Aurora. Exclusiva. Disponible ya. Resérvela hoy: unidades limitadas.']
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import string
import zlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from kit.errors import KitError
from kit.workloads._grammar import GENDERS, GRAMMARS, NUMBERS, agree, capitalize
from kit.workloads._templates import LANGUAGE_DATA, OPTIONAL_SLOTS, TONES, USE_CASES

__all__ = [
    "GENERATOR_VERSION",
    "CopyRequest",
    "CopyResult",
    "InvalidRequest",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "LIMITS",
    "TONES",
    "USE_CASES",
    "generate_copy",
]

#: The version of the text :func:`generate_copy` writes for a request. The copy service names it in
#: every cache key, so that copy cached by an older generator (the on-disk and Redis tiers outlive
#: the process) is never served after the templates or the grammar change what a request gets:
#: raise it with any change that alters an output. 2: the grammar fixes of sentence starts,
#: articles and French spacing.
GENERATOR_VERSION = 2

#: Language codes (``en``, ``es``, ``pt``, ``fr``), derived from the templates.
LANGUAGES: tuple[str, ...] = tuple(LANGUAGE_DATA)
#: Language code -> English name.
LANGUAGE_NAMES: dict[str, str] = {code: block["name"] for code, block in LANGUAGE_DATA.items()}

#: Bounds a request must respect (characters, items, variants).
LIMITS = {
    "product": 120,
    "description": 1000,
    "audience": 120,
    "feature": 120,
    "features": 12,
    "variants": 10,
    "max_length_min": 10,
    "max_length_max": 10000,
}

_FIELDS = ("product", "description", "features", "audience", "tone", "use_case", "language", "variants",
           "max_length", "gender", "number")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidRequest(KitError, ValueError):
    """A copy request that cannot be served; ``problems`` lists every reason.

    Examples
    --------
    >>> try:
    ...     CopyRequest(product="", tone="angry")
    ... except InvalidRequest as e:
    ...     print(e.problems[0])
    product must be a non-empty string, got ''
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid copy request: " + "; ".join(self.problems))


def _choice(name: str, value: Any, allowed: tuple[str, ...], problems: list[str]) -> str:
    if value in allowed and type(value) is str:  # the common case: already a valid name
        return value
    norm = value.strip().lower() if isinstance(value, str) else value
    if name == "use_case" and isinstance(norm, str):
        norm = re.sub(r"[\s\-]+", "_", norm)
    if norm not in allowed:
        problems.append(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        return value
    return norm


def _text(name: str, value: Any, limit: int, problems: list[str], *, required: bool = False,
          single_line: bool = True) -> Any:
    if type(value) is not str:
        if not isinstance(value, str):
            problems.append(f"{name} must be a string, got {type(value).__name__} {value!r}")
            return value
        value = str(value)
    value = value.strip()
    if (required and not value) or len(value) > limit or _CONTROL.search(value):
        if required and not value:
            problems.append(f"{name} must be a non-empty string, got {value!r}")
        if len(value) > limit:
            problems.append(f"{name} must be at most {limit} characters, got {len(value)}")
        bad = _CONTROL.search(value.replace("\n", " ") if not single_line else value)
        if bad:
            problems.append(f"{name} must not contain control characters, got {bad.group()!r} in {value[:40]!r}")
    return value


@dataclass(frozen=True)
class CopyRequest:
    """What to write: the product, and the tone, use case and language.

    Construction validates and normalises every field (whitespace stripped,
    names lower-cased, ``"social media post"`` → ``"social_media_post"``);
    every problem is reported at once in :class:`InvalidRequest`.

    Parameters
    ----------
    product : str
        The product's name, as it should appear (1–120 characters).
    description : str
        A sentence about it, inserted as written (≤ 1000 characters).
    features : sequence of str
        Up to 12 selling points, in the request's language.
    audience : str
        Who it is for ("runners", "los corredores"), in the request's language.
    tone : str
        One of :data:`TONES`.
    use_case : str
        One of :data:`USE_CASES`.
    language : str
        One of :data:`LANGUAGES`.
    variants : int
        How many different versions to write (1–10).
    max_length : int or None
        Longest variant in characters; longer ones are cut at a word boundary
        and end with "…".
    gender, number : str
        Grammatical gender (``"masculine"``, ``"feminine"``) and number
        (``"singular"``, ``"plural"``) of the product's name, which articles,
        adjectives and pronouns agree with (Spanish, Portuguese, French;
        number also in English). Brand names default to masculine singular.

    Examples
    --------
    >>> CopyRequest("Aurora", use_case="Social media post").use_case
    'social_media_post'
    """

    product: str
    description: str = ""
    features: tuple[str, ...] = ()
    audience: str = ""
    tone: str = "professional"
    use_case: str = "product_launch"
    language: str = "en"
    variants: int = 3
    max_length: int | None = None
    gender: str = "masculine"
    number: str = "singular"
    _key: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        p: list[str] = []
        d = self.__dict__  # frozen: fields are written once, here, through __dict__
        product = d["product"] = _text("product", self.product, LIMITS["product"], p, required=True)
        d["description"] = _text("description", self.description, LIMITS["description"], p, single_line=False)
        d["audience"] = _text("audience", self.audience, LIMITS["audience"], p)
        feats = self.features
        if isinstance(feats, str) or not isinstance(feats, (list, tuple)):
            p.append(f"features must be a list of strings, got {type(feats).__name__} {feats!r}")
            feats = ()
        elif len(feats) > LIMITS["features"]:
            p.append(f"features must have at most {LIMITS['features']} items, got {len(feats)}")
        d["features"] = tuple(_text(f"features[{i}]", f, LIMITS["feature"], p, required=True)
                              for i, f in enumerate(feats))
        d["tone"] = _choice("tone", self.tone, TONES, p)
        d["use_case"] = _choice("use_case", self.use_case, USE_CASES, p)
        d["language"] = _choice("language", self.language, LANGUAGES, p)
        d["gender"] = _choice("gender", self.gender, GENDERS, p)
        d["number"] = _choice("number", self.number, NUMBERS, p)
        v = self.variants
        if type(v) is not int or not 1 <= v <= LIMITS["variants"]:
            p.append(f"variants must be an integer from 1 to {LIMITS['variants']}, got {v!r}")
        m = self.max_length
        if m is not None and (type(m) is not int or not LIMITS["max_length_min"] <= m <= LIMITS["max_length_max"]):
            p.append(f"max_length must be null or an integer from {LIMITS['max_length_min']} to "
                     f"{LIMITS['max_length_max']}, got {m!r}")
        if p:
            raise InvalidRequest(p)
        d["_key"] = (product, d["description"], d["features"], d["audience"], d["tone"], d["use_case"],
                     d["language"], d["gender"], d["number"])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CopyRequest":
        """Build a request from a mapping (JSON); unknown keys are an error.

        Examples
        --------
        >>> CopyRequest.from_dict({"product": "Aurora", "language": "FR"}).language
        'fr'
        """
        if isinstance(data, CopyRequest):
            return data
        if not isinstance(data, Mapping):
            raise InvalidRequest([f"a request must be a JSON object, got {type(data).__name__} {data!r:.60}"])
        unknown = [k for k in data if k not in _FIELDS]
        problems = [f"unknown field {k!r}; valid fields: {', '.join(_FIELDS)}" for k in unknown]
        if "product" not in data:
            problems.append("product is required")
        if problems:
            # report the field problems too, so one round trip fixes everything
            try:
                cls(**{k: v for k, v in data.items() if k in _FIELDS and k != "product"},
                    product=data.get("product", "x"))
            except InvalidRequest as e:
                problems += e.problems
            raise InvalidRequest(problems)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, the inverse of :meth:`from_dict`."""
        return {f: (list(self.features) if f == "features" else getattr(self, f)) for f in _FIELDS}

    def canonical(self) -> bytes:
        """Canonical bytes of the request: the basis of its fingerprint (the cache key).

        Compact UTF-8 JSON of :meth:`to_dict`, fields in their fixed order.
        The request holds only strings, integers and lists of strings, for
        which every verified ``kit.json`` backend writes the same bytes.

        Examples
        --------
        >>> CopyRequest("Aurora").canonical()[:21]
        b'{"product":"Aurora","'
        """
        data = self.__dict__.get("_canonical")
        if data is None:
            from kit import json as kit_json

            data = kit_json.dumps(self.to_dict())
            object.__setattr__(self, "_canonical", data)  # computed once: the request is immutable
        return data


@dataclass(frozen=True)
class CopyResult:
    """The generated copy: ``variants`` is a list of different versions.

    Examples
    --------
    >>> r = generate_copy(CopyRequest("Aurora", variants=1))
    >>> CopyResult.from_dict(r.to_dict()) == r
    True
    """

    request: CopyRequest
    variants: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(), "variants": list(self.variants)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CopyResult":
        return cls(CopyRequest.from_dict(data["request"]), list(data["variants"]))


# --- compiled templates ----------------------------------------------------------------------

_FORMATTER = string.Formatter()
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def _slots_in(text: str) -> frozenset[str]:
    names = set()
    for _, name, _, _ in _FORMATTER.parse(text):
        if name:
            names.add(name[0].lower() + name[1:])
    return frozenset(names)


def _compile_part(part: str) -> tuple[tuple[str, frozenset[str], bool], ...]:
    """Split a part into (text, optional slots, bracketed) segments."""
    segs = []
    pos = 0
    for m in _BRACKETS.finditer(part):
        if m.start() > pos:
            segs.append(part[pos:m.start()])
            segs.append(None)
        segs.append(m.group(1))
        segs.append(True)
        pos = m.end()
    if pos < len(part):
        segs += [part[pos:], None]
    out = []
    for text, bracket in zip(segs[::2], segs[1::2]):
        out.append((text, _slots_in(text) & OPTIONAL_SLOTS, bool(bracket)))
    return tuple(out)


_COMPILED = {
    lang: {uc: tuple(tuple(_compile_part(p) for p in frame) for frame in frames)
           for uc, frames in block["frames"].items()}
    for lang, block in LANGUAGE_DATA.items()
}
_LEXICON_KEYS = ("intro", "hook", "close", "greeting", "signoff")
_REGISTERS = {"informal": 0, "formal": 1}
_HASHTAG_STRIP = re.compile(r"[^\w]+")
_SPACES = re.compile(r"[ \t]+")
_NEWLINE_SPACES = re.compile(r" *\n *")
_PARAGRAPHS = re.compile(r"\n{3,}")
_SENTENCE_END = ".!?…"
# the same word twice in a row, across punctuation and space ("desde hoy. Hoy"), case aside; not a
# hyphenated word ("bye-bye")
_DOUBLED = re.compile(r"\b(\w{2,})(?=\W*\s)\W+\1\b", re.IGNORECASE)


class _Slots(dict):
    """Slot values of one variant, computed on first use (``str.format_map``)."""

    def __init__(self, req: CopyRequest, offsets: dict[str, int]):
        super().__init__()
        self.req = req
        self.block = LANGUAGE_DATA[req.language]
        self.grammar = GRAMMARS[req.language]
        self.tone = self.block["tones"][req.tone]
        self.register = self.tone["register"]
        self.offsets = offsets

    def __missing__(self, key: str) -> str:
        if key[0].isupper():
            low = key[0].lower() + key[1:]
            value = self[low]
            # brand names keep their casing ("iPhone" stays "iPhone")
            if not value.startswith(self.req.product):
                value = capitalize(value)
        else:
            value = self._compute(key)
        self[key] = value
        return value

    def _compute(self, key: str) -> str:
        req, block, g = self.req, self.block, self.grammar
        gen, num = req.gender, req.number
        if key == "product":
            return req.product
        if key == "the_product":
            return g.the_np(req.product, gen, num)
        if key == "new_product":
            return g.new_np(req.product, gen, num)
        if key == "this_product":
            return g.this_np(req.product, gen, num)
        if key == "our_product":
            return g.our_np(req.product, gen, num)
        if key == "your_product":
            return g.your_np(req.product, gen, num, self.register)
        if key == "adj":
            return agree(self.tone["adj"], gen, num)
        if key == "a_adj":
            return "a " + self["adj"]  # the grammar's finish() picks "a" or "an"
        if key in block["agree"]:
            return agree(block["agree"][key], gen, num)
        if key in block["register"]:
            return block["register"][key][_REGISTERS[self.register]]
        verb, _, obj = key.partition("_")
        if verb in block["verbs"] and obj in ("", "it"):
            forms = block["verbs"][verb]
            r = _REGISTERS[self.register] * 2
            if not obj:
                return forms[r]
            return forms[r + 1].format(agree(block["objects"], gen, num))
        if key in _LEXICON_KEYS:
            options = self.tone[key]
            return options[self.offsets[key]].format_map(self)
        if key == "features":
            return g.join(req.features)
        if key == "feature":
            return req.features[0] if req.features else ""
        if key in ("n_reasons", "n_features", "n_advantages"):
            n = len(req.features)
            return g.count(n, block["nouns"][key[2:]]) if n else ""
        if key == "audience":
            return req.audience
        if key == "for_audience":
            return f"{block['for']} {req.audience}" if req.audience else ""
        if key == "description":
            d = req.description
            return d if not d or d[-1] in _SENTENCE_END else d + "."
        if key == "hashtags":
            tag = _HASHTAG_STRIP.sub("", "".join(w[:1].upper() + w[1:] for w in req.product.split()))
            return " ".join((["#" + tag] if tag else []) + list(self.tone["tags"]))
        if key == "subject":
            return block["subject"]
        raise KeyError(f"template slot {{{key}}} is not defined for language {req.language!r}")


def _render(req: CopyRequest, frame: tuple, offsets: dict[str, int]) -> str:
    slots = _Slots(req, offsets)
    empty = {s for s in OPTIONAL_SLOTS if not _has_value(req, s)}
    parts = []
    for part in frame:
        pieces = []
        for text, optional, bracketed in part:
            if optional and not optional.isdisjoint(empty):
                if bracketed:
                    continue
                pieces = None
                break
            pieces.append(text.format_map(slots))
        if pieces:
            s = "".join(pieces)
            if s.strip():
                parts.append(s)
    text = " ".join(parts)
    text = _NEWLINE_SPACES.sub("\n", _SPACES.sub(" ", text))
    text = _PARAGRAPHS.sub("\n\n", text).strip()
    return slots.grammar.finish(text, keep=(req.product,))


def _has_value(req: CopyRequest, slot: str) -> bool:
    if slot in ("audience", "for_audience"):
        return bool(req.audience)
    if slot == "description":
        return bool(req.description)
    return bool(req.features)


_TRAILING = " \u00a0\n,;:—-.!?"


def truncate(text: str, max_length: int | None) -> str:
    """Cut ``text`` to at most ``max_length`` characters at a word boundary, ending in "…".

    When only the first word fits it is kept without "…"; a first word longer
    than the limit is cut inside the word (there is no boundary to cut at). A
    no-break space is not a boundary.

    Examples
    --------
    >>> truncate("The new Aurora is here.", 16)
    'The new Aurora…'
    >>> truncate("short", 16)
    'short'
    """
    if max_length is None or len(text) <= max_length:
        return text
    for i in range(max_length - 1, 0, -1):
        if text[i] in " \n\t":
            head = text[:i].rstrip(_TRAILING)
            if head:
                return head + "…"
    # only the first word fits (whole, without room for "…"), or not even that: cut it
    return text[:max_length]


# the order in which variants vary: the frame first, then the closing line, the hook...
_DIGITS = ("frame", "close", "hook", "intro", "greeting", "signoff")


def _combination(c: int, base: dict[str, int], radix: dict[str, int]) -> dict[str, int]:
    """The ``c``-th combination of frame and tone phrases, counted in mixed radix from ``base``."""
    out = {}
    for k in _DIGITS:
        c, d = divmod(c, radix[k])
        out[k] = (base[k] + d) % radix[k]
    return out


def generate_copy(request: CopyRequest | Mapping[str, Any]) -> CopyResult:
    """Write ``request.variants`` different versions of the copy.

    Parameters
    ----------
    request : CopyRequest or mapping
        A mapping is validated with :meth:`CopyRequest.from_dict`.

    Returns
    -------
    CopyResult
        ``.variants`` is a list of strings; the same request always gives the
        same list.

    Raises
    ------
    InvalidRequest
        The request names an unknown tone, use case or language, has an
        empty product or oversize fields; the message lists what is allowed.

    Examples
    --------
    >>> r = generate_copy({"product": "Aurora", "language": "fr", "tone": "casual", "use_case": "ad_copy"})
    >>> r.variants == generate_copy({"product": "Aurora", "language": "fr", "tone": "casual",
    ...                              "use_case": "ad_copy"}).variants
    True
    >>> any("Aurora" in v for v in r.variants)
    True
    """
    req = request if isinstance(request, CopyRequest) else CopyRequest.from_dict(request)
    frames = _COMPILED[req.language][req.use_case]
    # A stable seed from the content (not hash(), which changes per process);
    # the variant count and max_length do not move variant i.
    seed = zlib.crc32(repr(req._key).encode())
    r = random.Random(seed)
    tone = LANGUAGE_DATA[req.language]["tones"][req.tone]
    radix = {"frame": len(frames), **{k: len(tone[k]) for k in _LEXICON_KEYS}}
    base = {k: r.randrange(radix[k]) for k in _DIGITS}
    total = math.prod(radix.values())
    out: list[str] = []
    seen: set[str] = set()
    c = 0
    for _ in range(req.variants):
        # walk the combinations in order and skip one that reads like a variant already
        # written (a frame without a hook does not change with the hook), or that says a word twice
        # in a row where two phrases meet ("Hurry! Hurry: ...")
        while True:
            off = _combination(c, base, radix)
            text = truncate(_render(req, frames[off["frame"]], off), req.max_length)
            c += 1
            if (text not in seen and not _says_twice(text, req)) or c >= total:
                break
        seen.add(text)
        out.append(text)
    return CopyResult(req, out)


def _says_twice(text: str, req: CopyRequest) -> bool:
    """Whether two phrases of the templates meet on the same word (the request's own words aside)."""
    for m in _DOUBLED.finditer(text):
        said = m.group(0).lower()
        if not any(said in f.lower() for f in (req.product, req.description, req.audience, *req.features)):
            return True
    return False


def _copy_fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(CopyRequest) if f.init)


assert _copy_fields() == _FIELDS, "keep _FIELDS in step with CopyRequest"

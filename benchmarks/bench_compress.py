"""asv benchmarks of kit.compress: every codec of the registry and "auto", at every level, per payload kind.

The codec list comes from the registry (``kit.registry.codecs.CODECS``); an
unavailable codec raises ``NotImplementedError`` in ``setup`` (asv's skip).
``track_ratio`` records frame bytes / input bytes (lower is better), so a
change of codec or level shows up next to its time.
"""

from __future__ import annotations

from kit.registry.codecs import CODECS, LEVEL_NAMES

KINDS = ("text", "numeric", "canterbury")  # random data: see AutoObjective (every codec stores it raw)


def _payload(kind: str) -> tuple[bytes, int]:
    from kit.payloads import numeric, random_bytes, text

    size = 256 << 10  # large enough for the codecs' steady state, small enough for lzma at max in asv --quick
    if kind == "text":
        return text(size, 1), 1
    if kind == "numeric":
        return numeric(size, 1), 8
    if kind == "random":
        return random_bytes(size, 1), 1
    from kit._paths import shared_file

    p = shared_file("canterbury", "kennedy.xls")
    if p is None:
        raise NotImplementedError("../shared/data/canterbury is absent")
    return p.read_bytes()[:size], 1


def _require(codec: str) -> None:
    if codec in ("auto", "raw"):
        return
    from kit import registry as _registry

    reason = _registry.backend("compress", codec).unavailable_reason()
    if reason is not None:
        raise NotImplementedError(reason)


class Compress:
    params = (["auto", "raw", *CODECS], list(LEVEL_NAMES), list(KINDS))
    param_names = ["codec", "level", "kind"]
    timeout = 120

    def setup(self, codec: str, level: str, kind: str) -> None:
        from kit.compression import compress

        _require(codec)
        self.data, self.typesize = _payload(kind)
        self.frame = compress(self.data, codec, level, typesize=self.typesize)  # warms imports and calibration

    def time_compress(self, codec: str, level: str, kind: str) -> None:
        from kit.compression import compress

        compress(self.data, codec, level, typesize=self.typesize)

    def time_decompress(self, codec: str, level: str, kind: str) -> None:
        from kit.compression import decompress

        decompress(self.frame)

    def peakmem_compress(self, codec: str, level: str, kind: str) -> None:
        from kit.compression import compress

        compress(self.data, codec, level, typesize=self.typesize)

    def track_ratio(self, codec: str, level: str, kind: str) -> float:
        return len(self.frame) / len(self.data)

    track_ratio.unit = "frame bytes / input bytes"


class AutoObjective:
    """codec="auto" under each objective: what it costs to decide."""

    params = (["speed", "balanced", "ratio"], ["text", "numeric", "random"], [4096, 256 << 10])
    param_names = ["objective", "kind", "size"]

    def setup(self, objective: str, kind: str, size: int) -> None:
        from kit.compression import compress

        data, self.typesize = _payload(kind)
        self.data = data[:size]
        compress(self.data, objective=objective, typesize=self.typesize)

    def time_auto(self, objective: str, kind: str, size: int) -> None:
        from kit.compression import compress

        compress(self.data, objective=objective, typesize=self.typesize)

    def time_choose(self, objective: str, kind: str, size: int) -> None:
        from kit.compression import choose_codec

        choose_codec(self.data, objective=objective, typesize=self.typesize)


class Bomb:
    """Refusing a frame that declares a terabyte: time and peak memory stay tiny."""

    def setup(self) -> None:
        import struct
        import zlib

        from kit.compression import CODEC_IDS, HEADER_SIZE, MAGIC, compress

        payload = compress(b"x" * 100, codec="zlib")[HEADER_SIZE:]
        import xxhash

        prefix = struct.pack("<4sBBBBBBQ8s8s", MAGIC, 1, CODEC_IDS["zlib"], 1, 1, 1, 0, 1 << 40, b"\0" * 8,
                             xxhash.xxh3_64_digest(payload))
        self.bomb = prefix + struct.pack("<I", zlib.crc32(prefix)) + payload

    def _refuse(self) -> None:
        from kit.compression import DecompressionBombError, decompress

        try:
            decompress(self.bomb)
        except DecompressionBombError:
            return
        raise AssertionError("the bomb was not refused")

    def time_refuse(self) -> None:
        self._refuse()

    def peakmem_refuse(self) -> None:
        self._refuse()

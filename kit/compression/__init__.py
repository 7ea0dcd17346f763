"""Self-describing compressed frames and ``codec="auto"``.

A *frame* is a 38-byte header (magic, version, codec, level, checksum
algorithm, typesize, flags, original size, checksums of the original and of
the stored bytes, header CRC) followed by the codec's standard stream, or by
the original bytes when compressing would not pay. Decoding is bounded and
checked before any codec runs. See ``docs/compression.md``.

==============  =================================================================
part            what it holds
==============  =================================================================
``frame``       the format: header layout, ids, errors, :class:`FrameInfo`, checksums
``streams``     each codec in a frame: compressor, bounded decoder, limits
``dictionary``  zstd :class:`Dictionary` and version-2 frames
``auto``        ``codec="auto"``: the per-payload choice and its cost model
``core``        :func:`compress`, :func:`decompress`, :func:`decompress_verified`
==============  =================================================================

Examples
--------
>>> import kit
>>> frame = kit.compress(b"abc" * 1000, codec="zlib")
>>> kit.decompress(frame) == b"abc" * 1000
True
>>> frame_info(frame).codec
'zlib'
"""

from __future__ import annotations

from kit.compression.auto import (
                                  AUTO_RAW_BELOW,
                                  OBJECTIVES,
                                  calibration_seconds,
                                  choose_codec,
                                  cost_model,
                                  set_cost_model,
)
from kit.compression.core import compress, decompress, decompress_verified
from kit.compression.dictionary import Dictionary
from kit.compression.frame import (
                                  CHECKSUMS,
                                  CODEC_IDS,
                                  DICTIONARY_ID_SIZE,
                                  FLAG_DICTIONARY,
                                  FORMAT_VERSION,
                                  FORMAT_VERSIONS,
                                  HEADER_SIZE,
                                  MAGIC,
                                  ChecksumError,
                                  DecompressionBombError,
                                  FrameError,
                                  FrameInfo,
                                  MissingDictionaryError,
                                  frame_info,
                                  raw_payload,
)
from kit.compression.streams import MAX_RATIO

__all__ = [
    "AUTO_RAW_BELOW", "CHECKSUMS", "CODEC_IDS", "DICTIONARY_ID_SIZE", "FLAG_DICTIONARY", "FORMAT_VERSION",
    "FORMAT_VERSIONS", "HEADER_SIZE", "MAGIC", "MAX_RATIO", "OBJECTIVES",
    "ChecksumError", "DecompressionBombError", "Dictionary", "FrameError", "FrameInfo", "MissingDictionaryError",
    "calibration_seconds", "choose_codec", "compress", "cost_model", "decompress", "decompress_verified",
    "frame_info", "raw_payload", "set_cost_model",
]

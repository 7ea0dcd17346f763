"""xxHash constants shared by every implementation of the batch fingerprint.

The values are those of ``xxhash.h`` (v0.8): the five 64-bit and three 32-bit
primes, the two XXH3 mixing constants, and the 192-byte default secret
``XXH3_kSecret``. They are checked against the official sanity vectors and
the ``xxhash`` library by the operation's ``check`` and by the tests, so a
wrong byte here cannot go unnoticed.
"""

from __future__ import annotations

MASK64 = (1 << 64) - 1

PRIME32_1 = 0x9E3779B1
PRIME32_2 = 0x85EBCA77
PRIME32_3 = 0xC2B2AE3D
PRIME64_1 = 0x9E3779B185EBCA87
PRIME64_2 = 0xC2B2AE3D27D4EB4F
PRIME64_3 = 0x165667B19E3779F9
PRIME64_4 = 0x85EBCA77C2B2AE63
PRIME64_5 = 0x27D4EB2F165667C5
PRIME_MX1 = 0x165667919E3779F9
PRIME_MX2 = 0x9FB21C651E98DF25

#: XXH3_kSecret, the default 192-byte secret of XXH3.
KSECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
    "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e"
)
assert len(KSECRET) == 192

#: Inputs longer than this take XXH3's "long" path (stripes and blocks).
XXH3_MIDSIZE_MAX = 240

ALGORITHMS = ("xxh64", "xxh3_64")


def custom_secret(seed: int) -> bytes:
    """XXH3's secret for a non-zero seed (``XXH3_initCustomSecret``).

    Only inputs longer than 240 bytes use it; shorter ones mix the seed in
    directly with the default secret.

    Examples
    --------
    >>> custom_secret(0) == KSECRET
    True
    >>> len(custom_secret(42))
    192
    """
    out = bytearray(192)
    for i in range(0, 192, 16):
        lo = int.from_bytes(KSECRET[i:i + 8], "little")
        hi = int.from_bytes(KSECRET[i + 8:i + 16], "little")
        out[i:i + 8] = ((lo + seed) & MASK64).to_bytes(8, "little")
        out[i + 8:i + 16] = ((hi - seed) & MASK64).to_bytes(8, "little")
    return bytes(out)

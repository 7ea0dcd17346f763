"""The bootstrap's random stream: SplitMix64, evaluated at counter positions.

Every backend draws the same indices, so numpy, numba and the GPU give the
same resampled statistics bit for bit (the mean up to summation order). A
counter-based generator is what makes that possible: word ``w`` of the stream
is ``mix(key + (w + 1) * GAMMA)``, computable independently by any thread.
This is exactly SplitMix64's sequence (Steele, Lea and Flood, 2014) started
from ``key``, so its statistical quality is SplitMix64's.

Draw ``d`` (resample ``r``, position ``k``: ``d = r * n + k``) uses 32 bits:
the low half of word ``d // 2`` when ``d`` is even, the high half when odd.
It maps to an index in ``[0, n)`` as ``(u32 * n) >> 32`` (Lemire's multiply
shift; its bias, below ``n / 2**32``, is negligible for sample counts).
"""

from __future__ import annotations

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
#: Added to the user's seed before mixing, so seeds 0, 1, 2... start far apart.
SEED_OFFSET = 0x243F6A8885A308D3


def mix(z: int) -> int:
    """SplitMix64's output function on a Python int.

    Examples
    --------
    >>> hex(mix(GAMMA))  # the first output of SplitMix64 seeded with 0
    '0xe220a8397b1dcdaf'
    """
    z &= MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def key(seed: int) -> int:
    """The stream's starting state for a user seed.

    Examples
    --------
    >>> key(0) != key(1)
    True
    """
    return mix(seed + SEED_OFFSET)

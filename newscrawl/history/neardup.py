"""Near-duplicate bodies: MinHash signatures over word shingles, found through LSH bands.

The same story republished with a changed headline, a paragraph added or a syndication
footer keeps most of its 5-word shingles, so the Jaccard similarity of the shingle sets
(estimated from 128-value MinHash signatures) stays high. Each signature is cut into
`BANDS` bands of `ROWS` values; pages sharing a band are candidates, and a candidate is a
near duplicate when its estimated similarity reaches the threshold.

Written here rather than taken from datasketch, for two reasons measured on this product:
datasketch hashes every shingle with SHA-1 in its own Python call and imports scipy (about
60 MB and 1.3 s in every process that uses it), where crc32 per word and numpy for the rest
cost a fraction; and its `MinHashLSH` keeps every signature in memory, where ours are band
keys in the state store (`newscrawl.history.state`), so memory stays flat however many pages earlier
runs exported. The 128 hash functions are multiply-add-shift (`(a * h + b) mod 2^64 >> 32`,
a 2-universal family for 32-bit keys), four times cheaper in numpy than datasketch's modulo
a Mersenne prime. Numpy only: this module also runs inside extraction workers.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
import numpy.typing as npt

NUM_PERM = 128
SHINGLE_WORDS = 5
BANDS, ROWS = 20, 6  # candidates from similarity ~0.6; at 0.7 found with p=0.92, at 0.8 p=0.998
MIN_THRESHOLD = 0.7  # below this, LSH with these bands would miss too many near copies
FORMAT = b"\x02"  # first byte of a stored signature; other formats are ignored, not misread
_WORD = re.compile(r"\w+")
_SHINGLE_MIX = np.array(  # odd 64-bit multipliers: a word's hash weighted by its place
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
     0xFF51AFD7ED558CCD],
    dtype=np.uint64,
)  # fmt: skip
_BAND_MIX = np.array(
    [0x9E3779B97F4A7C15 * (2 * i + 1) % (1 << 64) for i in range(ROWS)], dtype=np.uint64
)
_generator = np.random.default_rng(1)
_A = _generator.integers(0, 1 << 63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_B = _generator.integers(0, 1 << 63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2)
_SHIFT = np.uint64(32)

Signature = npt.NDArray[np.uint32]


def signature(text: str) -> Signature:
    """The MinHash signature of the text's lower-cased 5-word shingles (128 uint32 values)."""
    words = _WORD.findall(text.lower()) or [""]
    hashes = np.fromiter(map(zlib.crc32, map(str.encode, words)), np.uint64, len(words))
    span = min(SHINGLE_WORDS, len(hashes))
    count = len(hashes) - span + 1
    with np.errstate(over="ignore"):
        shingles = hashes[:count] * _SHINGLE_MIX[0]
        for offset in range(1, span):
            shingles += hashes[offset : offset + count] * _SHINGLE_MIX[offset]
        shingles >>= _SHIFT
        # Repeated shingles leave each minimum as it is, so they are not sorted out; and the
        # shift is monotonic, so it is applied to the 128 minima instead of every product.
        permuted = np.multiply.outer(shingles, _A)
        permuted += _B
    return (permuted.min(axis=0) >> _SHIFT).astype(np.uint32)  # type: ignore[no-any-return]


def to_bytes(values: Signature) -> bytes:
    """The signature as stored: a format byte, then little-endian uint32 values."""
    return FORMAT + np.asarray(values, dtype="<u4").tobytes()


def from_bytes(data: bytes | None) -> Signature | None:
    """A stored signature, or None if absent or made by another version (never misread)."""
    if not data or len(data) != 1 + NUM_PERM * 4 or data[:1] != FORMAT:
        return None
    return np.frombuffer(data, dtype="<u4", offset=1).astype(np.uint32)


def bands(values: Signature) -> list[int]:
    """The signature's LSH band keys: signed 64-bit integers (SQLite's INTEGER)."""
    rows = np.asarray(values[: BANDS * ROWS], dtype=np.uint64).reshape(BANDS, ROWS)
    with np.errstate(over="ignore"):
        mixed = (rows * _BAND_MIX).sum(axis=1, dtype=np.uint64)
        mixed ^= np.arange(BANDS, dtype=np.uint64) * np.uint64(0xA24BAED4963EE407)
    return [int(key) for key in mixed.view(np.int64)]


def similarity(one: Signature, other: Signature) -> float:
    """Estimated Jaccard similarity of the two pages' shingle sets."""
    return float(np.count_nonzero(one == other)) / NUM_PERM


def check_threshold(threshold: float) -> float:
    """A usable NEWSCRAWL_NEAR_DUPLICATE_THRESHOLD: 0 (off) or from MIN_THRESHOLD to 1."""
    if threshold == 0 or MIN_THRESHOLD <= threshold <= 1:
        return threshold
    raise ValueError(
        f"NEWSCRAWL_NEAR_DUPLICATE_THRESHOLD must be 0 (off) or between {MIN_THRESHOLD} and 1,"
        f" not {threshold}: below {MIN_THRESHOLD} the stored LSH bands miss near copies"
    )

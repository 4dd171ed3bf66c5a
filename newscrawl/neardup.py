"""Near-duplicate bodies: datasketch MinHash signatures over word shingles, found with LSH.

The same story republished with a changed headline, a paragraph added or a syndication
footer keeps most of its 5-word shingles, so the Jaccard similarity of the shingle sets
(estimated from 128-permutation MinHash signatures) stays high. Candidates come from
datasketch's MinHashLSH; each is then checked against the threshold with its signature.
"""

from __future__ import annotations

import re

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

NUM_PERM = 128
SEED = 1
SCHEME = "affine32"  # datasketch >= 2: 32-bit hash values; stored signatures name no scheme
SHINGLE_WORDS = 5
_WORD = re.compile(r"\w+")


def signature(text: str) -> MinHash:
    """The MinHash of the text's lower-cased 5-word shingles."""
    words = _WORD.findall(text.lower())
    span = min(SHINGLE_WORDS, len(words)) or 1
    shingles = {" ".join(words[i : i + span]) for i in range(max(len(words) - span + 1, 1))}
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    minhash.update_batch([shingle.encode("utf-8") for shingle in sorted(shingles)])
    return minhash


def to_bytes(minhash: MinHash) -> bytes:
    """The signature as stored: its hash values, little-endian uint32."""
    return np.asarray(minhash.hashvalues, dtype="<u4").tobytes()


def from_bytes(data: bytes) -> LeanMinHash | None:
    """A stored signature (lean: no permutations held), or None if made with other parameters."""
    if len(data) != NUM_PERM * 4:
        return None
    values = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    return LeanMinHash(seed=SEED, hashvalues=values, scheme=SCHEME)


class NearDuplicateIndex:
    """Signatures of exported pages by key; `nearest` finds the most similar one."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._pages: dict[str, tuple[str, LeanMinHash]] = {}

    def __len__(self) -> int:
        return len(self._pages)

    def add(self, key: str, url: str, minhash: MinHash) -> None:
        """Index a page's signature, replacing an older one under the same key."""
        lean = minhash if isinstance(minhash, LeanMinHash) else LeanMinHash(minhash)
        if key in self._pages:
            self._lsh.remove(key)
        self._lsh.insert(key, lean)
        self._pages[key] = (url, lean)

    def nearest(self, minhash: MinHash, exclude: set[str]) -> tuple[str, float] | None:
        """(url, estimated similarity) of the closest page at or above the threshold."""
        best: tuple[str, float] | None = None
        for key in sorted(self._lsh.query(minhash)):
            if key in exclude:
                continue
            url, other = self._pages[key]
            similarity = float(minhash.jaccard(other))
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (url, similarity)
        return best

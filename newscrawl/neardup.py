"""Near-duplicate bodies: datasketch MinHash signatures over word shingles, found with LSH.

The same story republished with a changed headline, a paragraph added or a syndication
footer keeps most of its 5-word shingles, so the Jaccard similarity of the shingle sets
(estimated from 128-permutation MinHash signatures) stays high. Candidates come from
datasketch's MinHashLSH; each is then checked against the threshold with its signature.
"""

from __future__ import annotations

import re

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
SHINGLE_WORDS = 5
_WORD = re.compile(r"\w+")


def signature(text: str) -> MinHash:
    """The MinHash of the text's lower-cased 5-word shingles."""
    words = _WORD.findall(text.lower())
    span = min(SHINGLE_WORDS, len(words)) or 1
    shingles = {" ".join(words[i : i + span]) for i in range(max(len(words) - span + 1, 1))}
    minhash = MinHash(num_perm=NUM_PERM)
    minhash.update_batch([shingle.encode("utf-8") for shingle in sorted(shingles)])
    return minhash


def to_bytes(minhash: MinHash) -> bytes:
    """The signature as stored: its hash values, little-endian uint64."""
    return np.asarray(minhash.hashvalues, dtype="<u8").tobytes()


def from_bytes(data: bytes) -> MinHash | None:
    """A stored signature, or None if it was made with other parameters."""
    values = np.frombuffer(data, dtype="<u8")
    if len(values) != NUM_PERM:
        return None
    return MinHash(num_perm=NUM_PERM, hashvalues=values.astype(np.uint64))


class NearDuplicateIndex:
    """Signatures of exported pages by key; `nearest` finds the most similar one."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._pages: dict[str, tuple[str, MinHash]] = {}

    def __len__(self) -> int:
        return len(self._pages)

    def add(self, key: str, url: str, minhash: MinHash) -> None:
        """Index a page's signature, replacing an older one under the same key."""
        if key in self._pages:
            self._lsh.remove(key)
        self._lsh.insert(key, minhash)
        self._pages[key] = (url, minhash)

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

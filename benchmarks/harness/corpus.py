"""The development corpora, read from `../shared/corpus` at run time (never copied)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def decode_html(raw: bytes) -> str:
    """Decode page bytes without HTTP headers.

    Tries UTF-8 first (most pages, and a strict decode rarely succeeds by
    accident), then the charset declared in a ``<meta>`` tag, then statistical
    detection with charset_normalizer, and finally Latin-1 with replacement so a
    page is never dropped for its encoding.
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    match = META_CHARSET_RE.search(raw[:8192])
    if match:
        try:
            return raw.decode(match.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        best = None
    else:
        best = from_bytes(raw).best()
    if best is not None:
        return str(best)
    return raw.decode("latin-1", errors="replace")


@dataclass(frozen=True)
class Page:
    """One corpus page: its id, URL, decoded HTML and true article body."""

    page_id: str
    url: str
    html: str
    truth: str


def fundus_full_text(body: Mapping[str, Any]) -> str:
    """A fundus-dev page's true body: summary, then each section's headline and paragraphs.

    Joined by blank lines, as fundus's ``Article.plaintext`` joins them (the corpus README).
    """
    parts: list[str] = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        parts.extend(section.get("headline") or [])
        parts.extend(section.get("paragraphs") or [])
    return "\n\n".join(part for part in parts if part)


def _read_pages(entries: Iterable[tuple[str, str, Path, str]], limit: int | None) -> list[Page]:
    """Pages from (id, URL, path of the gzipped HTML, true body) entries, at most `limit`;
    a missing file is said and skipped."""
    pages: list[Page] = []
    for page_id, url, html_path, truth in entries:
        if limit is not None and len(pages) >= limit:
            break
        if not html_path.exists():
            print(f"note: {html_path} missing, page skipped")
            continue
        html = decode_html(gzip.decompress(html_path.read_bytes()))
        pages.append(Page(page_id=page_id, url=url, html=html, truth=truth))
    return pages


def load_fundus(corpus_dir: Path, limit: int | None) -> list[Page]:
    """Read a fundus-style corpus: ``expected.jsonl`` and ``pages/<key>.html.gz``."""
    with (corpus_dir / "expected.jsonl").open(encoding="utf-8") as handle:
        entries = sorted(
            (json.loads(line) for line in handle if line.strip()), key=lambda e: e["key"]
        )
    return _read_pages(
        (
            (entry["key"], entry.get("url") or "", corpus_dir / "pages" / f"{entry['key']}.html.gz",
             fundus_full_text(entry.get("body") or {}))
            for entry in entries
        ),
        limit,
    )  # fmt: skip


def is_corpus(corpus_dir: Path) -> bool:
    """Whether the directory holds a corpus in one of the two layouts read here."""
    return (corpus_dir / "ground-truth.json").is_file() or (corpus_dir / "expected.jsonl").is_file()


def load_corpus(corpus_dir: Path, limit: int | None) -> list[Page]:
    """Read ground truth and HTML of the corpus, in sorted id order.

    Two layouts: the Article Extraction Benchmark's (``ground-truth.json`` and
    ``html/<id>.html.gz``) and fundus's (``expected.jsonl`` and ``pages/<key>.html.gz``,
    see :func:`load_fundus`).
    """
    if (corpus_dir / "expected.jsonl").is_file():
        return load_fundus(corpus_dir, limit)
    with (corpus_dir / "ground-truth.json").open(encoding="utf-8") as handle:
        ground_truth: dict[str, dict[str, Any]] = json.load(handle)
    return _read_pages(
        (
            (page_id, entry.get("url") or "", corpus_dir / "html" / f"{page_id}.html.gz",
             entry.get("articleBody") or "")
            for page_id, entry in sorted(ground_truth.items())
        ),
        limit,
    )  # fmt: skip


def shared_corpus_dir() -> Path:
    """``shared/corpus`` beside the repository, or beside one of its parent directories.

    A checkout sits next to ``shared/``; a git worktree may sit one level further down.
    """
    for base in REPO_ROOT.parents:
        candidate = base / "shared" / "corpus"
        if candidate.is_dir():
            return candidate
    return REPO_ROOT.parent / "shared" / "corpus"


def default_corpora() -> list[Path]:
    """The two development corpora in ``../shared/corpus``."""
    base = shared_corpus_dir()
    return [base / name for name in ("aeb-dev", "fundus-dev")]

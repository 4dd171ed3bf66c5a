"""The extractors measured: newscrawl's `extract_article` and the baselines it is held against."""

from __future__ import annotations

import functools
import importlib
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


CPU_REFERENCE = "trafilatura"


Extractor = Callable[[str, str], str]


def result_field(result: Any, name: str) -> Any:
    """Read ``name`` from an extraction result that is a mapping or an object."""
    if result is None:
        return None
    if isinstance(result, Mapping):
        return result.get(name)
    return getattr(result, name, None)


@functools.cache
def load_newscrawl() -> Callable[[str, str], Any] | None:
    """Import ``newscrawl.extraction.extract_article`` from this repo, or explain why not.

    The repo root goes first on ``sys.path`` so the working tree is measured, not
    an installed copy. Any import failure is reported once and yields None.
    """
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    try:
        extract_article = importlib.import_module("newscrawl.extraction").extract_article
    except Exception as exc:
        print(f"note: newscrawl extractor unavailable ({type(exc).__name__}: {exc}); skipped")
        return None
    func: Callable[[str, str], Any] = extract_article
    return func


class NewscrawlExtractor:
    """newscrawl's extractor returning plain text; ``last_source`` says where it came from.

    ``text_source`` of the last result ("precision", "guard", "json_ld"...) is kept so the
    report can list, per corpus, the pages on which each fallback fired.
    """

    def __init__(self, extract_article: Callable[[str, str], Any]) -> None:
        self.extract_article = extract_article
        self.last_source: str | None = None

    def __call__(self, html: str, url: str) -> str:
        result = self.extract_article(html, url)
        source = result_field(result, "text_source")
        self.last_source = source if isinstance(source, str) else None
        text = result_field(result, "text")
        return text if isinstance(text, str) else ""


def make_newscrawl(extract_article: Callable[[str, str], Any]) -> Extractor:
    """Wrap newscrawl's extractor so it returns plain text (see :class:`NewscrawlExtractor`)."""
    return NewscrawlExtractor(extract_article)


def make_trafilatura(*, favor_precision: bool = False, favor_recall: bool = False) -> Extractor:
    """Return a trafilatura extractor, in its default mode unless a ``favor_*`` flag is set."""
    import trafilatura

    def run(html: str, url: str) -> str:
        text = trafilatura.extract(
            html, url=url, favor_precision=favor_precision, favor_recall=favor_recall
        )
        return text or ""

    return run


FRONT_MATTER_RE = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


def make_trafilatura_meta() -> Extractor:
    """Return plain ``trafilatura.extract(with_metadata=True)``: the CPU reference.

    This is what a user calls instead of newscrawl (text and metadata in one call).
    Its plain-text output starts with a front-matter block of metadata, which is
    removed before scoring so that only the body is compared; producing it is timed.
    """
    import trafilatura

    def run(html: str, url: str) -> str:
        text = trafilatura.extract(html, url=url, with_metadata=True) or ""
        return FRONT_MATTER_RE.sub("", text, count=1)

    return run


BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)


def html_to_text(fragment: str) -> str:
    """Turn an HTML fragment into text, with one line per block element."""
    import lxml.html

    if not fragment.strip():
        return ""
    root = lxml.html.fromstring(fragment)
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
            if element.tag.lower() != "br":
                element.text = "\n" + (element.text or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def make_readability() -> Extractor:
    """Return a readability-lxml extractor converting its summary HTML to text."""
    from readability import Document

    def run(html: str, url: str) -> str:
        return html_to_text(Document(html, url=url).summary())

    return run


BASELINES: dict[str, Callable[[], Extractor]] = {
    CPU_REFERENCE: make_trafilatura_meta,
    "trafilatura": make_trafilatura,
    "trafilatura_precision": lambda: make_trafilatura(favor_precision=True),
    "trafilatura_recall": lambda: make_trafilatura(favor_recall=True),
    "readability": make_readability,
}


EXTRACTOR_NAMES = ("newscrawl", *BASELINES)


def build_extractors(names: Sequence[str]) -> dict[str, Extractor]:
    """Instantiate the requested extractors, skipping with a note those that fail."""
    extractors: dict[str, Extractor] = {}
    for name in names:
        if name == "newscrawl":
            extract_article = load_newscrawl()
            if extract_article is not None:
                extractors[name] = make_newscrawl(extract_article)
            continue
        try:
            extractors[name] = BASELINES[name]()
        except Exception as exc:
            print(f"note: {name} unavailable ({type(exc).__name__}: {exc}); skipped")
    return extractors

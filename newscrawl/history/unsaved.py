"""Articles written whose state-store save failed: kept beside the run, and saved later.

A failed save does not lose a page's history: the article goes to `<run dir>/UNSAVED_FILE`
(one JSON line: the store it was meant for, the run that exported it, its validators and the
article), is retried when the run closes, and at the next start of the spider, so a page is
never exported twice for a store error. Distributed workers' files (`<run>/part-*/`) are
replayed as a single machine's are.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from newscrawl.items import Validators
from schemas import Article

logger = logging.getLogger(__name__)

UNSAVED_FILE = "state-unsaved.jsonl"
# What saves one article into the store: (article, validators, the run that exported it).
Save = Callable[[Article, Validators, str], None]


def keep(run_dir: Path, location: str, run_id: str, article: Article, found: Validators) -> None:
    """Append an article whose save failed to the run's `UNSAVED_FILE` (`location`: the
    store it was meant for, redacted)."""
    line = {
        "state": location,
        "run_id": run_id,
        "etag": found.etag,
        "last_modified": found.last_modified,
        "article": article.model_dump(mode="json"),
    }
    with (run_dir / UNSAVED_FILE).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def replay(path: Path, location: str, save: Save, default_run: str) -> int:
    """Save the articles of an `UNSAVED_FILE` meant for store `location`; returns how many
    are still unsaved (kept in the file). A file fully replayed is renamed `*.replayed`."""
    kept: list[str] = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            line = json.loads(text)
            article = Article.model_validate(line["article"], context={"min_words": 0})
        except (ValueError, KeyError, TypeError) as exc:
            logger.error("newscrawl: %s: unreadable line kept (%s)", path, exc)
            kept.append(text)
            continue
        if line.get("state") != location:  # written for another store
            kept.append(text)
            continue
        try:
            found = Validators(line.get("etag"), line.get("last_modified"))
            save(article, found, str(line.get("run_id") or default_run))
        except Exception as exc:
            logger.error("newscrawl: state store save failed again for %s: %s", article.url, exc)
            kept.append(text)
    if kept:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(text + "\n" for text in kept), encoding="utf-8")
        os.replace(tmp, path)
    else:
        os.replace(path, path.with_name(path.name + ".replayed"))
    return len(kept)


def replay_all(output: Path, location: str, save: Save, default_run: str) -> tuple[int, int]:
    """Replay every `UNSAVED_FILE` of the spider's output directory (runs, and distributed
    runs' parts): (articles now saved, articles still unsaved)."""
    saved = remaining = 0
    paths = [*output.glob(f"*/{UNSAVED_FILE}"), *output.glob(f"*/part-*/{UNSAVED_FILE}")]
    for path in sorted(paths):
        before = len(path.read_text(encoding="utf-8").splitlines())
        left = replay(path, location, save, default_run)
        saved += before - left
        remaining += left
        if left:
            logger.error("newscrawl: %d article(s) of %s still not in the store", left, path)
    return saved, remaining

"""The run's journal, resume and merge on it, in-process (Scrapy's `get_crawler`).

The real writer pipeline, the real `Reruns` extension with a real SQLite state store, the
real spider's `open_input`: what a crawl does to its run directory, one item at a time, so
the order of the journal line and the store save, and what a kill at each point leaves, are
pinned exactly. The end-to-end crawls (kill -9 + resume, the distributed SIGKILL) are in
test_reruns.py and test_distributed.py.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.crawler import Crawler
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from newscrawl.commands.merge import merge_run
from newscrawl.history.state import PageState, SqliteStateStore
from newscrawl.history.unsaved import keep
from newscrawl.history.urls import page_keys, redacted
from newscrawl.items import ArticleItem, NavigationItem, RejectItem, Validators
from newscrawl.runs.journal import Journal, RecordFile, replay
from newscrawl.runs.reruns import Reruns
from newscrawl.runs.resume import ResumeError, carry_over
from newscrawl.spiders.articles import ArticlesSpider
from pipelines.write import JsonLinesWriter
from schemas import Article, Reject, RejectReason

URLS = [f"https://news.example.org/2026/12/story-{n}.html" for n in range(1, 6)]


def _article(url: str, words: str = "harbour pier") -> Article:
    text = " ".join([f"{words} {url}"] * 40)
    return Article.model_validate(
        {
            "url": url, "requested_url": url, "canonical_url": None, "title": "A story",
            "text": text, "authors": [], "published_at": None, "modified_at": None,
            "language": "en", "site_name": None, "description": None, "section": None,
            "tags": [], "image_url": None, "word_count": len(text.split()),
            "content_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "fetched_at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC), "http_status": 200,
            "spider": "articles",
            "extractor": {"name": "newscrawl", "version": "0", "trafilatura": "0"},
        },
        context={"min_words": 0},
    )  # fmt: skip


def _reject(url: str, reason: RejectReason) -> Reject:
    return Reject(url=url, reason=reason, detail="a test reject", spider="articles")


class WatchedStore(SqliteStateStore):
    """A real SQLite store that, at each save, notes whether the journal already had the
    page's settled line: the journal line must come first."""

    journal: Path | None = None
    journaled_first: list[bool]

    def save(self, page: PageState, aliases: Iterable[str], bands: Iterable[int] = ()) -> None:
        assert self.journal is not None
        settled = [e for e in _events(self.journal) if e["event"] == "settled"]
        self.journaled_first.append(bool(settled) and page.url in settled[-1]["keys"])
        super().save(page, aliases, bands)


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


class Run:
    """One attempt of an `articles` crawl of URL file `urls`, its components built as the
    crawler builds them, driven item by item."""

    def __init__(self, tmp_path: Path, *, job: bool = True) -> None:
        self.urls = tmp_path / "urls.txt"
        if not self.urls.exists():
            self.urls.write_text("\n".join(URLS) + "\n", encoding="utf-8")
        project = Settings()
        project.setmodule("newscrawl.settings")
        settings: dict[str, Any] = {
            **{k: v for k, v in project.copy_to_dict().items() if k.startswith("NEWSCRAWL_")},
            "NEWSCRAWL_OUTPUT_DIR": str(tmp_path / "out"),
            "NEWSCRAWL_STATE": str(tmp_path / "state.sqlite3"),
        }
        if job:
            settings["JOBDIR"] = str(tmp_path / "job")
        self.crawler: Crawler = get_crawler(ArticlesSpider, settings)
        self.spider = ArticlesSpider.from_crawler(self.crawler, urls=str(self.urls))
        self.crawler.spider = self.spider
        self.spider._lines = self.spider.inputs()  # read as start() reads it, line by line
        self.reruns = Reruns.from_crawler(self.crawler)
        self.writer = JsonLinesWriter(self.crawler, tmp_path / "out", self.reruns.run_id, {})
        self.writer.reruns = self.reruns
        self.writer.open_spider()
        assert self.writer.run_dir is not None
        self.run_dir: Path = self.writer.run_dir

    def key(self, line: int) -> str:
        return f"{self.urls.resolve()}#{line}"

    def admit(self, line: int) -> int | None:
        """The spider reads input line `line` (1-based) of the URL file, and takes it (its
        input id), or skips it as an earlier attempt settled it (None), as start() does."""
        assert self.spider._lines is not None
        assert next(self.spider._lines).line_number == line
        if self.reruns.take_settled(self.key(line)):
            self.spider.ledger.carry_over()
            return None
        return self.spider.open_input(URLS[line - 1], self.key(line))

    def open(self, line: int) -> int:
        """Input line `line`, which no earlier attempt settled, taken by the spider."""
        input_id = self.admit(line)
        assert input_id is not None
        return input_id

    def kill(self) -> None:
        """What SIGKILL leaves: nothing more written; the files and locks released (as the
        operating system releases a killed process's)."""
        for handle in (self.writer._articles, self.writer._rejects, self.writer.journal):
            assert handle is not None
            handle.close()
        self.reruns.engine_stopped()

    def close(self, reason: str = "finished") -> dict[str, Any]:
        self.writer.spider_closed(self.spider, reason)
        self.reruns.spider_closed(self.spider, reason)
        self.reruns.engine_stopped()
        return json.loads((self.run_dir / "run.json").read_text(encoding="utf-8"))


def test_each_record_is_journaled_after_its_line_and_before_the_state_store(
    tmp_path: Path,
) -> None:
    run = Run(tmp_path, job=False)
    run.reruns.store.close()  # the same store file, reopened watched
    watched = WatchedStore(tmp_path / "state.sqlite3")
    watched.journal, watched.journaled_first = run.run_dir / "journal.jsonl", []
    run.reruns.store = watched
    first, second, third = run.open(1), run.open(2), run.open(3)
    validators = Validators('"v1"', "Tue, 01 Dec 2026 08:00:00 GMT")
    run.writer.process_item(ArticleItem(first, _article(URLS[0]), None, validators))
    run.writer.process_item(RejectItem(second, _reject(URLS[1], RejectReason.http_error)))
    run.writer.process_item(NavigationItem(third, URLS[2]))
    assert watched.journaled_first == [True]
    # The item's validators are what the store keeps (no side dictionary in between).
    page = watched.lookup(page_keys(URLS[0], URLS[0], None))
    assert page is not None and (page.etag, page.last_modified) == (
        validators.etag, validators.last_modified,
    )  # fmt: skip
    summary = run.close()
    events = _events(run.run_dir / "journal.jsonl")
    at = [event.pop("at", None) for event in events]
    assert all(isinstance(value, float) for value in at[:1] + at[4:])
    article_line = (run.run_dir / "articles.jsonl").read_bytes()
    reject_line = (run.run_dir / "rejects.jsonl").read_bytes()
    assert events == [
        {"event": "attempt", "attempt": 1, "run_id": run.reruns.run_id},
        {"event": "opened", "n": 0, "input_id": run.key(1), "source": URLS[0]},
        {"event": "opened", "n": 1, "input_id": run.key(2), "source": URLS[1]},
        {"event": "opened", "n": 2, "input_id": run.key(3), "source": URLS[2]},
        {
            "event": "settled", "n": 0, "input_id": run.key(1), "outcome": "article",
            "file": "articles.jsonl", "line": 1, "offset": 0, "length": len(article_line),
            "keys": page_keys(URLS[0], URLS[0], None),
            "sha256": _article(URLS[0]).content_sha256,
        },
        {
            "event": "settled", "n": 1, "input_id": run.key(2), "outcome": "http_error",
            "file": "rejects.jsonl", "line": 1, "offset": 0, "length": len(reject_line),
        },
        {"event": "settled", "n": 2, "input_id": run.key(3), "outcome": "navigation"},
    ]  # fmt: skip
    assert json.loads(article_line)["input_id"] == run.key(1)
    assert summary["accounting"]["ok"] is True
    assert summary["files"]["journal"] == str(run.run_dir / "journal.jsonl")


def _killed_attempt(tmp_path: Path) -> Run:
    """Lines 1-2 settled (an article, a reject), line 3 opened only; then SIGKILL."""
    run = Run(tmp_path)
    first, second = run.open(1), run.open(2)
    run.writer.process_item(ArticleItem(first, _article(URLS[0])))
    run.writer.process_item(RejectItem(second, _reject(URLS[1], RejectReason.http_error)))
    run.open(3)
    run.kill()
    return run


def _resume_and_finish(tmp_path: Path, run_dir: Path) -> tuple[Run, dict[str, Any]]:
    """The same command again: the settled lines are skipped, the others done."""
    again = Run(tmp_path)
    assert again.run_dir == run_dir and again.reruns.attempt == 2
    for line in range(1, len(URLS) + 1):
        input_id = again.admit(line)
        if input_id is None:
            continue
        again.writer.process_item(ArticleItem(input_id, _article(URLS[line - 1])))
    return again, again.close()


def test_a_torn_last_record_line_is_cut_off_and_its_input_done_again(tmp_path: Path) -> None:
    run = _killed_attempt(tmp_path)
    articles = run.run_dir / "articles.jsonl"
    committed = articles.read_bytes()
    with articles.open("ab") as handle:  # the kill came in the middle of the next write
        handle.write(b'{"schema_version": "1.2", "url": "' + URLS[2].encode())
    _again, summary = _resume_and_finish(tmp_path, run.run_dir)
    lines = articles.read_bytes().splitlines(keepends=True)
    assert lines[0] == committed  # kept byte for byte, not rewritten
    assert [json.loads(line)["requested_url"] for line in lines] == [URLS[0], *URLS[2:]]
    assert summary["reruns"]["torn_lines_dropped"] == 1
    assert summary["reruns"]["uncommitted_records_dropped"] == 0
    assert summary["reruns"]["carried_over_records"] == 2
    assert summary["accounting"]["ok"] is True
    assert summary["counts"] == {
        "inputs": 5, "articles": 4, "rejects": 1, "rejects_by_reason": {"http_error": 1},
        "navigation_pages": 0,
    }  # fmt: skip


def test_a_record_line_never_journaled_and_a_torn_journal_line_are_not_committed(
    tmp_path: Path,
) -> None:
    """A kill after a record line but before its settled line, or in the middle of the
    settled line: the record was never committed; it is cut off and its input done again."""
    run = _killed_attempt(tmp_path)
    record = _article(URLS[2]).model_copy(update={"input_id": run.key(3)})
    with (run.run_dir / "articles.jsonl").open("ab") as handle:
        handle.write(record.model_dump_json().encode() + b"\n")
    settled = {"event": "settled", "n": 2, "input_id": run.key(3), "outcome": "article"}
    with (run.run_dir / "journal.jsonl").open("ab") as handle:
        handle.write(json.dumps(settled).encode()[:30])
    assert replay(run.run_dir / "journal.jsonl").torn is True
    _again, summary = _resume_and_finish(tmp_path, run.run_dir)
    articles = [
        json.loads(line) for line in (run.run_dir / "articles.jsonl").read_bytes().splitlines()
    ]
    assert [a["requested_url"] for a in articles] == [URLS[0], *URLS[2:]]  # line 3 once
    assert summary["reruns"]["uncommitted_records_dropped"] == 1
    assert summary["reruns"]["torn_journal_lines_dropped"] == 1
    assert summary["reruns"]["torn_lines_dropped"] == 0
    assert summary["accounting"]["ok"] is True
    journal = _events(run.run_dir / "journal.jsonl")  # the torn part is gone, all else kept
    assert [e["event"] for e in journal].count("attempt") == 2


def test_not_processed_rejects_of_a_stopped_attempt_are_cut_off_on_resume(
    tmp_path: Path,
) -> None:
    run = Run(tmp_path)
    first, second = run.open(1), run.open(2)
    run.writer.process_item(RejectItem(first, _reject(URLS[0], RejectReason.http_error)))
    run.writer.process_item(ArticleItem(second, _article(URLS[1])))
    run.open(3)
    stopped = run.close("shutdown")  # Ctrl-C: line 3 and the unread lines 4-5 not_processed
    assert stopped["counts"]["rejects_by_reason"] == {"http_error": 1, "not_processed": 3}
    kept = (run.run_dir / "rejects.jsonl").read_bytes().splitlines(keepends=True)[0]
    again, summary = _resume_and_finish(tmp_path, run.run_dir)
    assert (run.run_dir / "rejects.jsonl").read_bytes() == kept
    assert summary["counts"]["rejects_by_reason"] == {"http_error": 1}
    assert summary["counts"]["articles"] == 4
    assert summary["accounting"]["ok"] is True and summary["finish_reason"] == "finished"
    # A third start: the finished job begins a new run; the journal of this one says all.
    settles = replay(run.run_dir / "journal.jsonl").settles
    assert sorted(s.input_id or "" for s in settles) == sorted(again.key(n) for n in range(1, 6))


def test_the_state_store_learns_of_a_journaled_article_it_missed(tmp_path: Path) -> None:
    """A kill between the journal line and the store save: resume saves the article, read
    at the place its settled line gives."""
    run = Run(tmp_path)
    first = run.open(1)
    article = _article(URLS[0])
    run.writer.process_item(ArticleItem(first, article))
    run.kill()
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:  # the save never happened
        db.execute("DELETE FROM aliases")
        db.execute("DELETE FROM bands")
        assert db.execute("DELETE FROM pages").rowcount == 1
    again = Run(tmp_path)
    page = again.reruns.store.lookup(page_keys(URLS[0], URLS[0], None))
    assert page is not None
    assert (page.run_id, page.content_sha256) == (again.reruns.run_id, article.content_sha256)
    again.kill()


def test_a_journal_that_names_records_the_files_lack_refuses_to_resume(tmp_path: Path) -> None:
    run = _killed_attempt(tmp_path)
    (run.run_dir / "articles.jsonl").write_bytes(b"")
    with pytest.raises(ResumeError, match="records were lost"):
        carry_over(run.run_dir)


def _part(run_dir: Path, name: str, events: list[tuple[str, str, str]], *, killed: bool) -> None:
    """A worker's part: (input id, outcome, source) settled in order, with real files."""
    part = run_dir / f"part-{name}"
    part.mkdir(parents=True)
    journal = Journal(part / "journal.jsonl", run_id=f"{run_dir.name}/part-{name}", attempt=1)
    files = {
        "article": RecordFile(part / "articles.jsonl"),
        "reject": RecordFile(part / "rejects.jsonl"),
    }
    for n, (key, outcome, source) in enumerate(events):
        journal.opened(n, key, source)
        record: Article | Reject
        if outcome == "article":
            record = _article(source).model_copy(update={"input_id": key})
        else:
            record = _reject(source, RejectReason(outcome)).model_copy(update={"input_id": key})
        where = files["article" if outcome == "article" else "reject"].append(
            record.model_dump_json()
        )
        journal.settled(n, key, outcome, where)
    for records in files.values():
        records.close()
    journal.close()
    if not killed:
        (part / "run.json").write_text(
            json.dumps({"finish_reason": "finished", "counts": {}, "accounting": {"ok": True}}),
            encoding="utf-8",
        )


def test_merge_unites_the_workers_journals(tmp_path: Path) -> None:
    run_dir = tmp_path / "out" / "articles" / "20261201T090000Z-abcdef"
    run_dir.mkdir(parents=True)
    keys = [f"{run_dir.name}#{n}" for n in range(4)]
    with (run_dir / "inputs.jsonl").open("w", encoding="utf-8") as handle:
        for n, url in enumerate(URLS[:4]):
            handle.write(json.dumps({"input": n, "source": url}) + "\n")
    # w1 was killed: input 0 journaled (its Redis ack lost), input 1 written, never journaled.
    _part(run_dir, "w1", [(keys[0], "article", URLS[0])], killed=True)
    with (run_dir / "part-w1" / "articles.jsonl").open("ab") as handle:
        handle.write(_article(URLS[1]).model_dump_json().encode() + b"\n")
    # w2 was stopped (Ctrl-C): input 2 handed back as not_processed; w3 did the rest again.
    _part(run_dir, "w2", [(keys[2], "not_processed", URLS[2])], killed=False)
    _part(run_dir, "w3", [
        (keys[0], "seen_before", URLS[0]), (keys[1], "article", URLS[1]),
        (keys[2], "article", URLS[2]), (keys[3], "http_error", URLS[3]),
    ], killed=False)  # fmt: skip
    summary = merge_run(run_dir)
    articles = [json.loads(line) for line in (run_dir / "articles.jsonl").read_text().splitlines()]
    rejects = [json.loads(line) for line in (run_dir / "rejects.jsonl").read_text().splitlines()]
    assert [a["input_id"] for a in articles] == [keys[0], keys[1], keys[2]]
    assert [r["input_id"] for r in rejects] == [keys[3]]
    accounting = summary["accounting"]
    assert (accounting["ok"], accounting["records"], accounting["missing"]) == (True, 4, 0)
    assert accounting["superseded"] == 1  # w2's not_processed
    assert accounting["written_twice_by_killed_worker"] == 1  # w3's redo of w1's input 0
    assert summary["counts"]["rejects_by_reason"] == {"http_error": 1}


def test_articles_a_distributed_worker_could_not_save_are_saved_at_the_next_start(
    tmp_path: Path,
) -> None:
    """A worker's `part-*/state-unsaved.jsonl` is replayed as a single machine's file is."""
    part = tmp_path / "out" / "articles" / "20261201T080000Z-aaaaaa" / "part-w1"
    part.mkdir(parents=True)
    article = _article(URLS[4])
    keep(part, redacted(str(tmp_path / "state.sqlite3")), f"{part.parent.name}/part-w1",
         article, Validators('"w1"', None))  # fmt: skip
    run = Run(tmp_path, job=False)
    page = run.reruns.store.lookup(page_keys(URLS[4], URLS[4], None))
    assert page is not None
    assert (page.run_id, page.etag) == (f"{part.parent.name}/part-w1", '"w1"')
    assert run.reruns.replayed_at_start == 1
    assert (part / "state-unsaved.jsonl.replayed").exists()
    run.close()

"""`scrapy validate FILE.jsonl [...]`: check every line against the current record schema.

A line with a `reason` field is checked as a `Reject`, any other as an `Article` (with the
project's `NEWSCRAWL_MIN_WORDS`). Each bad line is printed as `FILE:LINE: field: problem`;
bytes that are not UTF-8 and a torn last line (a write cut short: no newline, incomplete
JSON) get a message of their own. Exit status 0 when every line is valid, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from schemas import Article, Reject

MAX_ERRORS_SHOWN = 10  # field errors printed per line


class Command(ScrapyCommand):
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}  # noqa: RUF012 - as Scrapy declares it

    def syntax(self) -> str:
        return "FILE.jsonl [FILE.jsonl ...]"

    def short_desc(self) -> str:
        return "Check every line of articles/rejects JSON Lines files against the schema"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError("name at least one .jsonl file")
        assert self.settings is not None
        min_words = self.settings.getint("NEWSCRAWL_MIN_WORDS")
        bad_files = 0
        try:
            for name in args:
                if not check_file(Path(name), min_words):
                    bad_files += 1
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has seen enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            bad_files += 1
        self.exitcode = 1 if bad_files else 0


def check_file(path: Path, min_words: int) -> bool:
    """Print each problem of one file and a closing count; True if every line is valid."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return False
    counts = {"articles": 0, "rejects": 0, "bad": 0}
    for number, raw, last in _lines(data):
        kind, problems = check_line(raw, min_words, torn=last and not data.endswith(b"\n"))
        if problems:
            counts["bad"] += 1
            for problem in problems:
                print(f"{path}:{number}: {problem}")
        else:
            counts[kind] += 1
    total = sum(counts.values())
    verdict = "ok" if not counts["bad"] else f"{counts['bad']} bad"
    print(
        f"{path}: {total} lines: {counts['articles']} articles, {counts['rejects']} rejects,"
        f" {verdict}"
    )
    return counts["bad"] == 0


def _lines(data: bytes) -> Iterator[tuple[int, bytes, bool]]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line
    for index, raw in enumerate(lines):
        yield index + 1, raw, index == len(lines) - 1


def check_line(raw: bytes, min_words: int, *, torn: bool) -> tuple[str, list[str]]:
    """("articles" | "rejects", problems) for one line; no problems means valid."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "", [
            f"not UTF-8: byte {raw[exc.start : exc.start + 1].hex()} at column {exc.start + 1}"
            " (records are written as UTF-8: the file was altered or is not newscrawl's)"
        ]
    if not text.strip():
        return "", ["empty line (every line must be one record)"]
    try:
        record = json.loads(text)
    except ValueError as exc:
        if torn:
            return "", [
                "torn last line: incomplete JSON and no newline at the end of the file (the"
                " write was cut short, e.g. the run was killed); drop the line or rerun"
                " the input"
            ]
        return "", [f"not JSON: {exc}"]
    if not isinstance(record, dict):
        return "", [f"not a JSON object but {type(record).__name__}"]
    model: type[BaseModel] = Reject if "reason" in record else Article
    kind = "rejects" if model is Reject else "articles"
    try:
        model.model_validate_json(text, context={"min_words": min_words})
    except ValidationError as exc:
        return kind, [f"{model.__name__}: {_error(e)}" for e in exc.errors()[:MAX_ERRORS_SHOWN]]
    return kind, []


def _error(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "record"
    return f"{where}: {str(error['msg']).removeprefix('Value error, ')}"

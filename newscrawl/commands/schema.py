"""`scrapy schema article|reject` prints a record's JSON Schema; `--output DIR` writes both.

The text is `schemas.export.render`'s, the same as `schemas/*.schema.json` in the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from schemas.export import SCHEMA_FILES, render

RECORDS = {name.split(".", 1)[0]: name for name in SCHEMA_FILES}  # article -> article.schema.json


class Command(ScrapyCommand):
    requires_project = False
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}  # noqa: RUF012 - as Scrapy declares it

    def syntax(self) -> str:
        return f"[{'|'.join(RECORDS)}] [--output DIR]"

    def short_desc(self) -> str:
        return "Print (or write) the JSON Schema of newscrawl's records"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--output", metavar="DIR", help="write every record's schema file into DIR"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        unknown = [a for a in args if a not in RECORDS]
        if unknown or len(args) > 1:
            raise UsageError(f"name one record type: {' or '.join(RECORDS)}")
        if opts.output:
            directory = Path(opts.output)
            directory.mkdir(parents=True, exist_ok=True)
            chosen = [RECORDS[args[0]]] if args else list(SCHEMA_FILES)
            for name in chosen:
                (directory / name).write_text(render(SCHEMA_FILES[name]), encoding="utf-8")
                print(directory / name)
            return
        if not args:
            raise UsageError(
                f"name a record type ({' or '.join(RECORDS)}), or --output DIR to write all"
            )
        sys.stdout.write(render(SCHEMA_FILES[RECORDS[args[0]]]))

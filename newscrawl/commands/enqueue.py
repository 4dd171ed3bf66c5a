"""`scrapy enqueue --spider articles FILE [FILE ...]`: feed the shared frontier (distributed mode).

Reads URL files (the `-a urls=` format: one URL per line, `#` comments and blank lines
skipped) and pushes one JSON entry per input line to scrapy-redis's start key
(`<spider>:start_urls`) of `NEWSCRAWL_REDIS_URL`:

    {"url": "...", "meta": {"newscrawl": {"input": 17, "run": "<run_id>", "line": 18,
     "source": "file:///...", "error": null, "duplicate_of": null}}}

Each line gets a global input id within the run, and a line naming the same page as an
earlier line of the run is marked `duplicate_of` (it ends as `duplicate_url`, not fetched
twice); a line that is not a URL carries its `error` (it ends as `invalid_url`). The run's
input list is appended to `<NEWSCRAWL_OUTPUT_DIR>/<spider>/<run_id>/inputs.jsonl`, which
`scrapy merge` checks the workers' records against. Joins the run in progress (entries
queued or workers registered), else starts a new run id. Prints the run id.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from newscrawl.distributed import START_KEY, Keys, connect, join_run, redacted
from newscrawl.inputs import read_url_file, url_key

BATCH = 1000  # entries per Redis round trip


class Command(ScrapyCommand):
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}  # noqa: RUF012 - as Scrapy declares it

    def syntax(self) -> str:
        return "--spider articles FILE [FILE ...]"

    def short_desc(self) -> str:
        return "Push the lines of URL files to the shared Redis frontier (distributed mode)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--spider", default="articles", help="spider whose frontier to feed")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError("name at least one URL file")
        assert self.settings is not None
        url = self.settings.get("NEWSCRAWL_REDIS_URL")
        if not url:
            raise UsageError("set -s NEWSCRAWL_REDIS_URL=redis://host:6379/0")
        files = [Path(name) for name in args]
        for path in files:
            if not path.is_file():
                raise UsageError(f"no such file: {path}")
        keys = Keys(opts.spider, self.settings.get("REDIS_START_URLS_KEY") or START_KEY)
        client = connect(url)
        run_id = join_run(client, keys, "", self.settings.get("NEWSCRAWL_RUN_ID") or "")
        run_dir = Path(self.settings.get("NEWSCRAWL_OUTPUT_DIR")) / opts.spider / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        max_line = self.settings.getint("NEWSCRAWL_MAX_INPUT_LINE")
        total = 0
        with (run_dir / "inputs.jsonl").open("a", encoding="utf-8") as manifest:
            for path in files:
                batch: list[tuple[str, str | None, dict[str, object]]] = []
                for line in read_url_file(path, max_line):
                    source = (line.url or line.raw)[:4096]
                    info: dict[str, object] = {
                        "run": run_id, "line": line.line_number,
                        "source": path.resolve().as_uri(), "error": line.error,
                        "duplicate_of": None,
                    }  # fmt: skip
                    key = url_key(line.url) if line.url is not None else None
                    batch.append((source, key, info))
                    if len(batch) >= BATCH:
                        total += _push(client, keys, run_id, batch, manifest)
                        batch = []
                if batch:
                    total += _push(client, keys, run_id, batch, manifest)
        print(f"run {run_id}: {total} inputs queued on {keys.start} ({redacted(url)})")
        print(f"inputs: {run_dir / 'inputs.jsonl'}")


def _push(
    client: object,
    keys: Keys,
    run_id: str,
    batch: list[tuple[str, str | None, dict[str, object]]],
    manifest: object,
) -> int:
    """Give a batch its global ids and first-seen marks, then queue it in one transaction."""
    import redis

    assert isinstance(client, redis.Redis)
    last = int(client.incrby(keys.input_ids(run_id), len(batch)))  # type: ignore[arg-type]
    first_id = last - len(batch)
    with client.pipeline(transaction=False) as pipe:
        for source, key, _info in batch:
            if key is not None:
                pipe.hsetnx(keys.url_keys(run_id), key, source)
                pipe.hget(keys.url_keys(run_id), key)
        answers = iter(pipe.execute())
    entries, listed = [], []
    for offset, (source, key, info) in enumerate(batch):
        info["input"] = first_id + offset
        if key is not None:
            created, first = next(answers), next(answers)
            if not created:
                info["duplicate_of"] = first.decode() if isinstance(first, bytes) else first
        entries.append(json.dumps({"url": source, "meta": {"newscrawl": info}}))
        listed.append(json.dumps({"input": info["input"], "source": source}) + "\n")
    client.rpush(keys.start, *entries)
    manifest.writelines(listed)  # type: ignore[attr-defined]
    return len(entries)

"""Spider arguments, validated once at start: `-a` values arrive as strings."""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from newscrawl.sources.inputs import to_fetchable_url


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts:
            raise ValueError("empty list")
        return parts
    return value


CommaList = Annotated[list[str], BeforeValidator(_split_commas)]
"""A comma-separated argument (`-a feeds=a.xml,b.xml`) as its non-empty parts."""


# True while a crawl takes its inputs from Redis (distributed mode): no -a urls/url needed.
INPUTS_FROM_REDIS: ContextVar[bool] = ContextVar("INPUTS_FROM_REDIS", default=False)


class SpiderArgumentError(ValueError):
    """A spider argument is missing or invalid; the message names it."""


class ArticlesParams(BaseModel):
    """Arguments of the `articles` spider: a URL file, one URL, or both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: Path | None = None
    url: str | None = None
    # Refetch pages earlier runs exported (conditional requests) instead of `seen_before`.
    refresh: bool = False
    # A job directory: shorthand for `-s JOBDIR=DIR`; the same command resumes a killed run.
    resume: Path | None = None

    @field_validator("urls")
    @classmethod
    def _readable_file(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @field_validator("url")
    @classmethod
    def _fetchable(cls, url: str | None) -> str | None:
        return to_fetchable_url(url.strip(), Path.cwd()) if url is not None else None

    @model_validator(mode="after")
    def _some_input(self) -> ArticlesParams:
        if self.urls is None and self.url is None and not INPUTS_FROM_REDIS.get():
            raise ValueError("give -a urls=PATH (a file of URLs) and/or -a url=URL")
        return self


P = TypeVar("P", bound=BaseModel)


def parse_params(model: type[P], arguments: dict[str, Any]) -> P:
    """Validate spider arguments into `model`, or raise one message naming each bad argument."""
    # scrapyd passes its job id to every spider as `-a _job=...`: not ours to validate.
    arguments = {name: value for name, value in arguments.items() if name != "_job"}
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "arguments"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown argument (known: {', '.join(model.model_fields)})"
            problems.append(f"-a {name}: {message}" if error["loc"] else message)
        raise SpiderArgumentError("; ".join(problems)) from None


def as_options(message: str) -> str:
    """A `SpiderArgumentError` message with `-a name` written as the option `--name`.

    `scrapy enqueue` takes the discovery arguments as options (`--max-articles 200`) and
    validates them with the same models, so its messages name the option the user typed.
    """
    return re.sub(r"-a (\w+)", lambda m: "--" + m.group(1).replace("_", "-"), message)


class DiscoveryParams(BaseModel):
    """Arguments every discovery spider shares: which announced URLs to fetch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: date | None = None
    max_articles: PositiveInt | None = None
    allow: re.Pattern[str] | None = None
    deny: re.Pattern[str] | None = None
    # Refetch announced pages earlier runs exported (conditional requests), not `seen_before`.
    refresh: bool = False


class SitemapParams(DiscoveryParams):
    """`sitemap` spider: sitemap URLs, or domains whose robots.txt lists them."""

    sitemaps: CommaList | None = None
    domains: CommaList | None = None

    @model_validator(mode="after")
    def _some_source(self) -> SitemapParams:
        if not self.sitemaps and not self.domains:
            raise ValueError("give -a sitemaps=URL[,URL...] or -a domains=example.com[,...]")
        return self


class FeedsParams(DiscoveryParams):
    """`feeds` spider: feed URLs, feed files, or files listing feeds."""

    feeds: CommaList


class SiteParams(DiscoveryParams):
    """`site` spider: start pages, followed within their hosts to a bounded depth."""

    start: CommaList
    depth: int = Field(default=2, ge=0, le=10)


class WarcParams(BaseModel):
    """`warc` spider: WARC files (paths or glob patterns) and which pages in them to extract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    warcs: CommaList | None = None  # None only in distributed mode (files from Redis)
    domains: CommaList | None = None
    since: date | None = None
    allow: re.Pattern[str] | None = None
    deny: re.Pattern[str] | None = None

    @field_validator("domains")
    @classmethod
    def _hosts(cls, domains: list[str] | None) -> list[str] | None:
        return [d.lower().strip(".") for d in domains] if domains is not None else None

    @model_validator(mode="after")
    def _some_files(self) -> WarcParams:
        if self.warcs is None and not INPUTS_FROM_REDIS.get():
            raise ValueError("give -a warcs=PATH|GLOB[,...] (WARC files)")
        return self


class ReprocessParams(BaseModel):
    """`reprocess` spider (`scrapy reprocess RUN_DIR`): a run directory with an archive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: Path

    @field_validator("run")
    @classmethod
    def _archived_run(cls, run: Path) -> Path:
        if not (run / "archive").is_dir():
            raise ValueError(
                f"{run} has no archive/ directory (crawl it with -s NEWSCRAWL_ARCHIVE=true)"
            )
        return run.resolve()

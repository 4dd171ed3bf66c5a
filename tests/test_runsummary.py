"""The numbers behind the summary, the report's charts and the drift flags (no crawl)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from newscrawl.runs.drift import drift
from newscrawl.runs.report import dates_over_time, text_length_bins
from newscrawl.runs.summary import RunFacts, domain_of, summarise


def test_domains_of_records() -> None:
    assert domain_of("https://www.example.org/a?b=1") == "www.example.org"
    assert domain_of("file:///srv/page.html") == "(local files)"
    assert domain_of("file:///srv/page.html", "https://news.example/a") == "news.example"
    assert domain_of("not a url") == "(no host)"
    assert domain_of(None) == "(no host)"


def test_publication_dates_are_a_time_axis() -> None:
    days = Counter({"2025-03-01": 2, "2025-03-04": 1})
    assert dates_over_time(days) == [
        ("2025-03-01", 2), ("2025-03-02", 0), ("2025-03-03", 0), ("2025-03-04", 1),
    ]  # fmt: skip
    months = Counter({"2024-11-30": 1, "2025-02-01": 3, "not a date": 5})
    assert dates_over_time(months) == [
        ("2024-11", 1), ("2024-12", 0), ("2025-01", 0), ("2025-02", 3),
    ]  # fmt: skip
    years = Counter({"1998-05-01": 1, "2025-01-01": 2})
    spread = dates_over_time(years)
    assert spread[0] == ("1998", 1) and spread[-1] == ("2025", 2) and len(spread) == 28
    assert dates_over_time(Counter()) == []


def test_text_length_bins() -> None:
    bins = dict(text_length_bins([60, 99, 100, 450, 2999, 3000, 12000]))
    assert bins["<100"] == 2 and bins["100–199"] == 1 and bins["400–499"] == 1
    assert bins["2000–2999"] == 1 and bins["3000+"] == 2
    assert sum(bins.values()) == 7


def test_error_rate_counts_only_pages_that_were_requested() -> None:
    facts = RunFacts()
    facts.add_article({"url": "https://a.example/1", "word_count": 300, "authors": ["X"]})
    for reason in ("http_error", "download_error", "invalid_url", "duplicate_url", "not_html"):
        facts.add_reject({"url": "https://a.example/r", "reason": reason})
    summary = summarise(facts, {}, Path("/runs/x"), max_error_rate=0.5)
    error = summary["error_rate"]
    assert (error["errors"], error["requested"], error["share"]) == (2, 4, 0.5)
    assert error["exceeded"] is False  # the limit is "above", not "at"
    domain = summary["domains"]["a.example"]
    assert domain["with_author"] == 1 and domain["with_date"] == 0
    assert domain["reject_rate"] == round(5 / 6, 4)


def test_a_robots_txt_that_failed_counts_as_a_download_error() -> None:
    facts = RunFacts()
    facts.add_article({"url": "https://a.example/1", "word_count": 300})
    for url, detail in (
        ("https://a.example/p", "disallowed by the site's robots.txt"),
        ("https://b.example/1", "robots.txt unavailable (HTTP 503): the host is disallowed"),
    ):
        facts.add_reject({"url": url, "reason": "robots_forbidden", "detail": detail})
    error = summarise(facts, {}, Path("/runs/x"), max_error_rate=0.25)["error_rate"]
    assert (error["robots_unavailable"], error["errors"], error["requested"]) == (1, 1, 3)
    assert error["exceeded"] is True


def test_drift_needs_enough_pages_in_both_runs() -> None:
    before = {"a.example": {"articles": 3, "requested": 3, "median_words": 800.0,
                            "with_date": 1.0, "with_author": 1.0, "failure_rate": 0.0}}  # fmt: skip
    after = {"a.example": {"articles": 9, "requested": 90, "median_words": 100.0,
                           "with_date": 0.0, "with_author": 0.0, "failure_rate": 0.9}}  # fmt: skip
    assert drift(after, before, "r1", 0.25, min_pages=5)["flags"] == []
    flagged = drift(after, before, "r1", 0.25, min_pages=3)["flags"]
    assert {f["metric"] for f in flagged} == {
        "median_words", "with_date", "with_author", "failure_rate",
    }  # fmt: skip
    assert {f["run"] for f in flagged} == {"r1"}
    assert drift(after, None, None, 0.25, 1) == {
        "previous_run": None, "threshold": 0.25, "min_pages": 1, "domains": {}, "flags": [],
    }  # fmt: skip


def test_benign_rejects_are_not_failures() -> None:
    """A rerun's `seen_before` (and the other benign outcomes) count neither as failures nor
    as pages requested; real failures count among the pages requested."""
    facts = RunFacts()
    facts.add_article({"url": "https://a.example/1", "word_count": 300})
    benign = ("seen_before", "unchanged", "duplicate_url", "duplicate_content", "near_duplicate")
    for reason in (*benign, "http_error", "no_article_text", "invalid_url"):
        facts.add_reject({"url": "https://a.example/r", "reason": reason})
    summary = summarise(facts, {}, Path("/runs/x"), max_error_rate=0.5)
    domain = summary["domains"]["a.example"]
    # requested: the article, unchanged, duplicate_content, near_duplicate, 2 failures
    assert (domain["benign"], domain["failures"], domain["requested"]) == (5, 2, 6)
    assert domain["failure_rate"] == round(2 / 6, 4)
    assert summary["benign_rejects"] == 5
    assert summary["top_domains_by_failure_rate"] == [
        {"domain": "a.example", "failure_rate": round(2 / 6, 4), "failures": 2, "requested": 6}
    ]


def test_a_quiet_rerun_is_not_drift_and_the_next_run_compares_with_an_earlier_one() -> None:
    """All `seen_before`: nothing requested, nothing compared. The run after it is compared,
    metric by metric, with the latest earlier run that had enough pages."""
    full = {"a.example": {"articles": 10, "requested": 10, "median_words": 500.0,
                          "with_date": 1.0, "with_author": 1.0, "failure_rate": 0.0}}  # fmt: skip
    quiet = {"a.example": {"articles": 0, "requested": 0, "median_words": None,
                           "with_date": None, "failure_rate": None}}  # fmt: skip
    assert drift(quiet, full, "r1", 0.25, 5) == {
        "previous_run": "r1", "threshold": 0.25, "min_pages": 5, "domains": {}, "flags": [],
    }  # fmt: skip
    broken = {"a.example": {"articles": 4, "requested": 10, "median_words": 500.0,
                            "with_date": 1.0, "with_author": 1.0, "failure_rate": 0.6}}  # fmt: skip
    result = drift(broken, quiet, "r2", 0.25, 5, [("r1", full)])
    assert result["flags"] == [
        {"domain": "a.example", "metric": "failure_rate", "previous": 0.0, "current": 0.6,
         "change": 0.6, "flagged": True, "run": "r1"},
    ]  # fmt: skip
    assert set(result["domains"]["a.example"]) == {"failure_rate"}  # 4 articles: too few

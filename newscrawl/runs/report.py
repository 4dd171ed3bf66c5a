"""report.html: one self-contained page per run, for analysts (inline SVG and CSS, no script).

Nothing is loaded from the network or from other files: the page opens from a mail
attachment or an archive as it does in the run directory. Charts are plain SVG drawn here
(a few bars each), every bar with a <title> tooltip giving its exact number.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from html import escape
from itertools import pairwise
from typing import Any

from newscrawl.runs.summary import RunFacts, is_failure

MAX_DOMAINS = 30  # domains shown per chart (the most pages first); the table has them all
BAR_H = 18
LABEL_W = 220
PLOT_W = 460
# Upper edges of the text-length histogram, in words (the last bar is "3000+").
WORD_BINS = (100, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000)

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1000px;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.meta{color:#59636e}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.4rem}.flag{color:#b42318;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;
padding:.25rem .5rem;border-bottom:1px solid #eaeef2}td.n,th.n{text-align:right}
svg text{font:12px system-ui,sans-serif;fill:#1f2328}.legend span{margin-right:1rem}
.sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
.empty{color:#59636e;font-style:italic}
"""
COLOURS = {
    "articles": "#2da44e",
    "failures": "#cf222e",
    "benign": "#8c959f",  # seen_before, unchanged, duplicates: normal outcomes, not failures
    "bar": "#0969da",
    "author": "#8250df",
    "date": "#bf8700",
    "language": "#1b7c83",
}


def render_report(
    run: dict[str, Any], summary: dict[str, Any], drift: dict[str, Any], facts: RunFacts
) -> str:
    """The whole page as text."""
    domains: dict[str, dict[str, Any]] = summary["domains"]
    shown = sorted(domains, key=lambda d: (-domains[d]["pages"], d))[:MAX_DOMAINS]
    flags = drift.get("flags", [])
    title = f"newscrawl run {run.get('run_id', '')} ({run.get('spider', '')})"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{_time(run.get("started_at"))} → '
        f"{_time(run.get('finished_at'))} · finish reason "
        f"{escape(str(run.get('finish_reason', '')))} · accounting "
        f"{'ok' if run.get('accounting', {}).get('ok') else 'FAILED'}</p>",
        _cards(summary, flags),
        _section(
            "Articles and rejects per domain",
            "per-domain",
            _stacked_bars(
                [
                    (
                        d,
                        [
                            ("articles", domains[d]["articles"]),
                            ("failures", domains[d]["rejects"] - domains[d]["benign"]),
                            ("benign", domains[d]["benign"]),
                        ],
                    )
                    for d in shown
                ]
            ),
            _legend(["articles", "failures", "benign"]),
        ),
        _section(
            "Reject reasons",
            "reject-reasons",
            _stacked_bars(
                [
                    (r, [("failures" if is_failure(r) else "benign", n)])
                    for r, n in summary["rejects_by_reason"].items()
                ]
            ),
            _legend(["failures", "benign"]),
        ),
        _section(
            "Text length (words per article)",
            "text-length",
            _columns(text_length_bins(facts.words) if facts.words else []),
        ),
        _section(
            "Publication dates",
            "publication-dates",
            _columns(dates_over_time(facts.published)),
        ),
        _section(
            "Share of articles missing an author, a date, a language (per domain)",
            "missing-fields",
            _missing_bars(domains, shown),
            _legend(["author", "date", "language"]),
        ),
        _drift_section(drift),
        _domain_table(domains),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _time(value: Any) -> str:
    """An ISO timestamp to the second, as people read it."""
    return escape(str(value or "")[:19].replace("T", " "))


def _cards(summary: dict[str, Any], flags: list[dict[str, Any]]) -> str:
    error = summary["error_rate"]
    median = summary["median_words"]
    cards = [
        ("articles", str(summary["articles"])),
        ("rejects", str(summary["rejects"])),
        ("of them benign", str(summary["benign_rejects"])),
        ("median words", f"{median:.0f}" if median is not None else "–"),
        ("download/HTTP errors", f"{error['share']:.0%}" if error["share"] is not None else "–"),
        ("wall time", f"{summary['wall_time_seconds']} s"),
        ("drift flags", str(len(flags))),
    ]
    body = "".join(
        f'<div class="card"><b{" class=flag" if name == "drift flags" and flags else ""}>'
        f"{escape(value)}</b>{escape(name)}</div>"
        for name, value in cards
    )
    return f'<div class="cards">{body}</div>'


def _section(title: str, ident: str, chart: str, legend: str = "") -> str:
    return f'<section id="{ident}"><h2>{escape(title)}</h2>{legend}{chart}</section>'


def _legend(keys: list[str]) -> str:
    items = "".join(
        f'<span><i class="sw" style="background:{COLOURS[k]}"></i>{escape(k)}</span>' for k in keys
    )
    return f'<p class="legend">{items}</p>'


def _svg(height: int, body: list[str], label: str) -> str:
    width = LABEL_W + PLOT_W + 60
    return (
        f'<svg class="chart" role="img" aria-label="{escape(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>'
    )


def _stacked_bars(rows: list[tuple[str, list[tuple[str, int]]]]) -> str:
    """One horizontal bar per row, its segments stacked; the total written after it."""
    if not rows:
        return '<p class="empty">nothing to show</p>'
    top = max(sum(v for _, v in segs) for _, segs in rows) or 1
    body: list[str] = []
    for i, (label, segments) in enumerate(rows):
        y = i * (BAR_H + 6) + 4
        body.append(_label(label, y))
        x = float(LABEL_W)
        for key, value in segments:
            w = PLOT_W * value / top
            if value:
                body.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{BAR_H}" '
                    f'fill="{COLOURS[key]}"><title>{escape(label)}: {value} {key}</title></rect>'
                )
            x += w
        total = sum(v for _, v in segments)
        body.append(f'<text x="{x + 6:.1f}" y="{y + BAR_H - 5}">{total}</text>')
    return _svg(len(rows) * (BAR_H + 6) + 8, body, "horizontal bar chart")


def _missing_bars(domains: dict[str, dict[str, Any]], shown: list[str]) -> str:
    """Per domain, three thin bars: the share of its articles without author, date, language."""
    rows = [d for d in shown if domains[d]["articles"]]
    if not rows:
        return '<p class="empty">no articles</p>'
    body: list[str] = []
    thin = 12
    group = 3 * thin + 12
    for i, name in enumerate(rows):
        y = i * group + 4
        body.append(_label(name, y + thin // 2 + 4))
        for j, key in enumerate(("author", "date", "language")):
            share = domains[name][f"with_{key}"]
            missing = 1 - share if share is not None else 0.0
            yy = y + j * thin
            body.append(
                f'<rect x="{LABEL_W}" y="{yy}" width="{max(PLOT_W * missing, 1):.1f}" '
                f'height="{thin - 1}" fill="{COLOURS[key]}"><title>{escape(name)}: '
                f"{missing:.0%} missing {key}</title></rect>"
                f'<text x="{LABEL_W + PLOT_W * missing + 4:.1f}" y="{yy + thin - 1}" '
                f'font-size="10">{missing:.0%} {key}</text>'
            )
    return _svg(len(rows) * group + 8, body, "missing fields per domain")


def _columns(bins: list[tuple[str, int]]) -> str:
    """Vertical bars with their labels underneath (rotated when there are many)."""
    if not bins:
        return '<p class="empty">nothing to show</p>'
    width = LABEL_W + PLOT_W + 60
    plot_h = 160
    step = (width - 40) / len(bins)
    top = max(n for _, n in bins) or 1
    rotate = len(bins) > 8
    body: list[str] = []
    for i, (label, n) in enumerate(bins):
        x = 30 + i * step
        h = plot_h * n / top
        body.append(
            f'<rect x="{x + 1:.1f}" y="{plot_h - h + 14:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="{COLOURS["bar"]}"><title>{escape(label)}: {n}</title></rect>'
        )
        if n:
            body.append(
                f'<text x="{x + step / 2:.1f}" y="{plot_h - h + 10:.1f}" '
                f'text-anchor="middle" font-size="10">{n}</text>'
            )
        lx, ly = x + step / 2, plot_h + 28
        transform = f' transform="rotate(-60 {lx:.1f} {ly})"' if rotate else ""
        anchor = "end" if rotate else "middle"
        body.append(
            f'<text x="{lx:.1f}" y="{ly}" text-anchor="{anchor}" font-size="10"'
            f"{transform}>{escape(label)}</text>"
        )
    height = plot_h + (90 if rotate else 40)
    return _svg(height, body, "column chart")


def _label(text: str, y: int) -> str:
    shown = text if len(text) <= 32 else text[:31] + "…"
    return (
        f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 5}" text-anchor="end">'
        f"{escape(shown)}<title>{escape(text)}</title></text>"
    )


def _drift_section(drift: dict[str, Any]) -> str:
    previous = drift.get("previous_run")
    if not previous:
        note = "No earlier run of this spider in this output directory: nothing to compare."
        return f'<section id="drift"><h2>Drift since the previous run</h2><p>{note}</p></section>'
    flags = drift.get("flags", [])
    head = (
        f"<p>Compared with run <code>{escape(previous)}</code>, or per metric with the latest "
        f"earlier run that had enough pages (at least {drift['min_pages']} articles, or pages "
        f"requested for the failure rate, in both runs; threshold {drift['threshold']:g}). "
        + (
            f'<span class="flag">{len(flags)} large change(s) flagged.</span>'
            if flags
            else "No large changes."
        )
        + "</p>"
    )
    rows = []
    for domain, changes in drift.get("domains", {}).items():
        for metric, c in changes.items():
            cls = ' class="flag"' if c["flagged"] else ""
            rows.append(
                f"<tr{cls}><td>{escape(domain)}</td><td>{escape(metric)}</td>"
                f'<td class="n">{c["previous"]}</td><td class="n">{c["current"]}</td>'
                f'<td class="n">{c["change"]:+g}</td><td><code>{escape(str(c.get("run", "")))}'
                f"</code></td><td>{'⚠ flagged' if c['flagged'] else ''}</td></tr>"
            )
    table = (
        '<table><tr><th>domain</th><th>metric</th><th class="n">previous</th>'
        '<th class="n">now</th><th class="n">change</th><th>compared with</th><th></th></tr>'
        + "".join(rows)
        + "</table>"
        if rows
        else ""
    )
    return f'<section id="drift"><h2>Drift since the previous run</h2>{head}{table}</section>'


def _domain_table(domains: dict[str, dict[str, Any]]) -> str:
    def _words(value: float | None) -> str:
        return "–" if value is None else f"{value:.0f}"

    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.0%}"

    rows = "".join(
        f"<tr><td>{escape(d)}</td><td class=n>{m['pages']}</td><td class=n>{m['articles']}</td>"
        f"<td class=n>{m['rejects']}</td><td class=n>{m['benign']}</td>"
        f"<td class=n>{pct(m['failure_rate'])}</td>"
        f"<td class=n>{_words(m['median_words'])}</td>"
        f"<td class=n>{pct(m['with_date'])}</td><td class=n>{pct(m['with_author'])}</td>"
        f"<td class=n>{pct(m['with_language'])}</td></tr>"
        for d, m in sorted(domains.items(), key=lambda kv: (-kv[1]["pages"], kv[0]))
    )
    return (
        '<section id="domains"><h2>All domains</h2><table><tr><th>domain</th>'
        "<th class=n>pages</th><th class=n>articles</th><th class=n>rejects</th>"
        "<th class=n>of them benign</th><th class=n>failure rate</th>"
        "<th class=n>median words</th><th class=n>with date</th>"
        f"<th class=n>with author</th><th class=n>with language</th></tr>{rows}</table>"
        "</section>"
    )


def text_length_bins(words: list[int]) -> list[tuple[str, int]]:
    """Histogram of words per article: (label, articles) per bin."""
    counts = [0] * (len(WORD_BINS) + 1)
    for n in words:
        index = next((i for i, edge in enumerate(WORD_BINS) if n < edge), len(WORD_BINS))
        counts[index] += 1
    labels = [f"<{WORD_BINS[0]}"]
    labels += [f"{lo}–{hi - 1}" for lo, hi in pairwise(WORD_BINS)]
    labels.append(f"{WORD_BINS[-1]}+")
    return list(zip(labels, counts, strict=True))


def dates_over_time(published: Counter[str]) -> list[tuple[str, int]]:
    """Articles per publication day; per month when the dates span more than two months, per
    year when they span more than five years.

    Every day (month, year) between the first and the last is a bin, empty ones included, so
    the bars are a time axis.
    """
    days = sorted(d for d in published if _is_date(d))
    if not days:
        return []
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    if (last - first).days <= 62:
        span = ((first + timedelta(n)).isoformat() for n in range((last - first).days + 1))
        return [(d, published.get(d, 0)) for d in span]
    if last.year - first.year > 5:
        years: Counter[str] = Counter()
        for d in days:
            years[d[:4]] += published[d]
        return [(str(y), years.get(str(y), 0)) for y in range(first.year, last.year + 1)]
    months: Counter[str] = Counter()
    for d in days:
        months[d[:7]] += published[d]
    result = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        key = f"{year:04d}-{month:02d}"
        result.append((key, months.get(key, 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True

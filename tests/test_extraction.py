"""The extractor against golden fixtures: every field exact, no boilerplate line left."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from lxml import html as lxml_html

from newscrawl.extraction import article, body, extract_article
from newscrawl.extraction.boilerplate import classify_line, classify_tail_line, clean_paragraphs
from tests.golden import (
    COMPARED_FIELDS,
    FIXTURES,
    article_cases,
    as_comparable,
    load_cases,
    no_article_cases,
)

CASES = load_cases()


def _extract(name: str):
    case = CASES[name]
    return extract_article((FIXTURES / f"{name}.html").read_bytes(), case["url"])


@pytest.mark.parametrize("name", article_cases())
@pytest.mark.parametrize("field", COMPARED_FIELDS)
def test_field_matches_golden(name: str, field: str) -> None:
    got = getattr(_extract(name), field)
    assert as_comparable(field, got) == as_comparable(field, CASES[name][field])


@pytest.mark.parametrize("name", article_cases())
def test_no_boilerplate_line_survives(name: str) -> None:
    text = _extract(name).text
    left = [line for line in CASES[name]["boilerplate"] if line in text]
    assert left == []


@pytest.mark.parametrize("name", no_article_cases())
def test_pages_without_an_article_give_no_article(name: str) -> None:
    fields = _extract(name)
    assert fields.is_listing or len(fields.text.split()) < 50


def test_decodes_bytes_and_text_alike() -> None:
    name = article_cases()[0]
    raw = (FIXTURES / f"{name}.html").read_bytes()
    url = CASES[name]["url"]
    assert extract_article(raw, url).text == extract_article(raw.decode("utf-8"), url).text


@pytest.mark.parametrize("html", [b"", "", b"\x00\x01\x02", "<html></html>", "plain words only"])
def test_unusable_input_gives_empty_text_not_an_exception(html: str | bytes) -> None:
    fields = extract_article(html, "https://example.org/a")
    assert fields.text == ""
    assert fields.title is None or isinstance(fields.title, str)


def test_removed_lines_are_reported_with_their_rule() -> None:
    fields = _extract("seed_like_lbc_style")
    rules = {removal.rule for removal in fields.removed}
    assert {"cross_link", "teaser_block"} <= rules


# --------------------------------------------------------------------------- general rules
# Small pages written for each rule: what it must remove, and the look-alike body text it
# must keep (the rules are judged on real pages by tests/test_extraction_eval.py).

BODY = " ".join(
    f"Paragraph {n} of the council report says the bridge repairs will take another month."
    for n in range(3)
)


def _page(body: str, head: str = "") -> str:
    return f"<html><head><title>Bridge repairs</title>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Follow Coastline Live on Facebook and sign up to our alerts.", "call_to_action"),
        ("Follow him on Twitter @someone.", "call_to_action"),
        ("Get the day’s top headlines delivered to your inbox every morning.", "call_to_action"),
        ("Have a tip? Jane Doe may be reached at jane@example.org.", "call_to_action"),
        ("Follow the Valley Courier on WhatsApp for breaking news.", "call_to_action"),
        ("Folgst du schon dem Rheinboten auf Whatsapp?", "call_to_action"),
        ("Abonniere den Whatsapp-Kanal vom Rheinboten und verpasse nichts.", "call_to_action"),
        ("Was this page helpful?", "label"),
        ("Reading time: 4 minutes", "label"),
        ("Updated at 1:23 p.m.", "dateline"),
        ("5:45 AM PST 11/19/2019 by Jane Doe", "dateline"),
        ("Additional reporting by Jane Doe", "credit_line"),
        ('[button link="https://example.org/x"]Send us your review[/button]', "template_residue"),
        ("Jewels on show, installation views, photos © Studio Nine, 2018", "caption_credit"),
        ("Follow the Valley Herald on Google News to get our stories.", "call_to_action"),
        ("Ground Game: Sign up for AP’s weekly politics newsletter.", "call_to_action"),
        ("Do you have a story to tell? Email: desk@example.org", "call_to_action"),
        ("We want to hear from you: did the closure affect you?", "call_to_action"),
        ("Link kopiert", "label"),
        ("Wie hat Ihnen dieser Artikel gefallen?", "label"),
        ("Most read in Football", "label"),
        ("This slideshow requires JavaScript.", "label"),
        ("<Copyright ⓒ 한국일보. All rights reserved.>", "caption_credit"),
        ("With files from The Canadian Press and Jane Roe", "credit_line"),
        ("Mit Agenturmaterial.", "credit_line"),
        ("Quelle: ntv.de", "credit_line"),
        ("Redaktion: Anna Berg, Faktencheck: Jan Roe", "credit_line"),
        ("05.08.2024, 20:59 Uhr", "dateline"),
        ("20 Nisan 2026•Güncelleme: 20 Nisan 2026", "dateline"),
        ("Passer la publicité", "label"),
    ],
)
def test_boilerplate_lines_are_classified(line: str, rule: str) -> None:
    assert classify_line(line) == rule


@pytest.mark.parametrize(
    "line",
    [
        "The Environmental Protection Agency (EPA)",
        "The museum opens at 9.30 A.M. and closes at 7.00 P.M.",
        "Her followers on Twitter doubled after the speech, aides said.",
        "The company said it would update investors on Monday.",
        "Reporting by the BBC found that the council had known for years.",
        "Die Gruppe tauschte sich auf Whatsapp aus, folgte aber keinem Plan.",
        "Wer den Kanal abonniert, bekommt jeden Morgen eine Übersicht.",
        "I have a story to tell about the war, he said.",
        "With files from the council, the plan was drafted in a week.",
        "Sources say the minister will resign before the summer.",
        "Most of the readers said the story had changed their minds.",
        "Redaktion: Die Stadt hat entschieden, den Platz zu sperren.",
        "Am 05.08.2024, 20:59 Uhr fiel in der ganzen Stadt der Strom aus.",
        "The list was updated in 2020, after the second review.",
    ],
)
def test_body_lines_that_look_like_boilerplate_are_kept(line: str) -> None:
    assert classify_line(line) is None


def test_contributor_note_is_a_credit_only_as_a_closing_line_of_that_form() -> None:
    note = (
        "Doe reported from Port Alder. Canadian Press writer Jane Roe in Halifax contributed"
        " to this report."
    )
    assert classify_line(note) is None
    assert classify_tail_line(note) == "credit_line"
    for line in (
        "Smith reported from Kyiv on Tuesday that the bridge was closed.",
        "Many residents contributed to the fund.",
        "The staff Christmas party contributed.",
    ):
        assert classify_tail_line(line) is None


def test_company_self_description_is_boilerplate_only_at_the_end() -> None:
    about = (
        "Acme Systems is a global provider of hospital software. Acme is headquartered in "
        "Leeds and employs around 900 people."
    )
    paragraphs = [BODY, BODY.replace("council", "county"), about]
    kept, removed = clean_paragraphs(paragraphs, None, set())
    assert kept == paragraphs[:2]
    assert [r.rule for r in removed] == ["company_boilerplate"]
    kept, _ = clean_paragraphs([about, *paragraphs[:2], BODY.upper(), BODY.lower()], None, set())
    assert kept[0] == about


def test_lines_repeated_far_apart_are_kept_and_adjacent_duplicates_dropped() -> None:
    plan = ["Meal 1", "Eat every 2 hours", "Meal 2", "Eat every 2 hours"]
    kept, removed = clean_paragraphs(plan, None, set())
    assert kept == plan
    kept, removed = clean_paragraphs([BODY, BODY], None, set())
    assert kept == [BODY]
    assert [r.rule for r in removed] == ["repeated_line"]


def test_text_after_an_unwrapped_heading_is_kept() -> None:
    root = etree.fromstring("<body><head>Deal one</head>Save 30 dollars today.<p>Next.</p></body>")
    assert body.paragraphs(root) == ["Deal one", "Save 30 dollars today.", "Next."]


def test_related_links_list_and_hover_card_are_pruned() -> None:
    html = _page(
        f"<article><p>{BODY}</p>"
        '<p>The engineers spoke to <a href="/p/1">Jane Doe</a><span class="card">'
        '<a href="/p/1">Jane Doe</a><a href="/s/1">Story one</a> <a href="/s/2">Story two'
        "</a></span> about the repairs, which she said had been delayed by the weather.</p>"
        '<ul><li><a href="/a">Ten facts about bridges</a></li>'
        '<li><a href="/b">The oldest bridges in Europe</a></li></ul>'
        f"<p>{BODY.replace('council', 'city')}</p></article>"
    )
    fields = extract_article(html, "https://example.org/a")
    assert "The engineers spoke to Jane Doe about the repairs," in fields.text
    assert "Story one" not in fields.text
    assert "Ten facts about bridges" not in fields.text
    assert {"inline_link_cluster", "link_list"} <= {r.rule for r in fields.removed}


def test_embedded_post_and_styled_subheading_between_paragraphs_are_kept() -> None:
    html = _page(
        f"<article><p>{BODY}</p>"
        '<div class="social-embed"><blockquote class="post"><p>The bridge is closed again, '
        "and nobody has told the residents why.</p>— A Resident (@resident)</blockquote></div>"
        f"<p>{BODY.replace('council', 'city')}</p>"
        '<div class="story_subheadline">What happens next?</div>'
        f"<p>{BODY.replace('council', 'county')}</p></article>"
    )
    text = extract_article(html, "https://example.org/a").text
    assert "nobody has told the residents why" in text
    assert "What happens next?" in text


def test_declared_body_replaces_an_extraction_cut_short() -> None:
    declared = " ".join(
        f"Sentence {n} of the story, as the publisher declares it." for n in range(20)
    )
    ld = json.dumps({"@type": "NewsArticle", "headline": "Bridge repairs", "articleBody": declared})
    html = _page(
        "<div id='app'><p>Loading the story, one moment please.</p></div>",
        f'<script type="application/ld+json">{ld}</script>',
    )
    fields = extract_article(html, "https://example.org/a")
    assert fields.text_source in {"balanced", "json_ld"}
    assert "Sentence 19 of the story" in fields.text


def test_a_declared_excerpt_does_not_replace_the_extraction() -> None:
    ld = json.dumps({"@type": "NewsArticle", "articleBody": "The council said the bridge…"})
    script = f'<script type="application/ld+json">{ld}</script>'
    html = _page(f"<article><p>{BODY}</p></article>", script)
    fields = extract_article(html, "https://example.org/a")
    assert fields.text_source == "precision"
    assert fields.text == BODY


# --------------------------------------------------------------------------- guard
# The guard falls back to plain trafilatura when our body lost the article; these pin its
# decision on a real fixture page, with our side of the comparison made up.

NAV_LINES = ["Home", "News", "Sport", "What's on", "Property", "Contact us", "Privacy notice"]


def test_navigation_is_told_from_article_text() -> None:
    assert article._looks_like_navigation(NAV_LINES)
    assert not article._looks_like_navigation([BODY, BODY.upper(), BODY.lower(), BODY])
    assert not article._looks_like_navigation(["Short.", "Lines.", "End sentences."])


def test_guard_takes_plain_trafilatura_when_ours_is_navigation() -> None:
    case = CASES["split_body_newsletter_box"]
    html = (FIXTURES / "split_body_newsletter_box.html").read_bytes()
    assert article._needs_guard(NAV_LINES, page_prose=2000)
    paragraphs, source = article._guarded(NAV_LINES, "precision", html, case["url"], 2000)
    assert source == "guard"
    assert paragraphs[0] == case["text"].split("\n\n")[0]


def test_guard_runs_trafilaturas_fallbacks_only_when_the_fast_plain_pass_fails_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The plain pass runs without trafilatura's readability/justext comparison first; on
    # this page it finds the article, so the slow cascade (fast=False) never runs.
    case = CASES["split_body_newsletter_box"]
    html = (FIXTURES / "split_body_newsletter_box.html").read_bytes()
    passes: list[bool] = []
    real = article._extract_paragraphs

    def recording(root: object, url: str, **options: bool) -> list[str]:
        passes.append(options.get("fast", True))
        return real(root, url, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(article, "_extract_paragraphs", recording)
    assert article._guarded(NAV_LINES, "precision", html, case["url"], 2000)[1] == "guard"
    assert passes == [True]
    # A page whose text is one run of menu words, no sentence: the fast pass finds no
    # prose, so the full cascade is tried as well.
    menu = " ".join(NAV_LINES * 40)
    passes.clear()
    article._guarded([], "precision", _page(f"<div>{menu}</div>"), "https://example.org/", 0)
    assert passes == [True, False]


def test_prose_is_told_from_run_together_menus() -> None:
    assert article._reads_as_prose([BODY, "Short line"])
    assert not article._reads_as_prose([" ".join(NAV_LINES * 20), BODY[:40] + "."])


def test_guard_keeps_our_body_when_it_holds_what_plain_trafilatura_finds() -> None:
    case = CASES["split_body_newsletter_box"]
    html = (FIXTURES / "split_body_newsletter_box.html").read_bytes()
    ours = case["text"].split("\n\n")
    assert not article._needs_guard(ours, page_prose=len(case["text"]))
    guarded = article._guarded(ours, "precision", html, case["url"], len(case["text"]))
    assert guarded == (ours, "precision")


def test_a_paragraph_repeated_in_another_version_is_not_put_back() -> None:
    kept = [BODY, BODY.replace("council", "city"), BODY.replace("council", "county")]
    copy = BODY.replace("will take another month", "are late")
    html = _page(
        "<article>"
        + "".join(f'<div class="body"><p>{p}</p></div>' for p in kept)
        + f'<div class="body"><p>{copy}</p></div></article>'
    )
    root = lxml_html.fromstring(html)
    assert body.restore_siblings(root, kept) == kept


def test_a_pull_quote_goes_but_lines_that_recur_whole_stay() -> None:
    pull = "Give it a few quiet years and the sea gives back far more than we ever took from it"
    quote = f"“{pull},” he said."
    dish = "Slow cooker beef chili, 1 Tbsp. cilantro or green onions (optional), 10 olives or seeds"
    kept, removed = body.drop_pull_quotes([BODY, quote, dish, pull, dish, BODY])
    assert kept == [BODY, quote, dish, dish, BODY]
    assert [(r.text, r.rule) for r in removed] == [(pull, "pull_quote")]


def test_the_full_cascade_reads_one_languages_stoplist_not_all_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # trafilatura builds the union of justext's 100 stoplists (33 MB a worker, kept) when its
    # justext call gets no language; the guard's full cascade gives it the text's language.
    from trafilatura import external

    before = external.JT_STOPLIST  # None, or the union if another test ran plain trafilatura
    built: list[bool] = []
    real_init = external.jt_stoplist_init
    monkeypatch.setattr(external, "jt_stoplist_init", lambda: built.append(True) or real_init())
    paragraphs = [BODY, BODY.replace("council", "committee"), BODY.replace("river", "valley")]
    page = lxml_html.fromstring(_page("".join(f"<div><p>{p}</p></div>" for p in paragraphs)))
    with article._justext_stoplist_of("\n".join(paragraphs)):
        assert external.JT_STOPLIST is not None and "the" in external.JT_STOPLIST
        found = external.try_justext(page, "https://example.org/", None)
    assert [p.text for p in found.iter("p")] == paragraphs
    assert external.JT_STOPLIST is before
    # A language justext has no list for: no paragraph reads as article text, as with the
    # union (which holds no word of it either).
    japanese = "東京都は火曜日、新しい橋の建設計画を発表した。工事は来年の春に始まる予定だ。" * 8
    with article._justext_stoplist_of(japanese):
        found = external.try_justext(
            lxml_html.fromstring(_page(f"<div><p>{japanese}</p></div>")), None, None
        )
    assert [p.text for p in found.iter("p")] == []
    assert built == []

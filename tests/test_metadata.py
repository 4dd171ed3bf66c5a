"""Metadata rules one by one: credits, titles, topics, language, the paywall flag.

Each failure class of issue 13 has a golden page in tests/fixtures (meta_*.html, compared
field by field by tests/test_extraction.py); these tests pin the rules on the small inputs
that define them, including the look-alikes each rule must leave alone.
"""

from __future__ import annotations

import json

import pytest
from lxml import html as lxml_html

from newscrawl.extraction import extract_article
from newscrawl.extraction.authors import clean_authors
from newscrawl.extraction.boilerplate import byline_credit, classify_line
from newscrawl.extraction.credits import choose_authors
from newscrawl.extraction.language import identify, resolve_language
from newscrawl.extraction.metadata import read_metadata
from newscrawl.extraction.titles import choose_title
from tests.golden import FIXTURES, load_cases

CASES = load_cases()


@pytest.mark.parametrize(
    ("byline", "credits"),
    [
        ("By @handle | Staff Reporter", []),
        ("Di Maria", ["Di Maria"]),
        ("Von der Leyen", ["Von der Leyen"]),
        ("By Megan Read", ["Megan Read"]),
        ("Deutsche Welle (www.dw.com)", ["Deutsche Welle"]),
        ("Felix Schröder und Jörg Soldwisch, dpa", ["Felix Schröder", "Jörg Soldwisch", "dpa"]),
        ("大渡 美咲", ["大渡 美咲"]),
        ("구현모 기자", ["구현모"]),
        ("राहुल शर्मा", ["राहुल शर्मा"]),
        ("Guardian staff reporter", ["Guardian staff reporter"]),
        ("Redaktion hessenschau.de", ["Redaktion hessenschau.de"]),
        ("Par Claire Dumont", ["Claire Dumont"]),
        ("Por María José de la Fuente y Luis Pérez", ["María José de la Fuente", "Luis Pérez"]),
        ("By Jane Doe and Max Mustermann", ["Jane Doe", "Max Mustermann"]),
        ("By John Smith, Senior Editor", ["John Smith"]),
        ("Elena Oberholzer (obe)", ["Elena Oberholzer"]),
        ("(责编：牛镛、岳弘彬)", ["牛镛", "岳弘彬"]),
        ("Stand: 28. April 2023, 05:00 Uhr", []),
        ("Von unserer Redaktion", []),
        ("105092", []),
        ("JÖRG ZSCHOCHE", ["JÖRG ZSCHOCHE"]),
        ("Jan Sellner", ["Jan Sellner"]),
        ("Tom Krisher, AP Auto Writer", ["Tom Krisher"]),
        ("(Image: Getty Images/iStockphoto)", []),
    ],
)
def test_credits_are_kept_as_the_page_gives_them(byline: str, credits: list[str]) -> None:
    assert clean_authors([byline]) == credits


def test_credits_repeated_across_sources_are_kept_once() -> None:
    assert clean_authors(["Megan Read", "megan read", "By Megan Read and Tom Hale"]) == [
        "Megan Read",
        "Tom Hale",
    ]


@pytest.mark.parametrize(
    ("declared", "visible", "credits"),
    [
        # Declared metadata naming the site gives way to a visible byline of people.
        (["Rheinwelle"], ["von Anna Berg"], ["Anna Berg"]),
        (["Rheinwelle (www.rheinwelle.example)"], ["Anna Berg"], ["Anna Berg"]),
        # A CMS account or a URL as the declared author.
        (["105092"], ["By Anna Berg"], ["Anna Berg"]),
        (["https://www.rheinwelle.example/author/aberg/"], ["Anna Berg"], ["Anna Berg"]),
        # No visible byline of people: the site's own credit is what the page credits.
        (["Rheinwelle"], ["amw"], ["Rheinwelle"]),
        # A person declared beside the site: the person.
        (["Rheinwelle", "Anna Berg"], [], ["Anna Berg"]),
        # Declared people stand, whatever the page shows elsewhere.
        (["Anna Berg"], ["Tom Hale"], ["Anna Berg"]),
        # An agency credited by a site is not the site.
        (["dpa"], ["Tom Hale"], ["dpa"]),
        # Logins and URL slugs are no credits.
        (["admin"], ["By Anna Berg"], ["Anna Berg"]),
        (["anna-berg"], ["Anna Berg"], ["Anna Berg"]),
        (["kei_eno"], [], []),
    ],
)
def test_a_visible_byline_beats_metadata_that_names_the_site(
    declared: list[str], visible: list[str], credits: list[str]
) -> None:
    url = "https://www.rheinwelle.example/region/a-1"
    assert choose_authors(declared, visible, "Rheinwelle", url) == credits


@pytest.mark.parametrize(
    ("candidates", "title"),
    [
        # Entities decoded, twice where a CMS escaped them twice.
        (["Harbour &amp;amp; ferry &quot;strike&quot;", None, None, None, None],
         'Harbour & ferry "strike"'),
        # Site suffix after a separator; a domain as suffix; a full-width bar.
        (["Bridge closes | Rheinwelle", None, None, None, None], "Bridge closes"),
        (["Bridge closes - rheinwelle.example", None, None, None, None], "Bridge closes"),
        (["橋が閉鎖｜Rheinwelle", None, None, None, None], "橋が閉鎖"),
        # The headline the others extend with a section and the site name.
        ([None, "Bridge closes", "Bridge closes", None, "Bridge closes | Region | Rheinwelle"],
         "Bridge closes"),
        # A kicker that og:title leaves out is not part of the headline.
        (["Live: Bridge closes", "Bridge closes", "Live: Bridge closes", "Live: Bridge closes",
          None], "Bridge closes"),
        # A colon in a headline that no other title drops stays.
        (["Bridge: closes", "Bridge: closes", None, None, None], "Bridge: closes"),
        # The visible headline, when a declared title confirms it, beats a social
        # headline that og:title, twitter:title and <title> share.
        (["Dörfer räumen auf", "Sturm: Bäche stiegen", "Dörfer räumen auf",
          "Sturm: Bäche stiegen", "Sturm: Bäche stiegen | Rheinwelle"], "Dörfer räumen auf"),
        # An <h1> that no other title confirms does not.
        (["Sturm: Bäche stiegen", "Sturm: Bäche stiegen", "Dörfer räumen auf", None, None],
         "Sturm: Bäche stiegen"),
        ([None, None, None, None, None], None),
    ],
)  # fmt: skip
def test_title_unescaped_without_site_suffix_or_kicker(
    candidates: list[str | None], title: str | None
) -> None:
    assert choose_title(candidates, "Rheinwelle") == title


def test_title_drops_a_section_after_the_site_name() -> None:
    candidates = ["축제 최대-사회ㅣ한빛일보", None, None, None, None]
    assert choose_title(candidates, "한빛일보", "사회") == "축제 최대"


def _meta(head: str, body: str = "") -> object:
    page = f"<html><head>{head}</head><body>{body}</body></html>"
    return read_metadata(lxml_html.fromstring(page), "https://news.example/a")


@pytest.mark.parametrize(
    ("head", "topics"),
    [
        ('<meta name="keywords" content="Bridges, Traffic , Council">',
         ["Bridges", "Traffic", "Council"]),
        ('<meta name="news_keywords" content="Bridges;Traffic">', ["Bridges", "Traffic"]),
        ('<meta property="article:tag" content="Spain,Europe,World news">',
         ["Spain", "Europe", "World news"]),
        ('<meta name="keywords" content="深空探测 探月工程 太空">',
         ["深空探测", "探月工程", "太空"]),
        ('<script type="application/ld+json">{"@type":"NewsArticle","keywords":'
         '["26157981-b4f7-4929-adc1-e860c6f03636","Category: Travel","editors_pick","Jasper"]}'
         '</script>'
         '<meta name="keywords" content="Other">', ["Jasper"]),
        ('<meta property="article:tag" content="Bridges">'
         '<meta name="keywords" content="News, Home">', ["Bridges"]),
        # One declared keyword that is a list joined by spaces: the next declaration.
        ('<script type="application/ld+json">{"@type":"NewsArticle","keywords":'
         '"Boxen Russland Tyson Fury Anthony Joshua Lennox Lewis"}</script>'
         '<meta name="news_keywords" content="Boxen,Russland,Tyson Fury">',
         ["Boxen", "Russland", "Tyson Fury"]),
        # A long keyword among others, or one with commas, stays as declared.
        ('<meta name="keywords" content="Ulaştırma ve Altyapı Bakanı Abdulkadir Uraloğlu">'
         '<meta property="article:tag" content="Elektrikli araç">'
         '<meta property="article:tag" content="Ulaştırma ve Altyapı Bakanı Abdulkadir Uraloğlu">',
         ["Elektrikli araç", "Ulaştırma ve Altyapı Bakanı Abdulkadir Uraloğlu"]),
        # A list of analytics "Label: value" pairs: the topics are the Subject/Topic values.
        ('<script type="application/ld+json">{"@type":"NewsArticle","keywords":'
         '["Day: Friday","Page Type: Article","Medium","Subject: Courts","Topic: Housing"]}'
         '</script>', ["Courts", "Housing"]),
        # Such a list naming no topic gives none, and the next declaration is read.
        ('<script type="application/ld+json">{"@type":"NewsArticle","keywords":'
         '["Day: Friday","Page Type: Article","Medium"]}</script>'
         '<meta name="news_keywords" content="Bridges">', ["Bridges"]),
    ],
)  # fmt: skip
def test_topics_come_from_the_declared_keywords(head: str, topics: list[str]) -> None:
    assert _meta(head).tags == topics


def test_a_declared_author_page_url_is_read_from_its_link() -> None:
    head = '<meta name="author" content="https://news.example/author/madeline-fry/">'
    body = (
        '<a href="https://www.facebook.com/newsexample">Facebook</a>'
        '<ul class="columnists"><li><a href="/author/byron-york">Byron York</a></li></ul>'
        '<p class="meta">By <a href="/author/madeline-fry">Madeline Fry</a></p>'
    )
    assert _meta(head, body).authors == ["Madeline Fry"]


def test_a_social_profile_url_is_not_read_as_an_author() -> None:
    head = '<meta property="article:author" content="https://www.facebook.com/newsexample">'
    body = (
        '<a href="https://www.facebook.com/newsexample">Facebook</a>'
        '<div class="byline">By Carlos Nadalim</div>'
    )
    assert _meta(head, body).authors == ["Carlos Nadalim"]


def test_author_links_in_navigation_are_not_the_byline() -> None:
    body = (
        '<nav><a href="/authors/byron-york">Byron York</a></nav>'
        '<p>By <a href="/authors/salena-zito">Salena Zito</a></p>'
    )
    assert _meta("", body).authors == ["Salena Zito"]


def test_topics_fall_back_on_the_pages_own_tag_list_not_a_site_block() -> None:
    body = (
        '<section class="topics"><h2>More Topics</h2><ul class="topics__list">'
        '<li><a href="/t/a">Elections</a></li></ul></section>'
        '<div class="article-tags"><a href="/t/b">Bridges</a> <a href="/t/c">Traffic</a></div>'
    )
    assert _meta("", body).tags == ["Bridges", "Traffic"]


@pytest.mark.parametrize(
    ("body", "topics"),
    [
        # In the article's own footer, after a label: the article's tags.
        ('<article><p>Text.</p><footer><div class="entry-tags"><strong>Schlagworte</strong>'
         '<a href="/t/a">Brücken</a> <a href="/t/b">Verkehr</a></div></footer></article>',
         ["Brücken", "Verkehr"]),
        # In the page's footer: the site's topics.
        ('<article><p>Text.</p></article><footer><div class="footer-topics">'
         '<a href="/t/a">Politik</a> <a href="/t/b">Sport</a></div></footer>', []),
        # A block with more than a label's text beside its links is not a tag list.
        ('<article><div class="tags">Read more about how the council decided this week: '
         '<a href="/t/a">Bridges</a></div></article>', []),
        # A titled tag block inside the article is the article's.
        ('<article><p>Text.</p><section class="related-topics"><h3>Related topics</h3>'
         '<a href="/t/a">Servers</a> <a href="/t/b">Storage</a></section></article>',
         ["Servers", "Storage"]),
        # rel="tag" links outside the site's chrome; a category link is a section.
        ('<article><p>Text <a rel="category tag" href="/c/news">News</a></p>'
         '<p><a rel="tag" href="/t/a">Bridges</a>, <a rel="tag" href="/t/b">Traffic</a></p>'
         '</article><nav><a rel="tag" href="/t/c">Elections</a></nav>', ["Bridges", "Traffic"]),
    ],
)  # fmt: skip
def test_visible_tags_are_the_articles_own(body: str, topics: list[str]) -> None:
    assert _meta("", body).tags == topics


SWAHILI = (
    "Wakulima wa mpunga katika mkoa wa Morogoro wamepata mavuno mazuri msimu huu baada ya "
    "mvua kunyesha kwa wakati na kwa kiasi cha kutosha, maafisa wa kilimo wamesema."
)
ENGLISH = (
    "Ferry crews and harbour staff walked out at dawn on Wednesday, leaving the morning "
    "sailings to the islands cancelled and hundreds of commuters waiting on the quay."
)
KOREAN = "항구 도시 부산에서 열린 바다 축제에 지난해보다 두 배 가까운 관광객이 몰렸다. " * 2
CROATIAN = (
    "Vlada je u četvrtak predstavila novi plan obnove željezničke pruge između Zagreba i "
    "Rijeke, a radovi bi trebali početi iduće godine i trajati najmanje pet godina."
)


@pytest.mark.parametrize(
    ("declared", "text", "language"),
    [
        ("en", SWAHILI, "sw"),  # a CMS default, overruled by the text
        (None, SWAHILI, "sw"),  # nothing declared: the text fills in
        ("en", ENGLISH, "en"),
        ("kr", KOREAN, "ko"),  # a country code declared as the language
        ("sr", CROATIAN, "sr"),  # close languages never overrule the declaration
        ("de", "Kurz.", "de"),  # too little text to judge
        (None, "word " * 80, None),  # no language the identifier is sure of: none
        (None, "", None),
    ],
)
def test_declared_language_checked_against_the_text(
    declared: str | None, text: str, language: str | None
) -> None:
    assert resolve_language(declared, None, text) == language


def test_identifier_answers_iso_639_1_codes_only() -> None:
    code, confidence = identify("عاجل: اجتماع الحكومة اليوم لمناقشة الميزانية الجديدة " * 3)
    assert code == "ar" and confidence > 0.9
    assert len(code) == 2
    # CLD2 says "iw" for Hebrew and "jw" for Javanese, codes ISO 639-1 withdrew.
    hebrew = "הממשלה אישרה הבוקר את תקציב המדינה החדש לאחר דיון ארוך בכנסת בירושלים. " * 2
    assert identify(hebrew)[0] == "he"
    assert resolve_language(None, None, hebrew) == "he"


def test_identifier_reads_text_not_markup() -> None:
    # Article text is plain text: a "<" in it is a character, not the start of a tag to skip.
    assert identify(f"3 < 4: {SWAHILI} >")[0] == "sw"


@pytest.mark.parametrize(
    "junk", ["\x00", "\x07", "\x85", "\ud800", "\ufffe", "\U0005fffe", "\U0010ffff"]
)
def test_characters_the_identifier_refuses_do_not_hide_the_language(junk: str) -> None:
    # CLD2 raises on control characters, noncharacters and lone surrogates; they are blanked.
    text = SWAHILI.replace(" ", junk, 3)
    assert identify(text)[0] == "sw"
    assert resolve_language("en", None, text) == "sw"


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Par Claire Dumont — Publié le 12 mars 2025 à 06h30, mis à jour à 10h05", "byline"),
        ("By Jane Doe | Published 12 March 2025", "byline"),
        ("Von Max Muster | Veröffentlicht am 12.03.2025", "byline"),
        ("Par ailleurs, il a publié 3 livres.", None),
        ("By the time it was published in 2020 it was late.", None),
    ],
)
def test_a_byline_run_into_its_dateline_is_not_body_text(line: str, rule: str | None) -> None:
    assert classify_line(line) == rule


def test_the_byline_line_gives_its_credit() -> None:
    assert byline_credit("Par Claire Dumont — Publié le 12 mars 2025 à 06h30") == "Claire Dumont"
    assert byline_credit("Par ailleurs, il a publié 3 livres.") is None


@pytest.mark.parametrize("name", sorted(n for n, case in CASES.items() if "paywalled" in case))
def test_paywall_flag_matches_golden(name: str) -> None:
    case = CASES[name]
    fields = extract_article((FIXTURES / f"{name}.html").read_bytes(), case["url"])
    assert fields.paywalled is case["paywalled"]


@pytest.mark.parametrize(
    ("jsonld", "restricted"),
    [
        ('{"@type":"NewsArticle","isAccessibleForFree":false}', True),
        ('{"@type":"NewsArticle","isAccessibleForFree":"False"}', True),
        ('{"@type":"NewsArticle","hasPart":{"@type":"WebPageElement",'
         '"isAccessibleForFree":"false","cssSelector":".paid"}}', True),
        ('{"@type":"NewsArticle","isAccessibleForFree":true}', False),
        ('{"@type":"NewsArticle","isAccessibleForFree":"True"}', False),
        ('{"@type":"NewsArticle"}', False),
    ],
)  # fmt: skip
def test_restricted_access_is_read_from_the_paywalled_content_markup(
    jsonld: str, restricted: bool
) -> None:
    head = f'<script type="application/ld+json">{jsonld}</script>'
    # A site's paywall widget alone (class names) declares nothing about this article.
    body = '<div class="paywall-header-wrap">Sign in</div>'
    assert _meta(head, body).restricted is restricted


def test_a_restricted_page_with_its_whole_text_is_not_a_teaser() -> None:
    """french_daily declares isAccessibleForFree false but the page holds the whole text."""
    raw = (FIXTURES / "french_daily.html").read_bytes()
    assert '"isAccessibleForFree":false' in raw.decode("utf-8")
    fields = extract_article(raw, CASES["french_daily"]["url"])
    assert fields.paywalled is False


@pytest.mark.parametrize(
    "head",
    [
        '<meta name="author" content="https://[broken/author/x">',
        '<meta property="og:image" content="http://[broken">',
        '<link rel="canonical" href="http://[broken">',
    ],
)
def test_unparsable_urls_in_metadata_cost_the_field_not_the_page(head: str) -> None:
    body = "<h1>Bridge closes</h1><p>" + "The bridge closes for repairs today. " * 12 + "</p>"
    page = f"<html><head>{head}</head><body>{body}</body></html>"
    fields = extract_article(page, "https://news.example/a")
    assert fields.title == "Bridge closes"
    assert fields.image_url is None
    assert fields.authors == []


def test_paywalled_reaches_the_record() -> None:
    case = CASES["meta_paywall_teaser"]
    fields = extract_article((FIXTURES / "meta_paywall_teaser.html").read_bytes(), case["url"])
    assert fields.record_fields()["paywalled"] is True
    assert json.loads(json.dumps(fields.record_fields(), default=str))["paywalled"] is True

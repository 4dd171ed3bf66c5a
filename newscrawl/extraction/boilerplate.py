"""Boilerplate that trafilatura leaves in the body, recognised by general features.

Two passes share one vocabulary: `prune_tree` removes boilerplate blocks from the page before
trafilatura reads it (where link density and markup are still visible), `clean_paragraphs`
filters the paragraphs trafilatura returns (where only the text is). Each removal is recorded
with its rule, so a user can see why a line went missing. Rules are about kinds of lines
(captions, player labels, "Read more" links, teaser blocks and related-link lists, calls to
action, datelines, a press release's company boilerplate), never about one site; the
lexicon covers English and the main Western European languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from lxml import html as lxml_html

# Short labels that stand alone as a line: audio/video players, ads, share bars, prompts.
_LABEL_LINES = re.compile(
    r"""^(?:
        listen\ to\ (?:this\ )?(?:article|story)(?:\ \d+\ min(?:utes?)?)? | loading\ audio | loading\ video
      | play(?:ing)?\ (?:video|audio) | watch\ (?:video|now|the\ video|live) | video\ duration\ [\d:]+
      | (?:skip|close)\ (?:advert|advertisement|ad) | passer\ la\ publicit[ée] | advertisement | advertisment | sponsored(?:\ content)?
      | story\ continues\ (?:below|after)(?:\ (?:this\ )?(?:advertisement|advert|ad))?
      | article\ continues\ (?:below|after)(?:\ (?:this\ )?(?:advertisement|advert|ad))?
      | share(?:\ this)?(?:\ (?:article|story|page|post))?:? | share\ on\ \w+ | like\ this:?
      | copy\ link | print(?:\ this\ article)? | email | comments? | \d+\ comments?
      | (?:sign\ up|subscribe)\b.* | newsletter(?:\ abonnieren)?.* | already\ a\ subscriber\b.*
      | subscribe\ to\ continue\ reading.* | log\ ?in | sign\ in | register
      | we\ use\ cookies\b.* | accept(?:\ all)?(?:\ cookies)? | manage\ (?:cookies|preferences|consent)
      | follow\ us\ on\b.* | follow\ @\w+.*
      | artikel\ anh[öo]ren | audio\ wird\ geladen | anzeige | werbung | teilen
      | écouter\ (?:cet|l['’])\ article | publicité | partager(?:\ sur\ \w+)? | abonnez-vous\b.*
      | escuchar\ (?:este\ )?art[ií]culo | publicidad | compartir | ascolta\ l['’]articolo | pubblicità
      | (?:estimated\ )?reading\ time\b.* | \d+\ min(?:ute)?s?\ read | lesezeit\b.* | temps\ de\ lecture\b.*
      | tiempo\ de\ lectura\b.* | tempo\ de\ leitura\b.* | tempo\ di\ lettura\b.*
      | (?:filed|posted)\ (?:under|in)\ ?:.* | tags?\ ?:.* | categor(?:y|ies)\ ?:.* | schlagw[öo]rter\ ?:.*
      | was\ this\ (?:page|article|story|answer|information)\ (?:helpful|useful)\b.*
      | (?:get|receive)\ the\ latest(?:\ \w+){0,3} | don['’]t\ miss | more\ to\ follow
      | link\ (?:copied|kopiert|copiato|copiado) | lien\ copi[ée] | enlace\ copiado
      | 기사\ ?url이\ 복사되었습니다 | sign\ in\ or\ (?:create|register)\ an\ account
      | most\ (?:read|popular|viewed)(?:\ in\ [\w&\ ]{1,30})?
      | (?:how\ )?did\ you\ (?:like|enjoy)\ this\ (?:article|story)
      | wie\ hat\ (?:ihnen|dir)\ (?:dieser|der)\ (?:artikel|beitrag)\ gefallen
      | dieses\ thema\ im\ programm\b.*
      | swipe(?:\ (?:left|right|for\ more))?\ ?[→›»>]?
      | this\ (?:slideshow|gallery|video|content|feature|page)\ requires\ javascript\b.*
      | (?:please\ )?enable\ javascript\b.* | javascript\ is\ (?:required|disabled)\b.*
    )[\s.!…:|?]*$""",
    re.IGNORECASE | re.VERBOSE,
)

# Calls to action addressed to the reader rather than article text: follow us, get the
# newsletter, send a tip, rate this page. Searched anywhere in a line of at most
# _CTA_MAX_WORDS words, since they come with the site's name or a handle around them.
_CALL_TO_ACTION = re.compile(
    r"""(?:
        \bfollow\ (?:us|me|him|her|them|[\w'’.@-]+(?:\ [\w'’.@-]+){0,3})\ on\ (?:twitter|facebook|instagram|linkedin|youtube|tiktok|threads|bluesky|whatsapp|telegram|google\ news|x)\b
      | \bfollow\ (?:us|me|him|her|them)\ (?:at|@)
      | \b(?:sign\ up|subscribe|register)\ (?:to|for)\ (?:our|the|my|his|her|[\w.-]+['’]s)\ [^.!?]{0,60}\b(?:newsletters?|alerts|updates|e-?mails?|bulletins?)\b
      | \bsubscribe\ to\ [^.!?]{0,40}newsletters?\b
      | \b(?:delivered|sent)\ (?:straight\ |directly\ |right\ )?(?:to|in|into)\ your\ inbox\b | \bright\ in\ your\ inbox\b
      | \bfollow\ (?:our|\w+['’]s)\ (?:full\ |complete\ |live\ )?coverage\b
      | \b(?:subscriptions?|subscribe|issues|membership)\b[^.!?]{0,80}\b(?:for|from|at)\ (?:as\ little\ as\ |only\ |just\ )?(?:[$£€₹]|rs\.?\ ?)\d
      | \bhave\ a\ (?:news\ )?tip\b | \bgot\ a\ (?:news\ )?tip\b | \bsend\ us\ (?:a|your)\ (?:news\ )?tips?\b
      | \b(?:do\ you\ |got\ )?have\ a\ story\ (?:to\ (?:tell|share)|for\ us)\ ?\?
      | \bwe\ (?:want|would\ (?:like|love)|['’]d\ (?:like|love))\ to\ hear\ from\ you\b
      | \bsave\ this\ article\ by\ (?:registering|signing)\b
      | \byour\ feedback\ helps\b | \bwas\ this\ (?:page|article)\ helpful\b
      | \bif\ you\ (?:enjoyed|liked|value)\ (?:this|our)\ (?:article|story|post|journalism|reporting)\b
      | \bfolgen\ sie\ uns\b | \babonnieren\ sie\ (?:unseren|den)\ newsletter\b
      | \bfolgst\ du\ [^.!?]{0,40}\bauf\ (?:whatsapp|telegram|instagram|facebook|tiktok|youtube|x)\b
      | \babonniere\ (?:den|unseren)\ [^.!?]{0,40}(?:kanal|newsletter)\b
      | \bsuivez-nous\b | \binscrivez-vous\ (?:à|a)\ (?:notre|la)\ newsletter\b
      | \bs[ií]guenos\ en\b | \bsuscr[ií]bete\ a\b | \bseguici\ su\b | \biscriviti\ alla\ newsletter\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_CTA_MAX_WORDS = 45

# Unrendered template shortcodes left in the text: "[button link=...]Send us...[/button]".
_SHORTCODE = re.compile(r"\[/?[a-z][\w-]*(?:\s+[\w-]+\s*=\s*[\"'”“][^\]]*)?\]", re.IGNORECASE)
_SHORTCODE_PAIR = re.compile(
    r"\[([a-z][\w-]*)\b[^\]]*\].*\[/\1\]|^\[[a-z][\w-]*\s+[\w-]+\s*=", re.IGNORECASE
)

# A company's standard self-description closing a press release ("About Acme: Acme is a
# leading provider of ... headquartered in ..."): an opener and at least one corporate fact.
_ABOUT_OPENER = re.compile(
    r"""^(?:[Aa]bout\ [^.:]{1,60}[:.]?\s+)?(?:[Tt]he\ )?[A-Z][\w&.'’ -]{1,60}?\ (?:\([^)]{1,30}\)\ )?
        is\ (?:a|an|the|one\ of\ the)\ [^.]{0,120}?\b(?:provider|company|manufacturer|supplier
        |developer|firm|group|organi[sz]ation|platform|leader|maker|operator|agency|network|producer)s?\b""",
    re.VERBOSE,
)
_CORPORATE_FACT = re.compile(
    r"""\b(?:headquartered|head\ office|employs|employees|listed\ on|stock\ exchange|founded\ in
        |subsidiaries|for\ more\ information|visit\ (?:us\ at\ )?(?:www\.|https?://))""",
    re.IGNORECASE | re.VERBOSE,
)
# How many closing paragraphs the tail rules (long calls to action, company boilerplate) see.
_TAIL_PARAGRAPHS = 3
_TAIL_CTA_MAX_WORDS = 90

# Lines that only date the story or name its writer: "Updated at 1:23 p.m.",
# "5:45 AM PST 11/19/2019 by Jane Doe". Body sentences are longer or have no clock time.
_DATELINE = re.compile(
    r"""^(?:
        (?:last\ )?(?:updated|published|posted|modified)(?:\ on|\ at)?\ ?:?\ .{0,60}\d.{0,40}
      | (?:aktualisiert|ver[öo]ffentlicht|mis\ à\ jour|publi[ée]|actualizado|publicado|aggiornato)\b.{0,60}\d.{0,40}
      | \d{1,2}[:.]\d{2}\ ?(?:a\.?m\.?|p\.?m\.?)?\ ?(?:[A-Z]{2,4}\ )?[\d/.,\ \w]{0,30}(?:19|20)\d{2}(?:\ by\ [\w.'’\ -]{2,40})?
      | \d{1,2}\.\ ?\d{1,2}\.\ ?(?:19|20)?\d{2},?\ (?:um\ )?\d{1,2}[:.]\d{2}(?:\ uhr)?
      | \d.{0,30}[•|·]\ ?(?:güncelleme|updated|aktualisiert|mis\ à\ jour|actualizado|aggiornato)\b.{0,40}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_DATELINE_MAX_WORDS = 15
# A byline run into its dateline: "Par Claire Dumont — Publié le 12 mars 2025 à 06h30".
# The name is capitalised words and particles only, so "Par ailleurs, il a publié" is text.
_BYLINE_DATELINE = re.compile(
    r"""^(?i:by|par|von|por|di|door)\ (?P<name>(?:(?:[A-ZÀ-ÝĀ-Ž][\w.'’-]*|de|du|la|le|van|von|der|di|da|del)
    \ ?){1,6})[—–|·,-]?\ ?(?i:(?:last\ )?(?:updated|published|posted|aktualisiert|ver[öo]ffentlicht|mis\ à\ jour
    |publi[ée]|actualizado|publicado|aggiornato|pubblicato))\b.{0,80}\d.{0,60}$""",
    re.VERBOSE,
)
_BYLINE_DATELINE_MAX_WORDS = 30


def byline_credit(line: str) -> str | None:
    """The name in a byline run into its dateline ("Par Claire Dumont — Publié le …")."""
    text = normalise_space(line)
    if len(text.split()) > _BYLINE_DATELINE_MAX_WORDS:
        return None
    match = _BYLINE_DATELINE.match(text)
    return match.group("name").strip() if match else None


# Contributor credits closing a wire story: "Reporting by Jane Doe in Paris; Editing by John
# Smith". After "by" only capitalised names, places and the words that join them may follow,
# so a sentence ("Reporting by the BBC found that ...") does not match.
_CREDIT_LINE = re.compile(
    r"""^(?:[Aa]dditional\ )?(?:[Rr]eporting|[Ww]riting|[Ee]diting)\ by
        (?:\ (?:[A-Z][\w.'’-]*|and|in|from|de|van|von|der|with|by|additional|reporting|writing
        |editing)[;,&]?)+\.?$""",
    re.VERBOSE,
)
# Source notes closing a story: "With files from The Associated Press", "With reports from
# Reforma", "Mit Agenturmaterial", "Mit Material von dpa", "Avec AFP", "Con información de
# EFE": the opener, then only capitalised names (agencies, papers) and the words joining them;
# or a short "Quelle: ntv.de", "Source: AFP".
_SOURCE_NOTE = re.compile(
    r"""^(?:[Ww]ith\ (?:files|reports|reporting|material|wires)\ from|[Mm]it\ Material\ (?:von|der|des)
        |[Aa]vec(?:\ l['’])?|[Cc]on\ (?:información|informaci[óo]n|material)\ de|[Cc]om\ informações\ d[aeo]s?)
        (?:\ (?:[A-Z][\w.'’-]*|and|und|et|y|e|the|der|die|des|la|le|les|el|de|of)[;,&]?)+\.?$
        |^[Mm]it\ Agenturmaterial\.?$|^[Aa]vec\ agences\.?$
        |^(?:Quellen?|Sources?|Fuentes?|Fontes?)\ ?:(?:\ \S+){0,6}$""",
    re.VERBOSE,
)
# A wire story's closing note on who reported from where: "Peoples reported from New York.
# Associated Press writers Jane Doe in Atlanta and John Roe contributed to this report."
_CONTRIBUTOR_NOTE = re.compile(
    r"""^(?:[A-Z][\w'’-]+(?:\ (?:and|&)\ [A-Z][\w'’-]+)?\ reported\ from
          (?:\ (?:[A-Z][\w'’-]*,?|and|from|in))+\.(?:\ |$))?
        (?:[A-Z][^!?]*\b(?:writers?|reporters?|correspondents?|journalists?)\ [A-Z][^!?]*
          \bcontributed(?:\ (?:reporting|to\ this\ (?:report|story|article)))?\.)?$""",
    re.VERBOSE,
)
_CONTRIBUTOR_NOTE_MAX_WORDS = 60
# A line of production credits: "Redaktion: Anna Berg, Faktencheck: Jan Roe", "Translation:
# …, Editing: …": only role words, colons and capitalised names with the words that join them.
_ROLE_CREDITS = re.compile(
    r"""^(?:(?:[Rr]edaktion|[Ss]chlussredaktion|[Ff]aktencheck|[Üü]bersetzung|[Mm]itarbeit|[Rr]echerche
        |[Gg]rafik|[Ii]llustrationen?|[Aa]udioversion|[Pp]roduktion|[Ee]diting|[Ee]dited\ by|[Tt]ranslation
        |[Tt]ranslated\ by|[Ff]act-?checking|[Ii]llustrations?|[Rr]édaction|[Tt]raduction|[Rr]edacción|[Tt]raducción)
        \ ?:?(?:\ (?:[A-ZÀ-ÝĀ-Ž][\w.'’-]*|und|and|et|y|von|van|der|de|du|la|le)[,;]?)+\ ?){2,}$""",
    re.VERBOSE,
)


# Lines that point the reader to another story: "Read more: <headline>".
_CROSS_LINK = re.compile(
    r"""^(?:
        read\ (?:more|next|also)|related(?:\ articles?|\ stories|\ content|\ news)?|see\ (?:also|more)|also\ read
      | don['’]t\ miss
      | more\ on\ this(?:\ story)?|recommended(?:\ reading)?|watch|listen|latest|click\ here
      | lesen\ sie\ (?:auch|mehr)|mehr\ zum\ thema|auch\ interessant|weiterlesen
      | [àa]\ lire\ (?:aussi|également)|lire\ aussi|voir\ aussi|sur\ le\ même\ sujet
      | lee\ (?:también|más)|leer\ más|te\ puede\ interesar|leggi\ anche|vedi\ anche
    )\s*[:|>»–—-]""",
    re.IGNORECASE | re.VERBOSE,
)

# Headings that open a block of teasers or navigation rather than article text.
_TEASER_HEADING = re.compile(
    r"""^(?:
        (?:see\ )?more(?:\ \w+){0,3} | (?:the\ )?latest(?:\ \w+){0,2} | most\ (?:read|popular|viewed|shared)
      | related(?:\ \w+){0,2} | recommended(?:\ \w+){0,2} | you\ (?:may|might)\ (?:also\ )?like
      | (?:read|watch)\ next | trending(?:\ \w+){0,2} | top\ stories | editor['’]?s\ picks
      | (?:more\ )?topics | highlights(?:\ &\ opinion)? | from\ around\ the\ web | popular(?:\ \w+){0,2}
      | mehr\ (?:zum\ thema|aus\ \w+|nachrichten) | meistgelesen | das\ k[öo]nnte\ sie\ (?:auch\ )?interessieren
      | les\ plus\ lus | sur\ le\ même\ sujet | à\ lire\ aussi | dans\ la\ même\ rubrique
      | lo\ más\ le[ií]do | te\ puede\ interesar | i\ più\ letti
    )[\s:.!]*$""",
    re.IGNORECASE | re.VERBOSE,
)

# Picture captions and credits: "… Picture: Alamy", "(Image: Getty Images)", "Foto: dpa".
_CREDIT = re.compile(
    r"""(?:
        (?:^|[\s.(\[|/])(?:picture|pictures|photo|photos|photograph|image|images|credit|credits|
           photo\ credit|illustration|video|graphic|source|foto|fotos|bild|bildquelle|quelle)
           \s*:\s*[^.:]{1,60}[.)\]]?$
      | ^[(<\[]?(?:©|ⓒ|\(c\)|copyright)\s*\S.{0,60}[)>\]]?$
      | (?:photos?|images?|pictures?)\ ?©\s*[^.]{1,40}(?:,\s*(?:19|20)\d{2})?\.?$
      | [(\[]\s*(?:©\s*)?(?:getty(?:\ images)?|reuters|ap|afp|pa(?:\ media|\ wire)?|alamy|epa[/-]|shutterstock|dpa|ap\ photo)\b[^)\]]{0,40}[)\]]\.?$
    )""",
    re.IGNORECASE | re.VERBOSE,
)

# class/id words that mark boilerplate containers. Names are split into words first
# ("AuthorCards_wrap__Uy2Nn" -> "author cards wrap uy2nn"), so stems match whole words only.
_BOILERPLATE_NAME = re.compile(
    r"""(?:^|\s)(?:
        captions? | credits? | figcaption | share | shares | sharing | sharebar | sharedaddy | social
      | newsletters? | signup | sign\ up | subscribe | subscription | paywall | cookies? | consent | gdpr
      | related | relatedposts | recommended | recommendations? | recirc | read\ more | readmore | read\ next
      | more\ stories | teaser\ list | teasers | promos? | advert | advertisement | adslot | ad\ slot | ads
      | dfp | outbrain | taboola | audio\ player | player\ label | listen\ button | video\ player
      | most\ read | mostread | most\ popular | trending | comments? | comment\ list | breadcrumbs?
      | tags | tag\ list | topics | topic\ list | author\ (?:bio|cards?|box|info|footer)
      | feedback | rating | rate\ this | survey
      | inline\ ad | ad\ container | ad\ wrap
    )(?:\s|$)""",
    re.VERBOSE,
)
_CAPTION_MAX_WORDS = 60
# `_holds_article`: prose paragraphs that make a boilerplate-named container the body.
_ARTICLE_MIN_PARAGRAPHS = 3
_ARTICLE_PARAGRAPH_CHARS = 120
_COMMENT_NAME = re.compile(r"comment|disqus|discussion|replies|forum", re.IGNORECASE)
# Characters as well as words (`_caption_sized`): in spaced scripts, and in scripts
# written without spaces.
_CAPTION_MAX_CHARS = 450
_UNSPACED_WORD_CHARS = 12
_CAPTION_MAX_UNSPACED = 120
_HEADLINE_MAX_WORDS = 20
_TEASER_LINK_DENSITY = 0.9
_CLUSTER_MIN_LINKS = 3
# `_is_labelled_teaser`: the separators that end a label before a linked headline.
_LABEL_SEPARATORS = ("|", ":", "»", ">", "–", "—")
# Label endings of `_is_headline_list`'s labelled items: a kicker may be a question there.
_LIST_LABEL_ENDS = (*_LABEL_SEPARATORS, "?", "!")
# Longest `<span>` kicker before a linked headline in a list item (`_is_labelled_link`).
_KICKER_MAX_WORDS = 4
# Longest caption `_is_pictured_caption` takes from a paragraph holding a picture.
_PHOTO_CAPTION_MAX_WORDS = 30
_LABEL_MAX_WORDS = 6
_URL_LIKE = re.compile(r"https?://|www\.|\.(?:com|org|net)\b", re.IGNORECASE)
_SENTENCE_ENDS = (".", "!", "?", '"', "”", "»", "“")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NAME_SPLIT = re.compile(r"[\s_\-]+")

_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "aside",
        "figure",
        "figcaption",
        "blockquote",
        "header",
        "footer",
    ]
)


_PRUNED_TAGS = (*_BLOCK_TAGS, "span", "ul", "ol")

# Class names of the CSS idioms that hide an element from sight but not from screen readers
# (Bootstrap's `sr-only`, WordPress's `screen-reader-text`...) or from everyone (`hidden`),
# and the longest text `prune_tree` takes as such a label ("Main content", "New section",
# "Article content"): collapsed body text behind a "read more" is longer and stays.
_HIDDEN_CLASSES = frozenset({
    "sr-only", "visually-hidden", "visuallyhidden", "screen-reader-text", "screen-reader-only",
    "a11y-hidden", "hidden", "is-hidden", "u-hidden", "element-invisible", "offscreen",
})  # fmt: skip
_HIDDEN_LABEL_CHARS = 60


@dataclass(frozen=True, slots=True)
class Removal:
    """One piece of the page left out of the text, and the rule that removed it."""

    text: str
    rule: str


def normalise_space(text: str) -> str:
    """Collapse every run of whitespace (including newlines and NBSP) to one space."""
    return " ".join(text.split())


def classify_line(text: str) -> str | None:
    """The boilerplate rule a single line of text matches, or None for article text."""
    line = normalise_space(text)
    if not line:
        return None
    return _classify(line)


@lru_cache(maxsize=16384)
def _classify(line: str) -> str | None:
    """`classify_line` on a normalised line. Cached: a site's menus and labels repeat on
    every page. Each search-anywhere pattern is only tried when the character it needs
    (":" "©" "(" "[" for credits, "[" for shortcodes) is in the line."""
    if len(line) <= 120 and _LABEL_LINES.match(line):
        return "label"
    if len(line) <= 300 and _CROSS_LINK.match(line):
        return "cross_link"
    if len(line) <= 300 and _may_be_credit(line) and _CREDIT.search(line):
        return "caption_credit"
    words = len(line.split())
    if words <= _DATELINE_MAX_WORDS and _DATELINE.match(line):
        return "dateline"
    if words <= _BYLINE_DATELINE_MAX_WORDS and _BYLINE_DATELINE.match(line):
        return "byline"
    if words <= _DATELINE_MAX_WORDS * 2 and (_CREDIT_LINE.match(line) or _SOURCE_NOTE.match(line)):
        return "credit_line"
    if words <= _DATELINE_MAX_WORDS * 2 and ":" in line and _ROLE_CREDITS.match(line):
        return "credit_line"
    if words <= _CTA_MAX_WORDS and _CALL_TO_ACTION.search(line):
        return "call_to_action"
    shortcode = "[" in line and _SHORTCODE_PAIR.search(line) is not None
    if shortcode and len(_SHORTCODE.sub("", line).split()) <= _CTA_MAX_WORDS:
        return "template_residue"
    return None


def _may_be_credit(line: str) -> bool:
    """Whether `_CREDIT` can match: each of its forms needs one of these characters."""
    return any(mark in line for mark in ":©ⓒ([") or "copyright" in line[:10].casefold()


def classify_tail_line(text: str) -> str | None:
    """The rule a line near the end of the body matches beyond `classify_line`'s.

    Closing promotions run longer than inline ones ("If you enjoyed this article ... join"),
    a press release ends with the company's standard self-description, and a wire story
    with a note on who reported from where and who contributed. These are only
    looked for in the last few paragraphs, where they live, so a body paragraph that
    happens to describe a company or mention a newsletter is not at risk.
    """
    line = normalise_space(text)
    words = len(line.split())
    if words <= _TAIL_CTA_MAX_WORDS and _CALL_TO_ACTION.search(line):
        return "call_to_action"
    if _ABOUT_OPENER.match(line) and _CORPORATE_FACT.search(line):
        return "company_boilerplate"
    if words <= _CONTRIBUTOR_NOTE_MAX_WORDS and line and _CONTRIBUTOR_NOTE.match(line):
        return "credit_line"
    return None


def is_teaser_heading(text: str) -> bool:
    """Whether a short line opens a teaser or navigation block ("More Latest News")."""
    line = normalise_space(text)
    return 0 < len(line) <= 60 and bool(_TEASER_HEADING.match(line))


@lru_cache(maxsize=8192)
def _is_hidden_name(names: str) -> bool:
    """Whether a class attribute names one of the CSS idioms that hide an element from
    sight (_HIDDEN_CLASSES). Cached: a site's class names repeat on every page."""
    return not _HIDDEN_CLASSES.isdisjoint(names.lower().split())


def _has_boilerplate_name(element: lxml_html.HtmlElement) -> bool:
    """Whether the element's class or id names it as boilerplate (share bar, newsletter...)."""
    names = element.get("class")
    ident = element.get("id")
    if not names and not ident:
        return False
    return _is_boilerplate_name(f"{names or ''} {ident or ''}")


@lru_cache(maxsize=8192)
def _is_boilerplate_name(names: str) -> bool:
    """`_has_boilerplate_name` on the joined class and id (cached: names repeat per site)."""
    words = _NAME_SPLIT.sub(" ", _CAMEL.sub(" ", names)).lower().strip()
    return bool(words) and _BOILERPLATE_NAME.search(words) is not None


def _link_density(element: lxml_html.HtmlElement, text_length: int) -> float:
    linked = sum(len(normalise_space(a.text_content())) for a in element.iter("a"))
    return linked / text_length if text_length else 0.0


def prune_tree(root: lxml_html.HtmlElement, body_floor: int) -> list[Removal]:
    """Remove boilerplate blocks from the parsed page in place; return what was removed.

    `body_floor` protects the article: no single removal may take more than this many
    characters of text, so a mislabelled wrapper cannot take the whole body with it.
    One walk over the page's blocks; a container's text is only read when one of its
    cheap features (a boilerplate name, a picture, a teaser heading) calls for a rule.
    An empty `div` with text after it is a line break in disguise and becomes `<br>`,
    so the text after it stays in its paragraph. A short block or span whose class hides it
    from sight (`_is_hidden_name`: a region label for screen readers, "Main content") is a
    line no reader sees and goes first, leaving a space.
    """
    removals: list[Removal] = []
    alts = {normalise_space(img.get("alt", "")) for img in root.iter("img")} - {""}
    pictured = _pictured_blocks(root)
    skip = 0
    for element in list(root.iter(*_PRUNED_TAGS)):
        if skip:
            # A block inside the one removed last: the walk is in document order, so the
            # removed block's own blocks are the next ones in the list.
            skip -= 1
            continue
        if element.getparent() is None:
            continue
        names = element.get("class")
        if names and _is_hidden_name(names):
            text = normalise_space(element.text_content())
            if len(text) <= _HIDDEN_LABEL_CHARS and element.find(".//p") is None:
                if text:
                    removals.append(Removal(text, "hidden_label"))
                skip = sum(1 for _ in element.iter(*_PRUNED_TAGS)) - 1
                # A space in its place: a hidden separator (": ") may be all that parts two words.
                element.tail = " " + (element.tail or "")
                element.drop_tree()
                continue
        tag = element.tag
        if tag == "span":
            if sum(1 for _ in islice(element.iter("a"), _CLUSTER_MIN_LINKS)) < _CLUSTER_MIN_LINKS:
                continue
            text = normalise_space(element.text_content())
            rule = "inline_link_cluster" if _is_link_cluster(element, text) else None
        elif tag in {"ul", "ol"}:
            if not _is_headline_list(element):
                continue
            text = normalise_space(element.text_content())
            rule = "link_list" if len(text) <= body_floor else None
        else:
            if tag == "div" and len(element) == 0 and _is_line_break(element):
                element.tag = "br"
                continue
            text, rule = _block_rule(element, alts, body_floor, element in pictured)
        if rule is not None:
            removals.append(Removal(text[:300], rule))
            skip = sum(1 for _ in element.iter(*_PRUNED_TAGS)) - 1
            element.drop_tree()
    return removals


def _is_line_break(element: lxml_html.HtmlElement) -> bool:
    """An empty `div` followed by text: a stand-in for `<br>` inside a paragraph."""
    return not (element.text or "").strip() and bool((element.tail or "").strip())


def _pictured_blocks(root: lxml_html.HtmlElement) -> set[lxml_html.HtmlElement]:
    """The `figure` and `div` elements with a picture or video somewhere inside, found in
    one pass up from each picture (not one search of each container's subtree). Taken
    before pruning: a container whose picture went with a removed block is still in the
    set, which only sends it to the rules that check for the picture themselves."""
    found: set[lxml_html.HtmlElement] = set()
    for media in root.iter("img", "picture", "video", "iframe"):
        for ancestor in media.iterancestors("figure", "div"):
            if ancestor in found:
                break
            found.add(ancestor)
    return found


def _block_rule(
    element: lxml_html.HtmlElement, alts: set[str], body_floor: int, pictured: bool
) -> tuple[str, str | None]:
    """The block's text (or "" when it was not needed) and the rule that removes it.

    `pictured`: the block is a `figure` or `div` with a picture inside (`_pictured_blocks`).
    """
    named = _has_boilerplate_name(element)
    has_blocks = any(child.tag in _BLOCK_TAGS for child in element)
    container = has_blocks and not named and element.tag != "figcaption" and not pictured
    if container and not is_teaser_heading(_first_line(element)):
        return "", None
    text = normalise_space(element.text_content())
    if element.tag == "figcaption":
        return text, "caption_credit"
    if not text or len(text) > body_floor:
        return text, None
    if named and not _holds_quote(element) and not _holds_article(element):
        return text, "boilerplate_container"
    if _is_figure_like(element, text) or _is_pictured_caption(element, text):
        return text, "caption_credit"
    if has_blocks:
        if is_teaser_heading(_first_line(element)) and _link_density(element, len(text)) > 0.3:
            return text, "teaser_block"
        return text, None
    rule = _classify(text)
    if rule is not None:
        return text, rule
    if text in alts:
        return text, "image_alt_text"
    if _is_teaser_link(element, text) or _is_labelled_teaser(element, text):
        return text, "link_line"
    return text, None


def _is_labelled_teaser(element: lxml_html.HtmlElement, text: str) -> bool:
    """A linked headline behind a bold label: "<b>READ ALSO |</b> <a>Headline</a>".

    Sites write "read also", "more on this" in their own language and wording, so the
    label is recognised by its form, not its words: a bold or strong lead of at most
    _LABEL_MAX_WORDS words ending in a separator (| : » > – —), then one link holding the
    rest of the line, itself a headline (a few words, no sentence end, no address).
    """
    return element.tag in {"p", "div"} and _is_labelled_link(element, _LABEL_SEPARATORS)


def _is_labelled_link(
    element: lxml_html.HtmlElement, separators: tuple[str, ...], kicker: bool = False
) -> bool:
    """The form of `_is_labelled_teaser` in any element: a bold label ending in one of
    `separators` (or, with `kicker`, a `<span>` kicker of a few words, ending in anything),
    then one linked headline holding the rest of the line."""
    if len(element) != 2 or (element.text or "").strip():
        return False
    label, link = element[0], element[1]
    if link.tag != "a" or (link.tail or "").strip():
        return False
    lead = normalise_space(label.text_content())
    if label.tag == "span" and kicker:
        labelled = 0 < len(lead.split()) <= _KICKER_MAX_WORDS
    else:
        labelled = label.tag in {"strong", "b"} and lead.endswith(separators)
        labelled = labelled and len(lead.split()) <= _LABEL_MAX_WORDS
    if not labelled:
        return False
    if (label.tail or "").strip():
        return False
    title = normalise_space(link.text_content())
    if kicker:
        # In a list of such items the form is the evidence: a headline may end in a quote.
        return 2 <= len(title.split()) <= _HEADLINE_MAX_WORDS and _URL_LIKE.search(title) is None
    return _is_teaser_text(title)


def _is_teaser_link(element: lxml_html.HtmlElement, text: str) -> bool:
    """A standalone linked headline: a short block that is all link and no sentence.

    Teasers for other stories sit between body paragraphs as one link each. A linked line
    that ends a sentence ("Get more meal ideas here!"), a list item or heading (product
    names in a buying guide), or a bare web address is kept: those are the article's own.
    """
    if element.tag not in {"p", "div"} or not _is_teaser_text(text):
        return False
    return _link_density(element, len(text)) >= _TEASER_LINK_DENSITY


def _is_link_cluster(element: lxml_html.HtmlElement, text: str) -> bool:
    """An inline run of several links and nothing else: a hover card or a list of stories.

    A sentence may link a word or two; a span made of three or more links and no text of
    its own is navigation that happens to sit inside a paragraph.
    """
    links = element.findall(".//a")
    return len(links) >= _CLUSTER_MIN_LINKS and _link_density(element, len(text)) >= 0.9


def _is_headline_list(element: lxml_html.HtmlElement) -> bool:
    """A list of linked headlines ("more on this"): every item one short link, no sentence,
    or a bold label and one linked headline ("<li><b>Drones:</b> <a>Headline</a></li>"; in
    a list whose every item has that form, the label may also be a question), or a kicker
    and one linked headline ("<li><span>Review</span><a>Headline</a></li>").

    Lists that belong to the article carry text of their own around their links, end
    sentences, or spell out web addresses; a list of nothing but story titles does not.
    """
    items = [item for item in element if item.tag == "li"]
    if len(items) < 2:
        return False
    for item in items:
        text = normalise_space(item.text_content())
        if _is_labelled_link(item, _LIST_LABEL_ENDS, kicker=True):
            continue
        if not _is_teaser_text(text) or _link_density(item, len(text)) < _TEASER_LINK_DENSITY:
            return False
    return True


def _is_teaser_text(text: str) -> bool:
    """Whether a line could be a linked headline: a few words, no sentence end, no address."""
    if not 2 <= len(text.split()) <= _HEADLINE_MAX_WORDS:
        return False
    return not text.endswith(_SENTENCE_ENDS) and _URL_LIKE.search(text) is None


def _caption_sized(text: str) -> bool:
    """Whether a text is short enough to be a caption, in words or, unspaced, characters.

    Chinese and Japanese text has no spaces, so a whole article is a few "words" long:
    a text whose "words" average over _UNSPACED_WORD_CHARS characters is measured in
    characters against _CAPTION_MAX_UNSPACED instead.
    """
    words = len(text.split())
    if words > _CAPTION_MAX_WORDS:
        return False
    if len(text) > _UNSPACED_WORD_CHARS * max(words, 1):
        return len(text) <= _CAPTION_MAX_UNSPACED
    return len(text) <= _CAPTION_MAX_CHARS


def _holds_article(element: lxml_html.HtmlElement) -> bool:
    """Whether a container named like boilerplate holds the article itself.

    Article wrappers carry words our boilerplate names match ("paywall-article",
    "teaser-body", "promo-story", a `<p class="paywall">` per gated paragraph). A container
    of _ARTICLE_MIN_PARAGRAPHS or more prose paragraphs, or a `<p>` that is one (each a
    sentence of _ARTICLE_PARAGRAPH_CHARS characters or more, mostly not link), is the body,
    not a teaser card or a share bar; comment threads are another matter and are removed
    whatever they hold.
    """
    if _COMMENT_NAME.search(f"{element.get('class', '')} {element.get('id', '')}"):
        return False
    needed = 1 if element.tag == "p" else _ARTICLE_MIN_PARAGRAPHS
    prose = 0
    for paragraph in element.iter("p"):
        text = normalise_space(paragraph.text_content())
        if len(text) < _ARTICLE_PARAGRAPH_CHARS or not text.endswith(_SENTENCE_ENDS):
            continue
        if _link_density(paragraph, len(text)) < 0.3:
            prose += 1
            if prose >= needed:
                return True
    return False


def _holds_quote(element: lxml_html.HtmlElement) -> bool:
    """Whether the element wraps a block quote: an embedded post the article cites.

    Embeds come in wrappers named "social" or "share"; the quote inside is still content.
    """
    return element.tag == "blockquote" or next(element.iter("blockquote"), None) is not None


def _is_figure_like(element: lxml_html.HtmlElement, text: str) -> bool:
    """A picture with a short caption and credit: <figure>, or a <div> playing one."""
    if element.tag not in {"figure", "div"} or not _caption_sized(text):
        return False
    if next(element.iter("img", "picture", "video", "iframe"), None) is None:
        return False
    return element.tag == "figure" or len(element.findall(".//p")) <= 2


def _is_pictured_caption(element: lxml_html.HtmlElement, text: str) -> bool:
    """A paragraph that is a picture with its caption set in italics under it.

    Blog editors put a photo and its caption in one `<p>`: the picture first, then a short
    line in `<em>`/`<i>`/`<small>` ("<p><img><br><em>The mayor at the opening</em></p>").
    A paragraph of text with an inline picture has text of its own outside the emphasis.
    """
    if element.tag != "p" or len(element) < 2 or (element.text or "").strip():
        return False
    first = element[0]
    if first.tag not in {"img", "picture"} and not (
        first.tag == "a" and first.find("img") is not None
    ):
        return False
    if len(text.split()) > _PHOTO_CAPTION_MAX_WORDS:
        return False
    emphasised = "".join(
        "".join(child.itertext()) for child in element if child.tag in {"em", "i", "small"}
    )
    return bool(emphasised.strip()) and normalise_space(emphasised) == text


def _first_line(element: lxml_html.HtmlElement) -> str:
    for child in element:
        if child.tag in _BLOCK_TAGS or child.tag in {"a", "strong", "b"}:
            return child.text_content()
    return element.text or ""


def clean_paragraphs(
    paragraphs: Iterable[str], title: str | None, image_alts: set[str]
) -> tuple[list[str], list[Removal]]:
    """Filter the body paragraphs trafilatura returns; return (kept, removed).

    Only a paragraph that repeats the one kept just before it counts as a duplicate (a
    block rendered twice); articles legitimately repeat lines further apart (a meal plan's
    "Eat every 2–3 hours", a recurring "See it now" in a buying guide).
    """
    kept: list[str] = []
    removals: list[Removal] = []
    previous_key: str | None = None
    # The headline compares by its words: a separator styled out of view (a hidden ": "
    # between kicker and headline) is no difference.
    title_words = re.findall(r"\w+", title.casefold()) if title else None
    items = list(paragraphs)
    for index, paragraph in enumerate(items):
        key = paragraph.casefold()
        rule = classify_line(paragraph)
        if rule is None and index == 0 and re.findall(r"\w+", key) == title_words:
            rule = "title_repeated"
        elif rule is None and key == previous_key:
            rule = "repeated_line"
        elif rule is None and paragraph in image_alts:
            rule = "image_alt_text"
        elif rule is None and is_teaser_heading(paragraph) and _tail_is_teasers(items[index + 1 :]):
            removals.extend(Removal(p[:300], "teaser_block") for p in items[index:])
            break
        elif rule is None and index >= len(items) - _TAIL_PARAGRAPHS:
            rule = classify_tail_line(paragraph)
        if rule is not None:
            removals.append(Removal(paragraph[:300], rule))
            continue
        previous_key = key
        kept.append(paragraph)
    return kept, removals


def _tail_is_teasers(rest: list[str]) -> bool:
    """A teaser heading ends the body only when all that follows reads as headlines.

    Headlines are short and rarely end a sentence; body paragraphs, even short ones, do.
    """
    if not rest:
        return True
    if any(len(p.split()) > _HEADLINE_MAX_WORDS for p in rest):
        return False
    sentences = sum(1 for p in rest if p.rstrip().endswith(_SENTENCE_ENDS))
    return sentences <= len(rest) * 0.2

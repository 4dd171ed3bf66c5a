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

HEADLINE_MAX_WORDS = 20
SENTENCE_ENDS = (".", "!", "?", '"', "”", "»", "“")


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
    return classify_text(line)


@lru_cache(maxsize=16384)
def classify_text(line: str) -> str | None:
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
    if any(len(p.split()) > HEADLINE_MAX_WORDS for p in rest):
        return False
    sentences = sum(1 for p in rest if p.rstrip().endswith(SENTENCE_ENDS))
    return sentences <= len(rest) * 0.2

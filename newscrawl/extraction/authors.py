"""Author credits out of bylines and metadata, as the page credits them.

A credit is a person's name in any script (no capital letters needed: CJK, Hindi or
lower-case initials are names too), or an agency, desk or outlet the page credits ("dpa",
"Redaktion hessenschau.de"). What a byline adds around the credits is removed: a "By", "Von",
"Par", "Por" or "Di" in front, handles, e-mail addresses and URLs, roles standing alone
("Staff Reporter", "기자"), dates and times. Particles and surnames that are ordinary words
stay ("Di Maria", "Von der Leyen", "Megan Read").
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from newscrawl.extraction.boilerplate import normalise_space

# Words that open a byline. Stripped only where a name follows that does not itself start
# with a particle ("Von der Leyen" keeps its "Von"), and never from a lone two-word credit
# that would be left as one word ("Di Maria").
_PREFIX = re.compile(
    r"^(?:(?:written|words|text|reported|story|photos?)\s+by|by|von|vom|par|por|di|door|av|af|"
    r"autor(?:in)?|author|texto?|quelle|source|fuente|redacción|责编|编辑|作者|記者|文)"
    r"\s*[:：]?\s+|^(?:autor(?:in)?|author|texto?|quelle|source|责编|编辑|作者|記者|文)\s*[:：]\s*",
    re.IGNORECASE,
)
_PARTICLES = frozenset(
    """der den dem des la le les de del della di da dos das du van von ten ter zu el al bin
    ibn""".split()
)
# Between two credits. "and"-words only between spaces, so names keep their letters.
_SEPARATORS = re.compile(
    r"\s*(?:[,;&|/、，；・]|\s(?:and|und|et|y|e|en|og|och|i)\s|\s[·•*–—-]\s)\s*",
    re.IGNORECASE,
)
# A picture credit among the authors ("(Image: Getty Images/iStockphoto)").
_PICTURE_CREDIT = re.compile(
    r"^\(?\s*(?:images?|photos?|fotos?|bild|picture|pictures|credit|illustration)\s*[:：]", re.I
)
_HANDLE = re.compile(r"@[\w.]+|\S+@\S+\.\w+|https?://[^\s)]+|www\.[^\s)]+")
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|[()\[\]]")
# Words that alone are a role, a label or a date, not a credit.
_ROLE_WORDS = frozenset(
    """reporter reporters editor editors correspondent correspondents staff writer writers
    journalist journalists columnist columnists contributor contributors contributing desk
    team newsroom photographer photographers producer analyst chief senior deputy political
    political special guest the our unserer unsere redakteur redakteurin korrespondent
    korrespondentin redaktion rédaction redacción journaliste envoyé envoyée spécial spéciale
    published updated veröffentlicht aktualisiert stand uhr am um on at publicado actualizado
    publié mis à jour le min read
    minutes minute lesezeit 기자 특파원 记者 編集委員 記者 特派員 评论员 通讯员 संवाददाता""".split()
)
# Roles written after the name in East Asian bylines ("구현모 기자"), dropped from the credit.
_TRAILING_ROLES = frozenset(
    "기자 특파원 선임기자 记者 特约记者 記者 特派員 編集委員 संवाददाता".split()
)
# A part ending in one of these after a credit describes that credit's job.
_ROLE_NOUNS = frozenset(
    """writer reporter editor correspondent columnist photographer producer contributor
    journalist analyst""".split()
)
_MAX_NAME_WORDS = 6
_MAX_NAME_CHARS = 80


def clean_authors(raw: Iterable[str]) -> list[str]:
    """Split bylines into credits; drop prefixes, roles, handles, URLs, dates and repeats."""
    names: list[str] = []
    seen: set[str] = set()
    for value in raw:
        for name in split_byline(value):
            key = name.casefold()
            if key not in seen:
                seen.add(key)
                names.append(name)
    return names


def split_byline(value: str) -> list[str]:
    """The credits of one byline or metadata value, in order."""
    text = normalise_space(html.unescape(value or ""))
    if text.startswith("(") and text.endswith(")") and _PREFIX.match(text[1:-1]):
        text = text[1:-1]  # "(责编：牛镛、岳弘彬)": a labelled byline in brackets
    if _PICTURE_CREDIT.match(text):
        return []
    text = _BRACKETS.sub(" ", _HANDLE.sub(" ", text))
    text = normalise_space(_strip_prefix(text))
    credits: list[str] = []
    for part in _SEPARATORS.split(text):
        name = _strip_prefix(normalise_space(part)).strip(" .-–—:：|*")
        name = _strip_trailing_roles(name)
        if credits and name.split() and name.split()[-1].casefold() in _ROLE_NOUNS:
            continue  # "Tom Krisher, AP Auto Writer": the role of the credit before it
        if looks_like_credit(name):
            credits.append(name)
    return credits


def _strip_prefix(text: str) -> str:
    match = _PREFIX.match(text)
    if not match:
        return text
    rest = text[match.end() :].strip()
    words = rest.split()
    if not words:
        return ""
    if ":" not in match.group(0) and "：" not in match.group(0):
        if words[0].casefold() in _PARTICLES and len(words) > 1:
            return text
        if len(words) == 1 and len(text.split()) == 2 and match.group(0)[0].isupper():
            return text
    return rest


def _strip_trailing_roles(name: str) -> str:
    """'구현모 기자' -> '구현모': a role word after a name, where the name stays."""
    words = name.split()
    while len(words) > 1 and words[-1] in _TRAILING_ROLES:
        words.pop()
    return " ".join(words)


def looks_like_credit(name: str) -> bool:
    """A person, agency or desk: a few words, some letters, not only roles, labels or dates."""
    words = name.split()
    if not words or len(words) > _MAX_NAME_WORDS or len(name) > _MAX_NAME_CHARS:
        return False
    if not any(ch.isalpha() for ch in name) or len(name) < 2:
        return False
    if any(ch.isdigit() for ch in name):
        return False
    return not all(word.casefold().strip(".:") in _ROLE_WORDS for word in words)

"""The article's language: the declared code checked against the text.

Pages declare their language carelessly: a CMS default ("en" on a Zulu page), a country
code ("kr"), a charset ("utf"), or nothing. py3langid (an offline naive Bayes identifier
whose model ships inside the wheel; about 1 ms of CPU for the 800 characters read here)
reads the text; it wins when it clearly disagrees with the declaration, and fills in when
nothing is declared. Languages it confuses with each other (Bosnian, Croatian and Serbian;
Danish and Norwegian...) never overrule a declaration.
"""

from __future__ import annotations

import functools

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# Characters of title and text read: enough for a confident answer, cheap on long pages.
SAMPLE_CHARS = 800
# Fewer characters than this and the text is not read: the declaration stands.
MIN_SAMPLE_CHARS = 40
# The identifier's normalised probability needed to overrule a declared code...
OVERRULE_CONFIDENCE = 0.95
# ...and to fill in a missing one.
FILL_CONFIDENCE = 0.8
_CLOSE = (
    {"bs", "hr", "sr"}, {"da", "no", "nn", "sv"}, {"id", "ms", "jv"}, {"cs", "sk"},
    {"gl", "pt", "es", "ca"}, {"de", "lb"}, {"af", "nl"}, {"zh", "ja"}, {"ru", "uk", "be", "bg"},
    {"xh", "zu"}, {"fa", "ps"}, {"hi", "mr", "ne"},
)  # fmt: skip


@functools.cache
def _identifier() -> LanguageIdentifier:
    """The model, loaded once per process (about 0.5 s), limited to ISO 639-1 codes."""
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([code for code in identifier.nb_classes if len(code) == 2])
    # Memory, held once in every extraction worker: py3langid keeps the full model beside the
    # restricted one only to undo set_languages, which is never done here (27 MB a worker).
    identifier._full_model = None
    return identifier


def _close(first: str, second: str) -> bool:
    return any(first in group and second in group for group in _CLOSE)


def identify(text: str) -> tuple[str | None, float]:
    """The language of `text` as an ISO 639-1 code and the identifier's confidence."""
    sample = text[:SAMPLE_CHARS]
    if len(sample.strip()) < MIN_SAMPLE_CHARS:
        return None, 0.0
    code, confidence = _identifier().classify(sample)
    return str(code), float(confidence)


def resolve_language(declared: str | None, title: str | None, text: str) -> str | None:
    """The declared code unless the text clearly says otherwise; the text's when undeclared."""
    detected, confidence = identify(f"{title or ''}\n{text}")
    if detected is None:
        return declared
    if declared is None:
        return detected if confidence >= FILL_CONFIDENCE else None
    clear = confidence >= OVERRULE_CONFIDENCE and not _close(detected, declared)
    if detected != declared and clear:
        return detected
    return declared

"""Declared values as the metadata readers take them: <meta> tags by name, JSON-LD strings."""

from __future__ import annotations

import re
from typing import Any

from newscrawl.extraction.boilerplate import normalise_space


class MetaTags(dict[str, list[str]]):
    """A page's <meta> values by name or property; `get` gives the first, `getall` every one."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        values = super().get(key)
        return values[0] if values else default

    def getall(self, key: str) -> list[str]:
        return [v for v in super().get(key, []) if v]


def text_value(value: Any) -> str | None:
    """A declared value as text, whitespace normalised; None for a non-string or a blank."""
    if isinstance(value, str):
        return normalise_space(value) or None
    return None


def compact_text(text: str) -> str:
    """Case-folded letters and digits only: "Der Spiegel" and "der-spiegel" compare equal."""
    return re.sub(r"\W+", "", text.casefold())

# ruff: noqa: E501  (one paragraph of article text a line)
"""News pages in six languages, saved in a legacy encoding but labelled UTF-8 (header and
`<meta>`), as a misconfigured server sends them; our own text. Used by tests/server.py
(`/mislabelled/<lang>`) and tests/test_encoding.py."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, list[str]]] = {
    "pt": (
        "Reflexão sobre a reforma do porto",
        [
            "A câmara municipal anunciou na segunda-feira que o cais norte será fechado para obras de reparação a partir do início da primavera, depois de os engenheiros terem encontrado corrosão nas estacas.",
            "Os pescadores afirmam que há anos alertavam para o estado do cais e pedem uma solução provisória, para que possam continuar a descarregar o peixe durante a intervenção.",
            "Segundo a administração, a obra deverá durar cerca de cinco meses; os comentários dos moradores serão recolhidos numa sessão pública marcada para março, no salão da junta de freguesia.",
        ],
    ),
    "fr": (
        "Le quai nord fermé pour réparation",
        [
            "La municipalité a annoncé lundi que le quai nord serait fermé pour des travaux de réparation dès le début du printemps, après que des ingénieurs ont découvert de la corrosion sur les piliers.",
            "Les pêcheurs affirment qu’ils avertissaient depuis des années de l’état du quai et réclament une passerelle provisoire afin de pouvoir continuer à débarquer leurs prises pendant les travaux.",
            "Selon l’autorité portuaire, le chantier devrait durer environ cinq mois ; les commerçants du quartier se disent soulagés mais demandent une signalisation claire pour l’été.",
        ],
    ),
    "de": (
        "Nordpier wird für Reparaturen gesperrt",
        [
            "Die Hafenbehörde hat am Montag mitgeteilt, dass der nördliche Pier ab Frühlingsbeginn für Reparaturarbeiten gesperrt wird, nachdem Ingenieure Korrosion an den Stützpfeilern festgestellt hatten.",
            "Die Fischer sagen, sie hätten seit Jahren vor dem Zustand des Piers gewarnt, und fordern einen provisorischen Anleger, damit sie ihren Fang während der Bauarbeiten weiterhin anlanden können.",
            "Nach Angaben der Behörde sollen die Arbeiten etwa fünf Monate dauern; örtliche Geschäfte begrüßen den Plan, wünschen sich für den Sommer aber eine gut sichtbare Beschilderung.",
        ],
    ),
    "es": (
        "El muelle norte cerrará por reparaciones",
        [
            "El ayuntamiento anunció el lunes que el muelle norte se cerrará por obras de reparación a comienzos de la primavera, después de que los ingenieros descubrieran corrosión en los pilotes.",
            "Los pescadores aseguran que llevaban años advirtiendo del estado del muelle y piden un embarcadero provisional para poder seguir descargando sus capturas durante las obras.",
            "Según la autoridad portuaria, la intervención durará unos cinco meses; los comercios de la zona celebran la decisión, pero reclaman una señalización más clara para el verano.",
        ],
    ),
    "pl": (
        "Północne molo zamknięte z powodu remontu",
        [
            "Zarząd portu poinformował w poniedziałek, że północne molo zostanie zamknięte na czas remontu od początku wiosny, ponieważ inżynierowie wykryli korozję na żelbetowych podporach.",
            "Rybacy twierdzą, że od lat ostrzegali przed złym stanem mola, i domagają się tymczasowego pomostu, aby móc wyładowywać połów przez cały okres prac budowlanych.",
            "Według zarządu prace potrwają około pięciu miesięcy; miejscowi sklepikarze przyjęli plan z ulgą, ale proszą o wyraźne oznakowanie dojścia w sezonie letnim, kiedy przyjeżdża najwięcej turystów.",
        ],
    ),
    "cs": (
        "Severní molo se zavře kvůli opravám",
        [
            "Správa přístavu v pondělí oznámila, že severní molo bude od začátku jara uzavřeno kvůli opravám, protože inženýři objevili na nosných pilířích rozsáhlou korozi.",
            "Rybáři tvrdí, že na špatný stav mola upozorňovali už řadu let, a žádají dočasné přístaviště, aby mohli během stavebních prací dál vykládat své úlovky.",
            "Podle správy potrvají práce zhruba pět měsíců; místní obchodníci plán uvítali, ale žádají jasné značení přístupových cest během letní sezóny, kdy přijíždí nejvíce turistů.",
        ],
    ),
}
# The encoding each page is saved in: windows-1252 for the Western languages; Polish and
# Czech are not windows-1252 text.
ENCODINGS = {
    "pt": "cp1252",
    "fr": "cp1252",
    "de": "cp1252",
    "es": "cp1252",
    "pl": "cp1250",
    "cs": "iso8859_2",
}


def page(language: str, *, with_language: bool = True) -> str:
    """The article page in `language`, declaring UTF-8 and (by default) its language."""
    title, paragraphs = TEXTS[language]
    lang = f' lang="{language}"' if with_language else ""
    body = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    return (
        f'<!doctype html><html{lang}><head><meta charset="utf-8"><title>{title}</title>'
        f'</head><body><nav><a href="/">Home</a></nav><article><h1>{title}</h1>{body}'
        "</article><footer>Harbour Times</footer></body></html>"
    )

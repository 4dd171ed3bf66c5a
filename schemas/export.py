"""Write the JSON Schema of each record next to the models: `python -m schemas.export`."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.article import Article
from schemas.reject import Reject

SCHEMA_DIR = Path(__file__).resolve().parent
SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "article.schema.json": Article,
    "reject.schema.json": Reject,
}


def render(model: type[BaseModel]) -> str:
    """The model's JSON Schema (as analysts read it: serialisation mode), as file text."""
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    for name, model in SCHEMA_FILES.items():
        (SCHEMA_DIR / name).write_text(render(model), encoding="utf-8")
        print(SCHEMA_DIR / name)


if __name__ == "__main__":
    main()

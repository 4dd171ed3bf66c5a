"""The spiders: each discovers article URLs its own way and fetches them the shared way."""

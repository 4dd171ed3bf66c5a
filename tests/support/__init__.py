"""Components used only by tests, loaded into a real crawl with -s settings."""

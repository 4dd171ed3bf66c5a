"""Where inputs come from: URL lists, and the sitemaps, feeds and sections discovery reads."""

"""newscrawl's Scrapy commands (COMMANDS_MODULE): `crawl` with exit statuses cron can act on."""

"""Distributed mode: many `scrapy crawl` workers share one frontier in Redis (see `addon`)."""

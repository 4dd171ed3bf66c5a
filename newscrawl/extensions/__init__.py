"""newscrawl's Scrapy extensions for the people running a crawl: progress, summary, report."""

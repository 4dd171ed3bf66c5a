"""Fetching: the downloader middlewares (target guard, robots.txt, retry, WARC archive) and DNS."""

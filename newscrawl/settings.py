"""Scrapy settings for newscrawl: polite, lean defaults for scheduled news crawls.

Every setting can be overridden per run with `-s NAME=VALUE`. Our own settings are NEWSCRAWL_*
and are documented in the README.
"""

BOT_NAME = "newscrawl"
SPIDER_MODULES = ["newscrawl.spiders"]
NEWSPIDER_MODULE = "newscrawl.spiders"
COMMANDS_MODULE = "newscrawl.commands"

# --- newscrawl ---
NEWSCRAWL_OUTPUT_DIR = "data/output"  # runs go to <dir>/<spider>/<run_id>/ (relative to cwd)
NEWSCRAWL_RUN_ID = ""  # fixed run id instead of the time-sortable default (for reruns, tests)
NEWSCRAWL_MIN_WORDS = 50  # articles with a shorter body are rejected as no_article_text
NEWSCRAWL_MAX_INPUT_LINE = 4096  # longer URL-file lines are rejected as invalid_url
NEWSCRAWL_EXTRACT_WORKERS = "auto"  # extraction processes: auto = one per core, 0 = in-process
NEWSCRAWL_EXTRACT_TIMEOUT = 30.0  # seconds a page may take in a worker; then extraction_timeout
NEWSCRAWL_EXTRACT_FUNCTION = "newscrawl.extraction.extract_article"  # page extractor (tests hook)
EXTENSIONS = {"newscrawl.workers.ExtractionPool": 500}  # the extraction worker pool

# --- politeness ---
USER_AGENT = "newscrawl/0.1 (+https://github.com/newscrawl/newscrawl; news research crawler)"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25

# --- robustness ---
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False

# --- lean: no remote control or telnet in a cron job; few concurrent item tasks per response ---
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
CONCURRENT_ITEMS = 8

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.dedupe.DedupePipeline": 200,
    "pipelines.write.JsonLinesWriter": 900,
}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

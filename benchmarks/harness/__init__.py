"""What the benchmark scripts share: corpora, scoring, extractors, pages, server, tree timing."""

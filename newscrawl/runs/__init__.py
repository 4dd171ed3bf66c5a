"""A run's identity and books: the ledger, resume, the summary, progress and the report."""

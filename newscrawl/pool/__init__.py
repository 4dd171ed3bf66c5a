"""The extraction worker pool: pages go out to worker processes, fields come back."""

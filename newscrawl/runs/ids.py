"""Run ids: what names a run directory, in single-machine and distributed mode alike."""

from __future__ import annotations

import secrets
from datetime import datetime


def new_run_id(now: datetime) -> str:
    """A run id that sorts by start time and does not collide between parallel runs."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"

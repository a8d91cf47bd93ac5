"""Where a benchmark ran: CPU, cores, versions and commit, for every recorded result.

A recorded number is only as good as what it says about its machine; the
benchmark commands (`harness.run_record`, `gap.machine_info`) read it all here.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def cpu_model() -> str:
    """The CPU model as lscpu names it (/proc/cpuinfo, then platform, as fallbacks)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    with contextlib.suppress(OSError):
        out += Path("/proc/cpuinfo").read_text()
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or platform.machine()


def cpu_count() -> int | None:
    """Logical cores (None when the platform cannot tell)."""
    return os.cpu_count()


def package_version(name: str) -> str | None:
    """An installed distribution's version (e.g. "ortools"), None when it is not installed."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The short commit of the checkout the package runs from; None outside git."""
    import solver

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False, cwd=str(next(iter(solver.__path__))))
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None

"""What the paired scripts share: run a worker snippet in a fresh interpreter on a checkout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_worker(worker: str, checkout: Path, *args: object) -> Any:
    """The JSON the `worker` code prints, run on `checkout` (its first argument) with `args`."""
    out = subprocess.run([sys.executable, "-c", worker, str(checkout), *map(str, args)],
                         capture_output=True, text=True, check=True, cwd=checkout)
    return json.loads(out.stdout)

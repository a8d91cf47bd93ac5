"""README's walk-through of scenarios/routing shows what its `assign` command prints today (it
showed a run from before the policy's `caps:`: 184 of 200 assigned, where 170 are)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from solver.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _walk_through() -> tuple[list[str], list[str]]:
    """The section's `leadsolver assign` command (argv) and the output block after it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Walk-through: scenarios/routing"):]
    command, shown = re.search(r"```bash\n(leadsolver assign .*?)```\s*```text\n(.*?)```", section, re.S).groups()
    return shlex.split(command.replace("\\\n", " "))[1:], shown.splitlines()


def test_the_readmes_routing_output_is_what_the_command_prints(monkeypatch) -> None:
    argv, shown = _walk_through()
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output
    printed = result.stdout.splitlines()
    untimed = [re.sub(r"; solve .*", "", line) for line in printed]  # times vary from run to run
    for line in shown:
        if line != "...":
            assert re.sub(r"; solve .*", "", line) in untimed, line

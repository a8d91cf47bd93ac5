"""The `leadsolver` command: the group and its subcommands, one module per command group.

Exit codes: 0 done, 2 bad input or usage, 1 internal failure.
"""

from __future__ import annotations

import sys
import warnings

import click

from solver.cli.batch import assign, validate
from solver.cli.bench import bench
from solver.cli.common import show_warning
from solver.cli.db import db
from solver.cli.events import events
from solver.cli.experiment import experiment
from solver.cli.jobs import history, run_job
from solver.cli.queues import queues
from solver.cli.serve import serve
from solver.cli.simulate import learn, simulate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leadsolver")
def main() -> None:
    """Route sales leads to reps: hard rules, value-weighted fit, fairness to quota."""
    warnings.showwarning = show_warning


for command in (validate, assign, run_job, history, events, queues, simulate, learn, bench, serve, db):
    main.add_command(command)
main.add_command(experiment)  # issue 15: experiments on live traffic


def run() -> None:  # pragma: no cover - console entry
    try:
        main(standalone_mode=True)
    except Exception as exc:  # internal failure: one line, exit 1
        click.echo(f"internal error: {exc}", err=True)
        sys.exit(1)

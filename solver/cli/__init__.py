"""The `leadsolver` command: one module per command group, joined in `solver.cli.main`."""

from solver.cli.main import main, run

__all__ = ["main", "run"]

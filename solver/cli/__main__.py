"""`python -m solver.cli ...` runs the `leadsolver` command."""

from solver.cli.main import run

run()

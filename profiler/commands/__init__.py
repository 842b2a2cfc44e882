"""One module per ``sparkprof`` subcommand, imported only when that subcommand runs.

Several commands pull in pandas, pyarrow and matplotlib; importing them lazily keeps
``sparkprof doctor`` and ``sparkprof record`` (which starts the user's job) from paying for
the others.
"""

from __future__ import annotations

import importlib

import click

# Module names under profiler.commands; each exposes a click command called ``command``.
COMMAND_MODULES: tuple[str, ...] = (
    "bench", "compare", "doctor", "eventlog", "flamegraph", "record", "report",
)


def load_command(name: str) -> click.Command | None:
    """The click command of subcommand ``name``, or None when there is no such command."""
    if name not in COMMAND_MODULES:
        return None
    command: click.Command = importlib.import_module(f"profiler.commands.{name}").command
    return command

"""One module per ``sparkprof`` subcommand; ``register_all`` adds them to the CLI group."""

from __future__ import annotations

import importlib

import click

# Module names under profiler.commands; each exposes a click command called ``command``.
_COMMAND_MODULES: tuple[str, ...] = (
    "bench", "compare", "doctor", "eventlog", "flamegraph", "record", "report",
)


def register_all(group: click.Group) -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"profiler.commands.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"profiler.commands.{name}":
                continue  # not built yet in this checkout
            raise
        group.add_command(module.command)

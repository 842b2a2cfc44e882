"""The ``sparkprof`` command: a click group whose subcommands live in ``profiler.commands``.

Errors are mapped to exit codes here and only here.
"""

from __future__ import annotations

import sys

import click

from profiler import __version__
from profiler.commands import COMMAND_MODULES, load_command
from profiler.errors import SparkprofError


class _SparkprofGroup(click.Group):
    """Loads subcommands on demand and turns every ``SparkprofError`` into one line on
    stderr and its exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SparkprofError as error:
            report_error(error)
            ctx.exit(error.exit_code)
        except BrokenPipeError:
            # `sparkprof ... | head` closing the pipe is not an error worth a traceback.
            sys.stderr.close()
            ctx.exit(1)


def report_error(error: SparkprofError) -> None:
    click.echo(f"sparkprof: error: {error.message}", err=True)
    if error.remedy:
        click.echo(f"sparkprof: remedy: {error.remedy}", err=True)


@click.group(cls=_SparkprofGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sparkprof")
def main() -> None:
    """sparkprof: an eBPF profiler for Apache Spark.

    Joins kernel evidence (syscalls, off-CPU time, GC, JNI, stacks) to Spark's stages
    and tasks.
    """



if __name__ == "__main__":  # pragma: no cover
    main()

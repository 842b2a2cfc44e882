"""Reading the user's spark-defaults.conf (or --properties-file) as the user could."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from profiler.record.javaprops import parse_properties
from profiler.record.sparkconf import properties_file_arg, user_submit_args
from profiler.record.user import InvokingUser, user_can_read

_MAX_BYTES = 1 << 20


def spark_home_candidates(argv: Sequence[str], env: Mapping[str, str]) -> list[Path]:
    """Where Spark's conf/ may live: $SPARK_HOME, the spark-submit/pyspark script's home,
    the pip-installed pyspark package."""
    homes: list[Path] = []
    if env.get("SPARK_HOME"):
        homes.append(Path(env["SPARK_HOME"]))
    if argv and os.path.basename(argv[0]) in ("spark-submit", "pyspark") and "/" in argv[0]:
        homes.append(Path(os.path.realpath(argv[0])).parent.parent)
    spec = importlib.util.find_spec("pyspark")
    if spec is not None and spec.origin:
        homes.append(Path(spec.origin).parent)
    return homes


def defaults_file(argv: Sequence[str], env: Mapping[str, str]) -> Path | None:
    """The properties file spark-submit will read for this command, if any exists."""
    explicit = properties_file_arg(user_submit_args(argv, env))
    if explicit:
        return Path(explicit)
    if env.get("SPARK_CONF_DIR"):
        return Path(env["SPARK_CONF_DIR"]) / "spark-defaults.conf"
    for home in spark_home_candidates(argv, env):
        candidate = home / "conf" / "spark-defaults.conf"
        if candidate.is_file():
            return candidate
    return None


def read_user_defaults(argv: Sequence[str], env: Mapping[str, str],
                       user: InvokingUser) -> dict[str, str]:
    """The user's Spark defaults, empty when there are none or the user cannot read them."""
    path = defaults_file(argv, env)
    if path is None or not user_can_read(path, user):
        return {}
    try:
        with path.open("rb") as handle:
            text = handle.read(_MAX_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return {}
    return parse_properties(text)

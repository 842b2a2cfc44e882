"""Reading the two text formats Spark takes settings in: Java properties files
(spark-defaults.conf, --properties-file) and JVM option strings (SPARK_SUBMIT_OPTS,
extraJavaOptions), split the way Spark's launcher splits them."""

from __future__ import annotations

_PROPERTY_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_OPTION_SPECIALS = frozenset(" \t\n\r\f'\"\\")


def parse_properties(text: str) -> dict[str, str]:
    """``java.util.Properties.load`` semantics, values trimmed as Spark trims them."""
    properties: dict[str, str] = {}
    for line in _logical_lines(text):
        key, value = _split_property(line)
        if key:
            properties[key] = value.strip()
    return properties


def _logical_lines(text: str) -> list[str]:
    """Joins lines continued by an odd number of trailing backslashes; drops comments."""
    lines: list[str] = []
    pending: str | None = None
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f")
        if pending is None and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        continued = trailing % 2 == 1
        piece = line[:-1] if continued else line
        pending = piece if pending is None else pending + piece
        if not continued:
            lines.append(pending)
            pending = None
    if pending is not None:
        lines.append(pending)
    return lines


def _split_property(line: str) -> tuple[str, str]:
    key_chars: list[str] = []
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\" and index + 1 < len(line):
            key_chars.append(_unescape_char(line[index + 1]))
            index += 2
            continue
        if char in "=: \t\f":
            break
        key_chars.append(char)
        index += 1
    rest = line[index:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return "".join(key_chars), _unescape(rest)


def _unescape(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            if following == "u" and index + 6 <= len(text):
                try:
                    out.append(chr(int(text[index + 2:index + 6], 16)))
                    index += 6
                    continue
                except ValueError:
                    pass
            out.append(_unescape_char(following))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _unescape_char(char: str) -> str:
    return _PROPERTY_ESCAPES.get(char, char)


def split_java_options(text: str) -> list[str]:
    """Split an option string like Spark's launcher (CommandBuilderUtils.parseOptionString):
    whitespace separates, single and double quotes group, backslash escapes outside single
    quotes."""
    options: list[str] = []
    current: list[str] = []
    in_option = in_single = in_double = escape_next = False
    for char in text:
        if escape_next:
            current.append(char)
            escape_next = False
            in_option = True
        elif char == "\\" and not in_single:
            escape_next = True
            in_option = True
        elif char == "'" and not in_double:
            in_single = not in_single
            in_option = True
        elif char == '"' and not in_single:
            in_double = not in_double
            in_option = True
        elif char.isspace() and not in_single and not in_double:
            if in_option:
                options.append("".join(current))
                current = []
                in_option = False
        else:
            current.append(char)
            in_option = True
    if in_option:
        options.append("".join(current))
    return options


def quote_java_option(option: str) -> str:
    """One option, escaped so that ``split_java_options`` gives it back unchanged."""
    if not option:
        return '""'
    return "".join("\\" + char if char in _OPTION_SPECIALS else char for char in option)


def join_java_options(options: list[str]) -> str:
    return " ".join(quote_java_option(option) for option in options)


def append_java_options(existing: str | None, extra: tuple[str, ...]) -> str:
    """The user's option string with ``extra`` appended (options already present are kept
    once, in the user's position, so the user's own ordering still decides)."""
    user = split_java_options(existing or "")
    missing = [option for option in extra if option not in user]
    if not user:
        return " ".join(missing)
    return " ".join([existing.strip() if existing else "", *missing]).strip()

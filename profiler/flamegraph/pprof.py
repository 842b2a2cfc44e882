"""pprof's gzipped ``profile.proto``, encoded by hand (no protobuf dependency).

Only what ``go tool pprof``, Pyroscope and Grafana need: string table (entry 0 is ""),
one sample type, one sample per stack (location ids leaf first, one value), and one
location + function per distinct frame name (location id == function id, no addresses).
Field numbers from github.com/google/pprof/proto/profile.proto.
"""

from __future__ import annotations

import functools
import gzip

from profiler.flamegraph.stacks import StackTable

# Profile fields
_SAMPLE_TYPE, _SAMPLE, _LOCATION, _FUNCTION, _STRING_TABLE = 1, 2, 4, 5, 6
_PERIOD_TYPE, _PERIOD, _DEFAULT_SAMPLE_TYPE = 11, 12, 14
_WIRE_VARINT, _WIRE_BYTES = 0, 2
# sample type (type, unit) per stack kind
_SAMPLE_TYPES = {"cpu": ("samples", "count"), "offcpu": ("off_cpu", "nanoseconds"),
                 "jni": ("jni", "nanoseconds")}


def render_pprof(table: StackTable) -> bytes:
    strings: dict[str, int] = {"": 0}

    def string_id(text: str) -> int:
        return strings.setdefault(text, len(strings))

    kind, unit = _SAMPLE_TYPES.get(table.kind, (table.kind or "weight", table.unit))
    value_type = _field_varint(1, string_id(kind)) + _field_varint(2, string_id(unit))
    out = bytearray(_field_bytes(_SAMPLE_TYPE, value_type))
    functions: dict[str, int] = {}
    for stack, weight in zip(table.stacks, table.weights, strict=True):
        ids = [functions.setdefault(frame, len(functions) + 1) for frame in reversed(stack)]
        sample = _field_bytes(1, _packed(ids)) + _field_bytes(2, _packed([weight]))
        out += _field_bytes(_SAMPLE, sample)
    for name, ident in functions.items():
        line = _field_varint(1, ident)  # Line.function_id
        out += _field_bytes(_LOCATION, _field_varint(1, ident) + _field_bytes(4, line))
        name_id = string_id(name)
        out += _field_bytes(_FUNCTION, _field_varint(1, ident) + _field_varint(2, name_id)
                            + _field_varint(3, name_id))
    out += _field_bytes(_PERIOD_TYPE, value_type) + _field_varint(_PERIOD, 1)
    for text in strings:  # dicts keep insertion order == index order
        out += _field_bytes(_STRING_TABLE, text.encode("utf-8"))
    out += _field_varint(_DEFAULT_SAMPLE_TYPE, string_id(kind))
    return gzip.compress(bytes(out), mtime=0)  # mtime 0: same stacks, same bytes


@functools.lru_cache(maxsize=65_536)  # ids and small numbers repeat in every sample
def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int64 negatives are ten-byte two's complement varints
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3 | _WIRE_VARINT) + _varint(value)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _WIRE_BYTES) + _varint(len(payload)) + payload


def _packed(values: list[int]) -> bytes:
    return b"".join(_varint(value) for value in values)

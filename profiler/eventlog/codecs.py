"""Streaming decoders for the codecs Spark writes event logs with.

Each decoder yields decompressed chunks from a binary file and never holds the whole file.
Damage (a stream cut short, corrupt bytes) ends the stream early: what decoded so far is kept
and the problem is recorded on a ``StreamDamage`` for the caller to report.

Formats (from the writers Spark uses):
- zstd: zstd-jni writes one zstd frame per flush; a log is a run of frames.
- lz4: lz4-java ``LZ4BlockOutputStream``: blocks of ``"LZ4Block"`` magic, a token byte
  (method in the high nibble: 0x10 raw, 0x20 lz4), compressed and decompressed lengths and an
  xxhash32 checksum (little-endian int32 each), then the block; a zero-length block ends a
  stream and another may follow.
- snappy: snappy-java ``SnappyOutputStream``: an 8-byte magic, version and compatible-version
  (big-endian int32 each), then chunks of [big-endian int32 length][raw snappy block].
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import cramjam
import zstandard

from profiler.errors import InputError

PLAIN = "none"
ZSTD = "zstd"
LZ4 = "lz4"
SNAPPY = "snappy"

# File-name suffix -> codec, as Spark names compressed event logs (CompressionCodec short names).
_SUFFIX_CODECS = {".zstd": ZSTD, ".zst": ZSTD, ".lz4": LZ4, ".snappy": SNAPPY}
# Suffixes of codecs Spark knows but this reader does not decode.
_UNSUPPORTED_SUFFIXES = {".lzf": "lzf"}

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
LZ4_MAGIC = b"LZ4Block"
SNAPPY_MAGIC = b"\x82SNAPPY\x00"

_PLAIN_CHUNK = 4 << 20
_ZSTD_CHUNK = 1 << 20
_LZ4_HEADER = struct.Struct("<8sBiii")  # magic, token, compressed len, decompressed len, xxhash
_LZ4_METHOD_RAW = 0x10
_LZ4_METHOD_LZ4 = 0x20
_SNAPPY_HEADER_LEN = len(SNAPPY_MAGIC) + 8  # magic + version + compatible version
_SNAPPY_LEN = struct.Struct(">i")
# Blocks larger than this are corrupt lengths, not data (lz4-java caps blocks at 32 MiB).
_MAX_BLOCK = 1 << 26


@dataclass
class StreamDamage:
    """What went wrong while decoding one file; empty when the stream decoded cleanly."""

    problems: list[str] = field(default_factory=list)

    def add(self, problem: str) -> None:
        self.problems.append(problem)


def codec_from_name(name: str) -> str:
    """The codec a file name announces (``.inprogress`` ignored); raises for unsupported ones."""
    base = name.removesuffix(".inprogress").removesuffix(".compact")
    dot = base.rfind(".")
    suffix = base[dot:].lower() if dot > 0 else ""
    if suffix in _UNSUPPORTED_SUFFIXES:
        raise InputError(
            f"unsupported event-log codec {_UNSUPPORTED_SUFFIXES[suffix]!r}: {name}",
            "re-run the application with spark.eventLog.compression.codec=zstd (or lz4/snappy)",
        )
    return _SUFFIX_CODECS.get(suffix, PLAIN)


def codec_from_magic(head: bytes) -> str | None:
    """The codec whose magic bytes open ``head``, or None when none does."""
    if head.startswith(ZSTD_MAGIC):
        return ZSTD
    if head.startswith(LZ4_MAGIC):
        return LZ4
    if head.startswith(SNAPPY_MAGIC):
        return SNAPPY
    return None


def decode(fh: BinaryIO, codec: str, damage: StreamDamage) -> Iterator[bytes]:
    """Decompressed chunks of ``fh`` read with ``codec``."""
    if codec == PLAIN:
        return _read_plain(fh)
    if codec == ZSTD:
        return _read_zstd(fh, damage)
    if codec == LZ4:
        return _read_lz4(fh, damage)
    if codec == SNAPPY:
        return _read_snappy(fh, damage)
    raise InputError(f"unsupported event-log codec {codec!r}")


def _read_plain(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(_PLAIN_CHUNK):
        yield chunk


def _read_zstd(fh: BinaryIO, damage: StreamDamage) -> Iterator[bytes]:
    # One decompressobj per frame so that a frame cut short is detectable (eof stays False).
    dctx = zstandard.ZstdDecompressor()
    dobj = dctx.decompressobj()
    frame_started = False
    while chunk := fh.read(_ZSTD_CHUNK):
        data = chunk
        while data:
            try:
                out = dobj.decompress(data)
            except zstandard.ZstdError as error:
                damage.add(f"corrupt zstd data: {error}")
                return
            frame_started = True
            if out:
                yield out
            if not dobj.eof:
                break
            data = dobj.unused_data
            dobj = dctx.decompressobj()
            frame_started = False
    if frame_started:
        damage.add("zstd stream ends inside a frame (file cut short)")


def _read_lz4(fh: BinaryIO, damage: StreamDamage) -> Iterator[bytes]:
    while header := fh.read(_LZ4_HEADER.size):
        if len(header) < _LZ4_HEADER.size:
            damage.add("lz4 stream ends inside a block header (file cut short)")
            return
        magic, token, compressed_len, decompressed_len, _checksum = _LZ4_HEADER.unpack(header)
        method = token & 0xF0
        if (
            magic != LZ4_MAGIC
            or method not in (_LZ4_METHOD_RAW, _LZ4_METHOD_LZ4)
            or not 0 <= compressed_len <= _MAX_BLOCK
            or not 0 <= decompressed_len <= _MAX_BLOCK
        ):
            damage.add("corrupt lz4 block header")
            return
        if decompressed_len == 0:
            continue  # end-of-stream marker; another stream may follow
        block = fh.read(compressed_len)
        if len(block) < compressed_len:
            damage.add("lz4 stream ends inside a block (file cut short)")
            return
        if method == _LZ4_METHOD_RAW:
            yield block
            continue
        try:
            yield bytes(cramjam.lz4.decompress_block(block, output_len=decompressed_len))
        except cramjam.DecompressionError as error:
            damage.add(f"corrupt lz4 block: {error}")
            return


def _read_snappy(fh: BinaryIO, damage: StreamDamage) -> Iterator[bytes]:
    header = fh.read(_SNAPPY_HEADER_LEN)
    if not header.startswith(SNAPPY_MAGIC) or len(header) < _SNAPPY_HEADER_LEN:
        damage.add("missing snappy-java stream header")
        return
    while length_bytes := fh.read(_SNAPPY_LEN.size):
        if length_bytes == SNAPPY_MAGIC[: _SNAPPY_LEN.size]:
            # A second stream appended to the first: skip the rest of its header.
            rest = fh.read(_SNAPPY_HEADER_LEN - _SNAPPY_LEN.size)
            if not (length_bytes + rest).startswith(SNAPPY_MAGIC):
                damage.add("corrupt snappy chunk length")
                return
            continue
        if len(length_bytes) < _SNAPPY_LEN.size:
            damage.add("snappy stream ends inside a chunk length (file cut short)")
            return
        (length,) = _SNAPPY_LEN.unpack(length_bytes)
        if not 0 <= length <= _MAX_BLOCK:
            damage.add("corrupt snappy chunk length")
            return
        block = fh.read(length)
        if len(block) < length:
            damage.add("snappy stream ends inside a chunk (file cut short)")
            return
        try:
            yield bytes(cramjam.snappy.decompress_raw(block))
        except cramjam.DecompressionError as error:
            damage.add(f"corrupt snappy chunk: {error}")
            return

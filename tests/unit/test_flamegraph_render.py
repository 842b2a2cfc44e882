"""Flame-graph renderers on small hand-made stack tables with known answers."""

from __future__ import annotations

import gzip
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from profiler.errors import OutputError, UsageError
from profiler.flamegraph import (
    FORMATS,
    FlameGraph,
    StackTable,
    from_frames,
    parse_folded,
    render_folded,
    render_pprof,
    render_speedscope,
    render_svg,
    write_output,
)
from profiler.flamegraph.formats import format_for_path
from profiler.flamegraph.kinds import JAVA, JVM, KERNEL, MISSING, NATIVE, PYTHON, frame_kind
from profiler.flamegraph.stacks import clean_frame
from profiler.flamegraph.svg import PAD, WIDTH
from profiler.flamegraph.tree import layout

SVG_NS = "{http://www.w3.org/2000/svg}"
STACKS = [
    (("executor 1", "task-runner", "java.lang.Thread.run [jit]", "LZ4_compress [liblz4.so]"), 6),
    (("executor 1", "task-runner", "java.lang.Thread.run [jit]", "read_kernel_[k]"), 3),
    (("executor 1", "shuffle", "[missing user stack]"), 1),
    (("python-worker", "python-main", "[python] [python3.11]"), 10),
]
# merged frames: all; executor 1; task-runner; Thread.run; LZ4; read; shuffle; missing;
# python-worker; python-main; [python]
MERGED = {
    ("all",): 20, ("executor 1",): 10, ("executor 1", "task-runner"): 9,
    ("executor 1", "task-runner", "java.lang.Thread.run [jit]"): 9,
    ("executor 1", "task-runner", "java.lang.Thread.run [jit]", "LZ4_compress [liblz4.so]"): 6,
    ("executor 1", "task-runner", "java.lang.Thread.run [jit]", "read_kernel_[k]"): 3,
    ("executor 1", "shuffle"): 1, ("executor 1", "shuffle", "[missing user stack]"): 1,
    ("python-worker",): 10, ("python-worker", "python-main"): 10,
    ("python-worker", "python-main", "[python] [python3.11]"): 10,
}


def table(unit: str = "samples", kind: str = "cpu") -> StackTable:
    return from_frames(STACKS, kind, unit, label_depth=2, title="test")  # type: ignore[arg-type]


def test_folded_parses_back_to_the_same_stacks_and_total() -> None:
    text = render_folded(table())
    parsed = parse_folded(text)
    assert dict(parsed) == dict(STACKS)
    assert sum(weight for _, weight in parsed) == 20
    assert text.splitlines() == sorted(text.splitlines())


def test_frames_are_cleaned_for_every_format() -> None:
    odd = from_frames([(("a;b", "line\nbreak", "", "x [perf-4242.map]"), 2),
                       (("a:b", "line break", "[empty frame]", "x [jit]"), 3)], "cpu", "samples")
    # ';' would split a frame, a newline a line; perf-PID maps merge across processes
    assert render_folded(odd) == "a:b;line break;[empty frame];x [jit] 5\n"
    assert clean_frame("Java_com_github_luben_zstd_Zstd_compress "
                       "[libzstd-jni-1.5.7-77123456789012.so (deleted)]") == \
        "Java_com_github_luben_zstd_Zstd_compress [libzstd-jni-1.5.7-*.so]"


def test_svg_has_one_box_per_merged_frame_with_width_proportional_to_weight() -> None:
    root = ET.fromstring(render_svg(table()))
    boxes = root.findall(f".//{SVG_NS}g[@class='f']")
    assert len(boxes) == len(MERGED)
    inner = WIDTH - 2 * PAD
    names = []
    for box in boxes:
        weight = int(box.get("data-w", "0"))
        rect = box.find(f"{SVG_NS}rect")
        assert rect is not None
        assert float(rect.get("width", "0")) == pytest.approx(weight / 20 * inner, abs=0.01)
        title = box.findtext(f"{SVG_NS}title") or ""
        names.append(title.split("\n")[0])
        assert f"({100 * weight / 20:.2f}%)" in title
    assert sorted(names) == sorted(path[-1] for path in MERGED)
    assert root.find(f".//{SVG_NS}script") is not None
    assert root.get("data-hidden-frames") == "0"


def test_svg_children_sit_inside_their_parent() -> None:
    root = ET.fromstring(render_svg(table()))
    spans = {}
    for box in root.findall(f".//{SVG_NS}g[@class='f']"):
        name = (box.findtext(f"{SVG_NS}title") or "").split("\n")[0]
        spans[name] = (int(box.get("data-d", "0")), int(box.get("data-s", "0")),
                       int(box.get("data-w", "0")))
    depth, start, weight = spans["java.lang.Thread.run [jit]"]
    for child in ("LZ4_compress [liblz4.so]", "read_kernel_[k]"):
        child_depth, child_start, child_weight = spans[child]
        assert child_depth == depth + 1
        assert start <= child_start and child_start + child_weight <= start + weight


def test_svg_leaves_out_narrow_frames_and_counts_them() -> None:
    many: list[tuple[tuple[str, ...], int]] = [
        (("proc", "thread", f"tiny_{i}", "leaf"), 1) for i in range(2000)]
    many.append((("proc", "thread", "big"), 100_000))
    root = ET.fromstring(render_svg(from_frames(many, "cpu", "samples", label_depth=2)))
    names = [(b.findtext(f"{SVG_NS}title") or "").split("\n")[0]
             for b in root.findall(f".//{SVG_NS}g[@class='f']")]
    assert sorted(names) == ["all", "big", "proc", "thread"]
    assert root.get("data-hidden-frames") == "4000"  # 2000 tiny_i plus their leaves
    assert "4,000 frames narrower than 0.1%" in (root.findtext(f".//{SVG_NS}text[@id='hidden']")
                                                 or "")


def test_svg_escapes_names() -> None:
    svg = render_svg(from_frames([(("<proc & co>", 'q"uote'), 1)], "cpu", "samples"))
    root = ET.fromstring(svg)
    titles = [b.findtext(f"{SVG_NS}title") for b in root.iter(f"{SVG_NS}g")]
    assert any(t and t.startswith("<proc & co>") for t in titles)


def test_speedscope_has_shared_frames_and_weights_that_sum() -> None:
    document = json.loads(render_speedscope(table("nanoseconds", "offcpu")))
    assert document["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = [frame["name"] for frame in document["shared"]["frames"]]
    assert len(frames) == len(set(frames))
    (profile,) = document["profiles"]
    assert profile["type"] == "sampled" and profile["unit"] == "nanoseconds"
    assert sum(profile["weights"]) == profile["endValue"] - profile["startValue"] == 20
    assert len(profile["samples"]) == len(profile["weights"])
    stacks = {tuple(frames[i] for i in sample): weight
              for sample, weight in zip(profile["samples"], profile["weights"], strict=True)}
    assert stacks == dict(STACKS)  # root first
    assert json.loads(render_speedscope(table()))["profiles"][0]["unit"] == "none"


# --- a tiny protobuf reader for the pprof test -------------------------------------------

def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data: bytes) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            out.append((number, data[pos:pos + length]))
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def _packed(data: bytes) -> list[int]:
    values, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        values.append(value)
    return values


def test_pprof_decodes_to_the_same_stacks() -> None:
    raw = gzip.decompress(render_pprof(table("nanoseconds", "offcpu")))
    fields = _fields(raw)
    strings = [value.decode() for number, value in fields
               if number == 6 and isinstance(value, bytes)]
    assert strings[0] == ""
    sample_type = dict(_fields(next(v for n, v in fields if n == 1)))
    assert (strings[sample_type[1]], strings[sample_type[2]]) == ("off_cpu", "nanoseconds")
    functions = {}
    for number, value in fields:
        if number == 5:
            function = dict(_fields(value))
            functions[function[1]] = strings[function[2]]
    locations = {}
    for number, value in fields:
        if number == 4:
            location = _fields(value)
            ident = dict(location)[1]
            line = dict(_fields(dict(location)[4]))
            locations[ident] = functions[line[1]]
    stacks = {}
    for number, value in fields:
        if number == 2:
            sample = dict(_fields(value))
            ids = _packed(sample[1])
            (weight,) = _packed(sample[2])
            stacks[tuple(locations[i] for i in reversed(ids))] = weight  # leaf first in pprof
    assert stacks == dict(STACKS)
    assert sum(stacks.values()) == 20


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_is_deterministic_and_nonempty(name: str) -> None:
    output = FORMATS[name]
    first, second = output.render(table()), output.render(table())
    assert first and first == second


def test_an_empty_table_still_renders() -> None:
    empty = from_frames([], "offcpu", "nanoseconds")
    assert render_folded(empty) == ""
    assert len(ET.fromstring(render_svg(empty)).findall(f".//{SVG_NS}g[@class='f']")) == 1
    assert json.loads(render_speedscope(empty))["profiles"][0]["weights"] == []
    assert not [n for n, _ in _fields(gzip.decompress(render_pprof(empty))) if n == 2]


def test_frame_kinds_follow_the_names() -> None:
    assert frame_kind("io_schedule_[k]") == KERNEL
    assert frame_kind("org.apache.spark.rdd.RDD.iterator [jit]") == JAVA
    assert frame_kind("Interpreter") == JAVA
    assert frame_kind("JVM_Sleep [libjvm.so]") == JVM
    assert frame_kind("PyEval_EvalFrameDefault [libpython3.11.so.1.0]") == PYTHON
    assert frame_kind("[python]") == PYTHON
    assert frame_kind("LZ4_compress [liblz4.so]") == NATIVE
    assert frame_kind("com.github.luben.zstd.Zstd") == JAVA
    assert frame_kind("[missing user stack]") == MISSING


def test_write_output_refuses_to_replace_without_force(tmp_path: Path) -> None:
    target = tmp_path / "graph.svg"
    write_output(target, b"one", force=False)
    with pytest.raises(OutputError, match="already exists"):
        write_output(target, b"two", force=False)
    assert target.read_bytes() == b"one"
    write_output(target, b"two", force=True)
    assert target.read_bytes() == b"two"
    assert list(tmp_path.iterdir()) == [target]  # no temporary left behind
    with pytest.raises(OutputError, match="cannot write"):
        write_output(tmp_path / "absent" / "x.svg", b"", force=False)


def test_flamegraph_object_saves_by_extension(tmp_path: Path) -> None:
    graph = FlameGraph(table())
    assert graph._repr_svg_() == graph.svg()
    graph.save(tmp_path / "g.folded")
    assert parse_folded((tmp_path / "g.folded").read_text()) == parse_folded(graph.folded())
    graph.save(tmp_path / "g.pb.gz")
    assert gzip.decompress((tmp_path / "g.pb.gz").read_bytes())
    assert format_for_path(Path("x.speedscope.json")).name == "speedscope"
    with pytest.raises(UsageError):
        graph.save(tmp_path / "g.png")
    with pytest.raises(OutputError):
        graph.save(tmp_path / "g.folded")


def _naive_layout(stacks: list[tuple[tuple[str, ...], int]], min_weight: float,
                  ) -> tuple[set[tuple[str, int, int, int]], tuple[int, ...]]:
    """The same layout from an explicit dict tree: children by name, left-aligned."""
    tree: dict[str, Any] = {}
    for stack, weight in stacks:
        node = tree
        for frame in stack:
            entry = node.setdefault(frame, [0, {}])
            entry[0] += weight
            node = entry[1]

    def size(children: dict[str, Any]) -> int:
        return sum(1 + size(grandchildren) for _, grandchildren in children.values())

    boxes, hidden = set(), [0, 0]

    def walk(children: dict[str, Any], depth: int, start: int) -> None:
        for name in sorted(children):
            weight, grandchildren = children[name]
            if weight < min_weight:
                hidden[0] += 1 + size(grandchildren)
                hidden[1] += weight
            else:
                boxes.add((name, depth, start, weight))
                walk(grandchildren, depth + 1, start)
            start += weight

    walk(tree, 1, 0)
    return boxes, tuple(hidden)


@pytest.mark.parametrize("seed", range(5))
def test_layout_matches_a_naive_call_tree(seed: int) -> None:
    rng = random.Random(seed)
    rows = [(tuple(rng.choice("abcd") for _ in range(rng.randint(1, 7))), rng.randint(1, 40))
            for _ in range(300)]
    stacks = from_frames(rows, "cpu", "samples")
    placed = layout(stacks, min_fraction=0.004)
    expected, hidden = _naive_layout(list(zip(stacks.stacks, stacks.weights, strict=True)),
                                     stacks.total * 0.004)
    got = {(b.name, b.depth, b.start, b.weight) for b in placed.boxes if b.depth > 0}
    assert got == expected
    assert (placed.hidden_frames, placed.hidden_weight) == hidden
    assert hidden[0] > 0  # the case is not trivial

"""JNI interface evidence without BPF: USDT argument locations, what each hotspot_jni site
measures, naming the caller of a global reference, the rows and the report section."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import profiler
from profiler.capture.probes.jni import functions as jf
from profiler.capture.probes.jni.global_refs import caller_of, split_frame
from profiler.capture.probes.jni.usdt_args import (
    ARG_CONST,
    ARG_MEM,
    ARG_REG,
    NO_ARG,
    ArgLocation,
    argument,
    parse_argument,
    register_index,
)
from profiler.report import RENDERERS, build_report
from profiler.report.jni_interface import byte_size, function_uses, live_ref_sites
from profiler.rundir.schema import TABLES
from tests.unit.report_runs import make_run

R13, R12, BP, BX, AX = 2, 3, 4, 5, 10  # indexes in struct pt_regs


@pytest.mark.parametrize(("text", "expected"), [
    ("8@%r13", ArgLocation(ARG_REG, R13, 0, 8, False)),
    ("-4@%r13d", ArgLocation(ARG_REG, R13, 0, 4, True)),
    ("8@%rax", ArgLocation(ARG_REG, AX, 0, 8, False)),
    ("-4@%eax", ArgLocation(ARG_REG, AX, 0, 4, True)),
    ("1@%r13b", ArgLocation(ARG_REG, R13, 0, 1, False)),
    ("2@%cx", ArgLocation(ARG_REG, 11, 0, 2, False)),
    ("1@%cl", ArgLocation(ARG_REG, 11, 0, 1, False)),
    ("8@-88(%rbp)", ArgLocation(ARG_MEM, BP, -88, 8, False)),
    ("-4@16(%rbx)", ArgLocation(ARG_MEM, BX, 16, 4, True)),
    ("8@(%r12)", ArgLocation(ARG_MEM, R12, 0, 8, False)),
    ("-4@$-1", ArgLocation(ARG_CONST, 0, -1, 4, True)),
    ("4@$655360", ArgLocation(ARG_CONST, 0, 655360, 4, False)),
])
def test_usdt_argument_locations_parse(text: str, expected: ArgLocation) -> None:
    assert parse_argument(text) == expected


@pytest.mark.parametrize("text", ["8@%xmm0", "3@%rax", "8@%fs", "junk", "8@-8(%rip)", ""])
def test_unreadable_argument_locations_are_refused(text: str) -> None:
    assert parse_argument(text) is None


def test_register_names_map_to_pt_regs_slots() -> None:
    assert [register_index(n) for n in ("r15", "r8d", "rbx", "ebp", "si", "dil", "rsp")] == [
        0, 9, 5, 4, 13, 14, 19]
    assert register_index("xmm1") is None


def test_argument_positions_are_one_based_and_missing_ones_are_none() -> None:
    region = "8@%r14 8@%rbx -4@%r13d -4@%r12d 8@-88(%rbp)"  # GetByteArrayRegion__entry
    assert argument(region, 4) == ArgLocation(ARG_REG, R12, 0, 4, True)
    assert argument(region, 5) == ArgLocation(ARG_MEM, BP, -88, 8, False)
    assert argument(region, 0) is NO_ARG
    assert argument(region, 6) is NO_ARG
    assert argument("8@%xmm0", 1) is NO_ARG
    assert argument("", 1) is NO_ARG


def test_region_copies_are_sized_by_their_length_argument() -> None:
    plan = jf.plan_site("GetByteArrayRegion__entry")
    assert plan == jf.SitePlan("GetByteArrayRegion", jf.ENTRY | jf.BYTES_ARG, 4, 0, 1)
    assert jf.plan_site("SetDoubleArrayRegion__entry") == jf.SitePlan(
        "SetDoubleArrayRegion", jf.ENTRY | jf.BYTES_ARG, 4, 0, 8)
    assert jf.plan_site("GetStringRegion__entry") == jf.SitePlan(
        "GetStringRegion", jf.ENTRY | jf.BYTES_ARG, 4, 0, 2)
    assert jf.plan_site("GetStringUTFRegion__entry") == jf.SitePlan(
        "GetStringUTFRegion", jf.ENTRY | jf.BYTES_ARG, 4, 0, 1)
    assert jf.plan_site("NewString__entry") == jf.SitePlan(
        "NewString", jf.ENTRY | jf.BYTES_ARG, 3, 0, 2)
    assert jf.plan_site("GetByteArrayRegion__return") == jf.SitePlan(
        "GetByteArrayRegion", jf.RETURN)


def test_array_elements_are_sized_from_the_array_and_release_mode() -> None:
    assert jf.plan_site("GetLongArrayElements__entry") == jf.SitePlan(
        "GetLongArrayElements", jf.ENTRY | jf.BYTES_ARRAY, 2, 0, 8)
    assert jf.plan_site("ReleaseCharArrayElements__entry") == jf.SitePlan(
        "ReleaseCharArrayElements", jf.ENTRY | jf.BYTES_ARRAY, 2, 4, 2)


def test_reference_sites_and_critical_regions() -> None:
    assert jf.plan_site("NewGlobalRef__return") == jf.SitePlan(
        "NewGlobalRef", jf.RETURN | jf.REF_NEW, 1)
    assert jf.plan_site("NewGlobalRef__entry") == jf.SitePlan("NewGlobalRef", jf.ENTRY)
    assert jf.plan_site("DeleteWeakGlobalRef__entry") == jf.SitePlan(
        "DeleteWeakGlobalRef", jf.ENTRY | jf.REF_DELETE | jf.REF_WEAK, 2)
    assert jf.plan_site("NewWeakGlobalRef__return") == jf.SitePlan(
        "NewWeakGlobalRef", jf.RETURN | jf.REF_NEW | jf.REF_WEAK, 1)
    assert jf.plan_site("GetPrimitiveArrayCritical__return") == jf.SitePlan(
        "GetPrimitiveArrayCritical", jf.RETURN | jf.CRIT_BEGIN)
    assert jf.plan_site("ReleaseStringCritical__entry") == jf.SitePlan(
        "ReleaseStringCritical", jf.ENTRY | jf.CRIT_END)
    assert jf.plan_site("GetStringUTFChars__entry") == jf.SitePlan("GetStringUTFChars", jf.ENTRY)
    assert jf.plan_site("CallVoidMethod__entry") is None
    assert jf.plan_site("NewGlobalRef") is None


def test_function_numbers_of_session_one_are_kept() -> None:
    assert jf.FUNCTIONS[0] == "GetPrimitiveArrayCritical"
    assert jf.FUNCTIONS[11] == "DeleteGlobalRef"
    assert jf.FUNCTIONS[44:48] == ("NewWeakGlobalRef", "DeleteWeakGlobalRef", "NewString",
                                   "NewStringUTF")
    assert jf.INDEX["DeleteLocalRef"] == 48  # the local-reference functions came next
    assert not jf.SIZED & jf.UNSIZED_COPIES


@pytest.mark.parametrize(("flags", "offset"), [
    ([], 12), (["-XX:-UseCompressedClassPointers"], 16),
    (["-XX:+UseCompactObjectHeaders", "-XX:-UseCompressedClassPointers"], 8)])
def test_array_length_offset_follows_the_jvm_flags(flags: list[str], offset: int) -> None:
    assert jf.array_length_offset(["java", *flags, "-cp", ".", "Main"]) == offset


def test_the_caller_is_the_first_frame_outside_libjvm() -> None:
    frames = ["jni_NewGlobalRef [libjvm.so]", "Java_A_make [liba.so]", "[unknown]",
              "JavaCalls::call_helper(JavaValue*) [libjvm.so]"]
    assert caller_of(frames) == ("liba.so", "Java_A_make")
    assert caller_of(["jni_NewGlobalRef [libjvm.so]", "[unknown]"]) == ("[unknown]",
                                                                         "[unknown]")
    assert caller_of(["[missing user stack]"]) == ("[unknown]", "[unknown]")
    # Java code calling the JNI function: not the native function further down the stack
    assert caller_of(["jni_GetSuperclass [libjvm.so]", "[unknown]", "[unknown]",
                      "JavaMain [libjli.so]"]) == ("[unknown]", "[unknown]")
    assert caller_of(["jni_FindClass [libjvm.so]", "JVM_X [libjvm.so]",
                      "Lcom/A;::f [jit]"]) == ("jit", "Lcom/A;::f")
    assert split_frame("f(int) [clone .constprop.1] [libjvm.so]") == (
        "f(int) [clone .constprop.1]", "libjvm.so")


def test_byte_sizes_read_well() -> None:
    assert [byte_size(n) for n in (0, 1023, 1536, 5 << 20, 3 << 30)] == [
        "0 B", "1,023 B", "1.5 KiB", "5.0 MiB", "3.0 GiB"]


def _interface_run(path: Path) -> Path:
    """The report test run plus JNI-interface tables written as parts by hand."""
    make_run(path)
    calls = {"bucket_ns": [1, 1, 2, 2], "pid": [100] * 4, "tid": [101] * 4,
             "function": ["GetByteArrayRegion", "GetStringUTFChars", "GetByteArrayRegion",
                          "ReleasePrimitiveArrayCritical"],
             "calls": [10, 3, 5, 7], "total_ns": [2_000_000, 1_000, 1_000_000, 9_000_000],
             "max_ns": [1] * 4, "held_ns": [0, 0, 0, 4_000_000], "held_max_ns": [0, 0, 0, 1],
             "bytes": [1000, 0, 500, 0]}
    sites = {"pid": [100, 100, 200, 100], "kind": ["global", "global", "global", "weak"],
             "caller_library": ["liba.so", "liba.so", "liba.so", "libb.so"],
             "caller_symbol": ["Java_A_make", "Java_A_make", "Java_A_make", "Java_B_w"],
             "user_stack": [["x [libjvm.so]", "Java_A_make [liba.so]"]] * 4,
             "created": [10, 5, 4, 3], "deleted": [2, 5, 0, 3], "live_at_end": [8, 0, 4, 0]}
    local_sites = {"pid": [100, 100], "function": ["NewStringUTF", "FindClass"],
                   "caller_library": ["liba.so", "libc.so"],
                   "caller_symbol": ["Java_A_make", "Java_C_find"],
                   "user_stack": [["x [libjvm.so]", "Java_A_make [liba.so]"]] * 2,
                   "created": [1200, 30], "deleted": [200, 0], "left_to_vm": [1000, 30]}
    for table, columns in (("jni_interface", calls), ("jni_global_ref_sites", sites),
                           ("jni_local_ref_sites", local_sites)):
        (path / table).mkdir()
        pq.write_table(pa.table(columns, schema=TABLES[table]),
                       path / table / "part-00000.parquet")
    meta = json.loads((path / "meta.json").read_text())
    meta["options"]["jni_interface"] = True
    (path / "meta.json").write_text(json.dumps(meta))
    return path


def test_report_sums_copies_and_live_references(tmp_path: Path) -> None:
    profile = profiler.load(_interface_run(tmp_path / "run"))
    uses = {u.function: u for u in function_uses(profile.jni_interface)}
    assert uses["GetByteArrayRegion"].bytes == 1500 and uses["GetByteArrayRegion"].calls == 15
    assert uses["GetStringUTFChars"].bytes is None  # copies, but cannot be sized
    assert uses["ReleasePrimitiveArrayCritical"].held_ms == pytest.approx(4.0)
    sites = live_ref_sites(profile.jni_global_ref_sites)
    assert [(s.library, s.symbol, s.kind, s.created, s.deleted, s.live_at_end)
            for s in sites] == [("liba.so", "Java_A_make", "global", 19, 7, 12)]
    report = build_report(profile)
    assert report.jni_interface is not None and report.jni_interface.live_at_end == 12
    assert report.jni_interface.created == 22
    data = json.loads(RENDERERS["json"].render(report))["jni_interface"]
    assert data["global_ref_sites"][0]["live_at_end"] == 12
    assert data["local_ref_libraries"][0] == {"library": "liba.so", "created": 1200,
                                              "deleted": 200, "left_to_vm": 1000}
    assert [s["function"] for s in data["local_ref_sites"]] == ["NewStringUTF", "FindClass"]
    assert data["functions"][0]["function"] == "ReleasePrimitiveArrayCritical"
    for name in ("text", "md", "html"):
        out = RENDERERS[name].render(report)
        assert "Global references still live at the end" in out, name
        assert "Java_A_make" in out and "1.5 KiB" in out, name
        assert "Local references created by native code" in out, name
        assert "1,230 created, 200 deleted with DeleteLocalRef, 1,030 left to the VM" in out
        assert "Java_C_find" in out, name


def test_runs_recorded_before_local_refs_were_traced_say_so(tmp_path: Path) -> None:
    run = _interface_run(tmp_path / "run")
    meta = json.loads((run / "meta.json").read_text())
    meta["jni_interface"] = {"stats": {}, "global_refs": {"sites": 3, "live": 12}}
    (run / "meta.json").write_text(json.dumps(meta))
    text = RENDERERS["text"].render(build_report(profiler.load(run)))
    assert "Local references created by native code: not traced" in text
    meta["jni_interface"]["local_refs"] = {"sites": 2, "created": 1230, "deleted": 200}
    (run / "meta.json").write_text(json.dumps(meta))
    text = RENDERERS["text"].render(build_report(profiler.load(run)))
    assert "Local references created by native code: 1,230 created" in text


def test_report_without_jni_interface_says_nothing_of_it(tmp_path: Path) -> None:
    report = build_report(profiler.load(make_run(tmp_path / "run")))
    assert report.jni_interface is None
    assert json.loads(RENDERERS["json"].render(report))["jni_interface"] is None
    assert "JNI interface" not in RENDERERS["text"].render(report)


def test_parts_written_before_the_bytes_column_read_as_zero(tmp_path: Path) -> None:
    run = _interface_run(tmp_path / "run")
    part = run / "jni_interface" / "part-00000.parquet"
    old = pq.read_table(part).drop_columns(["bytes"])
    pq.write_table(old, part)
    frame = profiler.load(run).jni_interface
    assert frame["bytes"].tolist() == [0, 0, 0, 0] and frame["calls"].sum() == 25
    _interface_run(tmp_path / "mixed")
    mixed = tmp_path / "mixed" / "jni_interface"
    pq.write_table(old, mixed / "part-00001.parquet")
    frame = profiler.load(tmp_path / "mixed").jni_interface
    assert frame["bytes"].tolist() == [1000, 0, 500, 0, 0, 0, 0, 0]

"""JNI local references without BPF: which hotspot_jni sites count them (checked against the
real libjvm of every installed JDK), the rows drained from the creating-site map, and the
report's per-library summary."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from profiler.capture.probes.jni import functions as jf
from profiler.capture.probes.jni import global_refs as jni_refs
from profiler.capture.probes.jni.global_refs import CreatingSites, SiteCounts, site_key_dtype
from profiler.capture.probes.jni.local_refs import local_ref_columns
from profiler.capture.probes.jni.usdt_args import ARG_MEM, ARG_REG, argument
from profiler.host.elf import usdt_probes
from profiler.host.jvm import find_jdks
from profiler.report.jni_interface import local_ref_libraries, local_ref_sites
from tests.conftest import require


def test_creating_sites_are_return_sites_and_untimed_unless_timed_anyway() -> None:
    assert jf.plan_site("NewIntArray__return") == jf.SitePlan("NewIntArray", jf.LOCAL_NEW, 1)
    assert jf.plan_site("CallStaticObjectMethodV__return") == jf.SitePlan(
        "CallStaticObjectMethodV", jf.LOCAL_NEW, 1)
    assert jf.plan_site("PopLocalFrame__return") == jf.SitePlan(
        "PopLocalFrame", jf.LOCAL_NEW, 1)
    assert jf.plan_site("NewIntArray__entry") is None
    assert jf.plan_site("FindClass__entry") is None
    # NewStringUTF is timed too: its return site does both
    assert jf.plan_site("NewStringUTF__return") == jf.SitePlan(
        "NewStringUTF", jf.RETURN | jf.LOCAL_NEW, 1)
    assert jf.plan_site("NewStringUTF__entry") == jf.SitePlan("NewStringUTF", jf.ENTRY)
    assert jf.plan_site("NewString__entry") == jf.SitePlan(
        "NewString", jf.ENTRY | jf.BYTES_ARG, 3, 0, 2)


def test_delete_local_ref_is_counted_at_its_entry_only() -> None:
    assert jf.plan_site("DeleteLocalRef__entry") == jf.SitePlan(
        "DeleteLocalRef", jf.LOCAL_DELETE, 2)
    assert jf.plan_site("DeleteLocalRef__return") is None
    assert jf.plan_site("PushLocalFrame__return") is None  # returns a status, no reference


def test_local_functions_are_appended_after_the_timed_ones() -> None:
    first_local = jf.INDEX["DeleteLocalRef"]
    assert jf.FUNCTIONS[first_local - 1] == "NewStringUTF"
    assert "DeleteLocalRef" not in jf.LOCAL_CREATORS
    assert {"NewString", "NewStringUTF"} <= jf.LOCAL_CREATORS - jf.LOCAL_ONLY  # timed ones
    assert len(set(jf.FUNCTIONS)) == len(jf.FUNCTIONS)
    assert not jf.LOCAL_ONLY & (jf.SIZED | jf.UNSIZED_COPIES)


def test_every_creating_function_has_a_readable_return_probe_in_real_libjvms() -> None:
    libjvms = [jdk.libjvm for jdk in find_jdks() if jdk.has_hotspot_usdt]
    require(bool(libjvms), "no JDK whose libjvm has hotspot USDT notes")
    for libjvm in libjvms:
        probes = [p for p in usdt_probes(libjvm) if p.provider == "hotspot_jni"]
        returns: dict[str, list[str]] = {}
        for probe in probes:
            returns.setdefault(probe.name, []).append(probe.arguments)
        for function in jf.LOCAL_CREATORS:
            sites = returns.get(f"{function}__return")
            assert sites, (libjvm, function)
            # the reference: an 8-byte register or memory value; a failure path may pass 0
            locations = [argument(site, 1) for site in sites]
            assert all(location.size == 8 for location in locations), (function, sites)
            assert any(location.kind in (ARG_REG, ARG_MEM) for location in locations), (
                function, sites)
        deletes = returns.get("DeleteLocalRef__entry")
        assert deletes and argument(deletes[0], 2).size == 8, libjvm


class _FakeStacks:
    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []

    def user(self, pid: int, stack_id: int) -> list[str]:
        self.asked.append((pid, stack_id))
        if stack_id < 0:
            return ["[missing user stack]"]
        return ["jni_NewStringUTF [libjvm.so]", f"Java_A_f{stack_id} [liba.so]", "[unknown]"]


def test_creating_sites_are_named_once_and_drained_into_rows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = site_key_dtype("fn")
    keys = np.zeros(3, dtype=key)
    keys["pid"], keys["stack"], keys["fn"] = [7, 7, 8], [1, -14, 1], [
        jf.INDEX["NewStringUTF"], jf.INDEX["FindClass"], jf.INDEX["NewIntArray"]]
    vals = np.zeros(3, dtype=jni_refs.SITE_VAL)
    vals["created"], vals["deleted"] = [10, 3, 5], [4, 0, 5]
    bpf = {b"jnii_local_sites": _FakeMap()}
    looked_up: list[bool] = []  # whether each batch look-up deleted what it read

    def batch(delete: bool) -> Any:
        def read(lib: Any, fd: int, key_dtype: Any, val_dtype: Any,
                 capacity: int) -> tuple[Any, Any]:
            assert key_dtype == key and fd == 42
            looked_up.append(delete)
            return keys, vals
        return read

    monkeypatch.setattr(jni_refs, "batch_lookup", batch(False))
    monkeypatch.setattr(jni_refs, "batch_lookup_and_delete", batch(True))
    stacks = _FakeStacks()
    sites = CreatingSites(bpf, None, stacks, "jnii_local_sites", "fn")  # type: ignore[arg-type]
    sites.name_new_sites()
    sites.name_new_sites()  # already named: not asked again
    assert stacks.asked == [(7, 1), (7, -14), (8, 1)]
    columns = local_ref_columns(sites.take())
    assert columns["function"] == ["NewStringUTF", "FindClass", "NewIntArray"]
    assert columns["caller_library"] == ["liba.so", "[unknown]", "liba.so"]
    assert columns["caller_symbol"] == ["Java_A_f1", "[unknown]", "Java_A_f1"]
    assert columns["left_to_vm"].tolist() == [6, 3, 0]
    assert columns["pid"].tolist() == [7, 7, 8]
    assert len(stacks.asked) == 3
    assert looked_up == [False, False, False, True]  # named at each drain, emptied at the end


def test_an_unknown_function_number_is_named_not_dropped() -> None:
    counts = SiteCounts([(1, 2, 999)], [["x [liba.so]"]], np.array([2]), np.array([1]))
    columns = local_ref_columns(counts)
    assert columns["function"] == ["[function 999]"] and columns["left_to_vm"].tolist() == [1]


class _FakeMap:
    map_fd = 42


def _local_sites() -> pd.DataFrame:
    return pd.DataFrame({
        "pid": [1, 1, 2, 1, 1],
        "function": ["NewStringUTF", "NewStringUTF", "NewStringUTF", "FindClass",
                     "GetObjectClass"],
        "caller_library": ["liba.so", "liba.so", "liba.so", "libb.so", "liba.so"],
        "caller_symbol": ["Java_A_s", "Java_A_s", "Java_A_s", "Java_B_c", "Java_A_o"],
        "user_stack": [["x"]] * 5,
        "created": [100, 50, 10, 20, 7], "deleted": [90, 50, 0, 0, 7],
        "left_to_vm": [10, 0, 10, 20, 0]})


def test_report_sums_local_refs_per_library_and_creating_function() -> None:
    libraries = local_ref_libraries(_local_sites())
    assert [(lib.library, lib.created, lib.deleted, lib.left_to_vm) for lib in libraries] == [
        ("liba.so", 167, 147, 20), ("libb.so", 20, 0, 20)]
    sites = local_ref_sites(_local_sites())
    assert [(s.library, s.symbol, s.function, s.created, s.deleted, s.left_to_vm)
            for s in sites] == [("liba.so", "Java_A_s", "NewStringUTF", 160, 140, 20),
                                ("libb.so", "Java_B_c", "FindClass", 20, 0, 20),  # tie: created
                                ("liba.so", "Java_A_o", "GetObjectClass", 7, 7, 0)]
    assert local_ref_libraries(pd.DataFrame()) == [] and local_ref_sites(pd.DataFrame()) == []

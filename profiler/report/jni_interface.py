"""The report's JNI-interface part (``record --jni-interface``): which interface functions
native code called, how much they copied, the global references it left live, and the local
references it created and left for the VM to free."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from profiler.capture.probes.jni.functions import SIZED
from profiler.report import fmt
from profiler.report.model import (
    GlobalRefSite,
    JniFunctionUse,
    JniInterfaceUse,
    LocalRefLibrary,
    LocalRefSite,
    Report,
)
from profiler.report.sections import Table

if TYPE_CHECKING:
    from profiler.profile import Profile

TOP_FUNCTIONS = 15
TOP_REF_SITES = 10
TOP_LOCAL_SITES = 10
LOCAL_COUNTS = ["created", "deleted", "left_to_vm"]
NOT_SIZED_NOTE = ("bytes: '-' where the probes give no length (GetStringUTFChars, "
                  "GetStringChars and NewStringUTF copy, but are not sized)")


def jni_interface_use(profile: Profile) -> JniInterfaceUse | None:
    """None when the run did not trace the JNI interface."""
    if not (profile.meta.get("options") or {}).get("jni_interface"):
        return None
    calls = profile.optional_table("jni_interface")
    sites = profile.optional_table("jni_global_ref_sites")
    locals_ = profile.optional_table("jni_local_ref_sites")
    locals_ = locals_ if locals_ is not None else pd.DataFrame()
    # runs of an older sparkprof have the tracer's meta block without local_refs; a run cut
    # short before the end has no block at all and was recorded by this one
    tracer_meta = profile.meta.get("jni_interface") or {}
    local_traced = not tracer_meta or "local_refs" in tracer_meta
    return JniInterfaceUse(
        functions=function_uses(calls if calls is not None else pd.DataFrame()),
        global_refs=live_ref_sites(sites if sites is not None else pd.DataFrame()),
        live_at_end=_sum(sites, "live_at_end"), created=_sum(sites, "created"),
        local_libraries=local_ref_libraries(locals_), local_refs=local_ref_sites(locals_),
        local_traced=local_traced)


def _sum(frame: pd.DataFrame | None, column: str) -> int:
    return 0 if frame is None or column not in frame else int(frame[column].sum())


def function_uses(calls: pd.DataFrame) -> list[JniFunctionUse]:
    if calls.empty:
        return []
    columns = [c for c in ("calls", "total_ns", "held_ns", "bytes") if c in calls]
    per = calls.groupby("function")[columns].sum().sort_values("total_ns", ascending=False)
    return [JniFunctionUse(str(name), int(row["calls"]), float(row["total_ns"]) / 1e6,
                           int(row.get("bytes", 0)) if name in SIZED else None,
                           float(row["held_ns"]) / 1e6)
            for name, row in per.head(TOP_FUNCTIONS).iterrows()]


def live_ref_sites(sites: pd.DataFrame) -> list[GlobalRefSite]:
    """Creating functions (all stacks and JVMs summed) with references live at the end."""
    if sites.empty:
        return []
    per = (sites.groupby(["caller_library", "caller_symbol", "kind"])
           [["created", "deleted", "live_at_end"]].sum().reset_index())
    per = per[per["live_at_end"] > 0].sort_values("live_at_end", ascending=False)
    return [GlobalRefSite(str(r["caller_library"]), str(r["caller_symbol"]), str(r["kind"]),
                          int(r["created"]), int(r["deleted"]), int(r["live_at_end"]))
            for r in per.head(TOP_REF_SITES).to_dict("records")]


def local_ref_libraries(sites: pd.DataFrame) -> list[LocalRefLibrary]:
    """Local references per creating library (all JVMs, stacks and functions summed), the
    most left to the VM first."""
    if sites.empty:
        return []
    per = sites.groupby("caller_library")[LOCAL_COUNTS].sum()
    per = per.sort_values(["left_to_vm", "created"], ascending=False).reset_index()
    return [LocalRefLibrary(str(r["caller_library"]), int(r["created"]), int(r["deleted"]),
                            int(r["left_to_vm"])) for r in per.to_dict("records")]


def local_ref_sites(sites: pd.DataFrame) -> list[LocalRefSite]:
    """Creating (native function, JNI function) pairs, the most left to the VM first."""
    if sites.empty:
        return []
    per = (sites.groupby(["caller_library", "caller_symbol", "function"])[LOCAL_COUNTS].sum()
           .reset_index().sort_values(["left_to_vm", "created"], ascending=False))
    return [LocalRefSite(str(r["caller_library"]), str(r["caller_symbol"]), str(r["function"]),
                         int(r["created"]), int(r["deleted"]), int(r["left_to_vm"]))
            for r in per.head(TOP_LOCAL_SITES).to_dict("records")]


def functions_table(report: Report) -> Table | None:
    use = report.jni_interface
    if use is None:
        return None
    rows = [[f.function, f"{f.calls:,}", fmt.ms(f.total_ms),
             "-" if f.bytes is None else byte_size(f.bytes),
             fmt.ms(f.held_ms) if f.held_ms else ""] for f in use.functions]
    return Table(["function", "calls", "time", "bytes copied", "critical held"], rows,
                 [False, True, True, True, True])


def byte_size(count: int) -> str:
    """1536 -> ``1.5 KiB``; below 1 KiB exact bytes."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count:,} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # unreachable: the loop returns at GiB


def live_refs_summary(use: JniInterfaceUse) -> str:
    return (f"{use.live_at_end:,} of the {use.created:,} global and weak global references "
            f"created during the run were never deleted")


def live_refs_table(report: Report) -> Table | None:
    use = report.jni_interface
    if use is None or not use.global_refs:
        return None
    rows = [[s.library, s.symbol, s.kind, f"{s.created:,}", f"{s.deleted:,}",
             f"{s.live_at_end:,}"] for s in use.global_refs]
    return Table(["library", "created by", "kind", "created", "deleted", "live at end"],
                 rows, [False, False, False, True, True, True])


LOCAL_REFS_TITLE = "Local references created by native code"
LOCAL_REFS_NOTE = ("left to the VM: not deleted with DeleteLocalRef; freed when the native "
                   "method returns (or by PopLocalFrame), or returned to Java. Many per call "
                   "grow the thread's local handle blocks.")


def local_refs_summary(use: JniInterfaceUse) -> str:
    if not use.local_traced:
        return "not traced (recorded by an older sparkprof)"
    if not use.local_libraries:
        return "none seen"
    created = sum(lib.created for lib in use.local_libraries)
    deleted = sum(lib.deleted for lib in use.local_libraries)
    per = "; ".join(f"{lib.library} {lib.created:,} created, {lib.left_to_vm:,} left to the VM"
                    for lib in use.local_libraries[:5])
    per += "; ..." if len(use.local_libraries) > 5 else ""
    return (f"{created:,} created, {deleted:,} deleted with DeleteLocalRef, "
            f"{created - deleted:,} left to the VM ({per})")


def local_refs_table(report: Report) -> Table | None:
    use = report.jni_interface
    if use is None or not use.local_refs:
        return None
    rows = [[s.library, s.symbol, s.function, f"{s.created:,}", f"{s.deleted:,}",
             f"{s.left_to_vm:,}"] for s in use.local_refs]
    return Table(["library", "created by", "JNI function", "created", "deleted",
                  "left to VM"], rows, [False, False, False, True, True, True])


def text_lines(report: Report, render: Callable[[Table], list[str]]) -> list[str]:
    """The section as lines, tables drawn by ``render`` (text or Markdown)."""
    use = report.jni_interface
    if use is None:
        return []
    functions = functions_table(report)
    lines: list[str] = []
    if functions is not None and functions.rows:
        lines += [*render(functions), "", NOT_SIZED_NOTE]
    else:
        lines.append("no interface calls")
    lines += ["", f"Global references still live at the end: {live_refs_summary(use)}"]
    refs = live_refs_table(report)
    if refs is not None:
        lines += ["", *render(refs)]
    lines += ["", f"{LOCAL_REFS_TITLE}: {local_refs_summary(use)}"]
    local_refs = local_refs_table(report)
    if local_refs is not None:
        lines += ["", *render(local_refs), "", LOCAL_REFS_NOTE]
    return lines

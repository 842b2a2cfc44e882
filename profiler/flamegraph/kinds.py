"""What a frame is (kernel, Java, JVM, native, Python, label, missing), and its colour.

Guessed from the name as BCC and the capture write it: kernel frames carry ``_[k]``, user
frames ``name [module]``, JIT-compiled Java comes from a perf map (module ``jit`` after
cleaning), interpreted Python is ``[python]`` or lives in libpython / a python binary.
Colours follow flamegraph.pl's java palette (green Java, yellow VM, red native, orange
kernel) plus blue Python; a hash of the name varies the shade so neighbours differ, the
same name always gets the same colour.
"""

from __future__ import annotations

import re
import zlib

from profiler.flamegraph.stacks import KERNEL_SUFFIX

LABEL, MISSING, KERNEL, JAVA, JVM, PYTHON, NATIVE = (
    "label", "missing", "kernel", "java", "jvm", "python", "native")
KINDS: tuple[str, ...] = (LABEL, JAVA, JVM, NATIVE, PYTHON, KERNEL, MISSING)

_MODULE = re.compile(r" \[([^\[\]]+)\]$")
# "org.apache.spark.rdd.RDD.iterator", "Lorg/apache/spark/rdd/RDD;::iterator",
# "java.lang.Thread::run": lower-case package segments followed by a class name.
_JAVA_NAME = re.compile(r"^L?[a-z][\w$]*([./][a-z][\w$]*)*[./][A-Z][\w$]*")
_JVM_STUBS = ("Interpreter", "StubRoutines", "call_stub", "I2C/C2I adapters")

# kind -> (base r, g, b, spread of r, g, b): a shade is base + spread * hash fraction
_PALETTE: dict[str, tuple[int, int, int, int, int, int]] = {
    LABEL: (170, 150, 215, 30, 30, 30),
    JAVA: (50, 190, 50, 60, 40, 50),
    JVM: (200, 200, 60, 30, 30, 30),
    NATIVE: (220, 80, 60, 35, 50, 30),
    PYTHON: (80, 140, 220, 40, 40, 35),
    KERNEL: (230, 140, 40, 25, 40, 30),
    MISSING: (170, 170, 170, 20, 20, 20),
}
ROOT_COLOR = "rgb(200,200,200)"


def frame_kind(name: str, is_label: bool = False) -> str:
    if is_label:
        return LABEL
    if name.startswith(("[missing", "[unknown]")):
        return MISSING
    if name.endswith(KERNEL_SUFFIX):
        return KERNEL
    match = _MODULE.search(name)
    module = match.group(1) if match else ""
    function = name[:match.start()] if match else name
    if module == "jit" or function.startswith(_JVM_STUBS):
        return JAVA
    if "python" in module or function == "[python]" or function.startswith("py::"):
        return PYTHON
    if module.startswith("libjvm"):
        return JVM
    if not module and _JAVA_NAME.match(function):
        return JAVA  # JNI class names, perf-map names the capture kept without a module
    return NATIVE


def frame_color(name: str, kind: str) -> str:
    r, g, b, dr, dg, db = _PALETTE[kind]
    fraction = (zlib.crc32(name.encode("utf-8", "replace")) & 0xFFFF) / 0xFFFF
    return f"rgb({r + round(dr * fraction)},{g + round(dg * fraction)},{b + round(db * fraction)})"


def legend_color(kind: str) -> str:
    r, g, b, dr, dg, db = _PALETTE[kind]
    return f"rgb({r + dr // 2},{g + dg // 2},{b + db // 2})"

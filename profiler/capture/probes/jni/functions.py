"""Which ``hotspot_jni`` probes the JNI-interface tracer uses and what each site measures.

The probe arguments (``.note.stapsdt`` of libjvm, HotSpot's ``hotspot_jni`` provider) give:
``Get/Set<T>ArrayRegion__entry(env, array, start, len, buf)``, ``GetStringRegion`` and
``GetStringUTFRegion`` likewise (len in UTF-16 chars), ``NewString__entry(env, chars, len)``,
``Get<T>ArrayElements__entry(env, array, isCopy)``, ``Release<T>ArrayElements__entry(env,
array, elems, mode)``, ``NewGlobalRef__return(ref)``, ``NewWeakGlobalRef__return(ref)``,
``DeleteGlobalRef__entry(env, ref)``, ``DeleteWeakGlobalRef__entry(env, ref)``. The
``*ArrayElements`` probes carry no length: bpf/jni_iface.c reads it from the array's header
(HotSpot always copies there). ``GetStringUTFChars``, ``GetStringChars`` and ``NewStringUTF``
carry no length either and their strings' layout is version-specific: counted, not sized.

Local references: the ``__return`` probe of every function that returns a new local reference
carries it as its one argument (``FindClass__return(ref)``, ``NewStringUTF__return(ref)``,
``CallObjectMethod__return(ref)``, ``PopLocalFrame__return(ref)``: the result, a reference in
the outer frame, ...; 0 when the call failed), and ``DeleteLocalRef__entry(env, ref)`` the one
deleted. Only those sites are used for functions not timed anyway (``LOCAL_ONLY``).
"""

from __future__ import annotations

from dataclasses import dataclass

# Site flags, the same numbers as JNII_* in bpf/jni_iface.c.
ENTRY, RETURN, CRIT_BEGIN, CRIT_END = 1, 2, 4, 8
BYTES_ARG = 16      # bytes = the value argument x element size
BYTES_ARRAY = 32    # bytes = length of the array whose handle is the value argument x size
REF_NEW = 64        # the value argument is a global reference just created
REF_DELETE = 128    # the value argument is a global reference about to be deleted
REF_WEAK = 256      # ... a weak one
LOCAL_NEW = 512     # the value argument is a local reference just created (return site)
LOCAL_DELETE = 1024  # the value argument is a local reference about to be deleted

ELEMENT_BYTES = {"Boolean": 1, "Byte": 1, "Char": 2, "Short": 2, "Int": 4, "Long": 8,
                 "Float": 4, "Double": 8}
_TYPES = tuple(ELEMENT_BYTES)

FUNCTIONS: tuple[str, ...] = (
    "GetPrimitiveArrayCritical", "ReleasePrimitiveArrayCritical", "GetStringCritical",
    "ReleaseStringCritical", "GetStringUTFChars", "ReleaseStringUTFChars", "GetStringChars",
    "ReleaseStringChars", "GetStringRegion", "GetStringUTFRegion", "NewGlobalRef",
    "DeleteGlobalRef",
    *(f"Get{t}ArrayElements" for t in _TYPES), *(f"Release{t}ArrayElements" for t in _TYPES),
    *(f"Get{t}ArrayRegion" for t in _TYPES), *(f"Set{t}ArrayRegion" for t in _TYPES),
    # appended, so the numbers of the functions above stay as they were
    "NewWeakGlobalRef", "DeleteWeakGlobalRef", "NewString", "NewStringUTF",
    # local references (untimed: only their return sites, and DeleteLocalRef's entry)
    "DeleteLocalRef", "NewLocalRef", "PopLocalFrame", "FindClass", "DefineClass",
    "GetObjectClass", "GetSuperclass", "AllocObject", "NewObject", "NewObjectA", "NewObjectV",
    "NewObjectArray", *(f"New{t}Array" for t in _TYPES), "NewDirectByteBuffer",
    "GetObjectField", "GetStaticObjectField", "GetObjectArrayElement",
    *(f"Call{kind}ObjectMethod{variant}" for kind in ("", "Nonvirtual", "Static")
      for variant in ("", "A", "V")),
    "ExceptionOccurred", "ToReflectedMethod", "ToReflectedField",
)
INDEX = {name: index for index, name in enumerate(FUNCTIONS)}

# Functions returning a new local reference (their return site counts it).
LOCAL_CREATORS: frozenset[str] = frozenset(
    FUNCTIONS[FUNCTIONS.index("NewLocalRef"):]) | {"NewString", "NewStringUTF"}
# Functions traced for local references only: no entry/return timing, no jni_interface rows.
LOCAL_ONLY: frozenset[str] = frozenset(FUNCTIONS[FUNCTIONS.index("DeleteLocalRef"):])

# Functions whose ``bytes`` the probes measure; the others copy too but report 0.
SIZED: frozenset[str] = frozenset(
    name for name in FUNCTIONS
    if name.endswith(("ArrayRegion", "ArrayElements")) or name in (
        "GetStringRegion", "GetStringUTFRegion", "NewString"))
# Copies the probes count but cannot size.
UNSIZED_COPIES: frozenset[str] = frozenset(
    {"GetStringUTFChars", "GetStringChars", "NewStringUTF"})


@dataclass(frozen=True)
class SitePlan:
    """What the BPF side does at one probe site. Positions are 1-based probe arguments
    (0: none): ``value`` is the length, array handle or reference; ``extra`` the release
    mode of ``Release*ArrayElements``."""

    function: str
    flags: int
    value: int = 0
    extra: int = 0
    element_bytes: int = 0


def _element_bytes(function: str) -> int:
    for type_name, size in ELEMENT_BYTES.items():
        if type_name + "Array" in function:
            return size
    return 2 if function in ("GetStringRegion", "NewString") else 1


def plan_site(probe_name: str) -> SitePlan | None:
    """``GetByteArrayRegion__entry`` -> its plan; None for a probe this tracer ignores."""
    function, _, kind = probe_name.partition("__")
    if function not in INDEX or kind not in ("entry", "return"):
        return None
    entry = kind == "entry"
    if function in LOCAL_ONLY:
        if function == "DeleteLocalRef":
            return SitePlan(function, LOCAL_DELETE, value=2) if entry else None
        return None if entry else SitePlan(function, LOCAL_NEW, value=1)
    flags = ENTRY if entry else RETURN
    if function in LOCAL_CREATORS and not entry:
        return SitePlan(function, flags | LOCAL_NEW, value=1)
    if function.endswith("Critical"):
        if function.startswith("Get") and not entry:
            flags |= CRIT_BEGIN
        if function.startswith("Release") and entry:
            flags |= CRIT_END
        return SitePlan(function, flags)
    weak = REF_WEAK if "Weak" in function else 0
    if function.startswith("New") and function.endswith("GlobalRef"):
        return SitePlan(function, flags | REF_NEW | weak, value=1) if not entry \
            else SitePlan(function, flags)
    if function.startswith("Delete"):
        return SitePlan(function, flags | REF_DELETE | weak, value=2) if entry \
            else SitePlan(function, flags)
    if not entry or function not in SIZED:
        return SitePlan(function, flags)
    size = _element_bytes(function)
    if function.endswith("ArrayElements"):
        extra = 4 if function.startswith("Release") else 0
        return SitePlan(function, flags | BYTES_ARRAY, value=2, extra=extra,
                        element_bytes=size)
    position = 3 if function == "NewString" else 4
    return SitePlan(function, flags | BYTES_ARG, value=position, element_bytes=size)


def array_length_offset(cmdline: list[str]) -> int:
    """Where HotSpot keeps an array's length, from the JVM's flags: after the 8-byte mark
    word and a 4-byte compressed class pointer (12), a full one (16), or inside the
    compact 8-byte header of JDK 24+ (8). Flags set through JAVA_TOOL_OPTIONS, and JDK 8-14
    turning class pointers off for heaps over 32 GiB, are not seen (see docs/format.md)."""
    flags = set(cmdline)
    if "-XX:+UseCompactObjectHeaders" in flags:
        return 8
    if "-XX:-UseCompressedClassPointers" in flags:
        return 16
    return 12

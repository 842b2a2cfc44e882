#!/usr/bin/env bash
# Installs everything sparkprof needs on a Debian/Ubuntu host, idempotently:
#   apt: BCC tools + Python bindings, kernel headers (or the newest installed as fallback),
#        a JDK 17+, python3-venv;  tracefs/debugfs mounted;  .venv with the package.
# A second run checks and returns in a few seconds.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 2; }

[[ $(id -u) -eq 0 ]] || die "run as root: sudo $0"
command -v apt-get >/dev/null || die "apt-get not found: install BCC (python3-bcc), kernel headers and a JDK 17+ with your distribution's tools, then run: python3 -m venv --system-site-packages .venv && .venv/bin/pip install -e '.[spark,dev]'"

export DEBIAN_FRONTEND=noninteractive
arch="$(dpkg --print-architecture)"
release="$(uname -r)"

missing=()
for pkg in bpfcc-tools python3-bpfcc libbpfcc python3-venv python3-pip gcc chromium; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
have_jdk=0
for javac in /usr/lib/jvm/*/bin/javac; do
    [[ -x $javac ]] || continue
    major="$("$javac" -version 2>&1 | sed -E 's/^javac ([0-9]+).*/\1/')"
    [[ $major =~ ^[0-9]+$ ]] && ((major >= 17)) && have_jdk=1
done
((have_jdk)) || missing+=(openjdk-17-jdk-headless)

apt_updated=0
apt_update() { ((apt_updated)) || { say "apt-get update"; apt-get update -qq; apt_updated=1; }; }

if [[ ! -e /lib/modules/$release/build ]] && ! ls -d /usr/src/linux-headers-*-"$arch" >/dev/null 2>&1; then
    apt_update
    if apt-cache show "linux-headers-$release" >/dev/null 2>&1; then
        missing+=("linux-headers-$release")
    else
        missing+=("linux-headers-$arch")
    fi
fi

if ((${#missing[@]})); then
    apt_update
    say "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "apt packages present"
fi

# Kernel headers: BCC compiles against /lib/modules/$(uname -r)/{build,source}. When the running
# kernel has no headers package (custom kernels, VMs), point it at the newest installed ones.
moddir="/lib/modules/$release"
if [[ -e $moddir/build ]]; then
    say "kernel headers: $(readlink -f "$moddir/build")"
else
    build="$(ls -d /usr/src/linux-headers-*-"$arch" 2>/dev/null | sort -V | tail -1)"
    [[ -n $build ]] || die "no kernel headers found under /usr/src; install linux-headers-$release"
    common="${build%-"$arch"}-common"
    mkdir -p "$moddir"
    ln -sfn "$build" "$moddir/build"
    [[ -d $common ]] && ln -sfn "$common" "$moddir/source"
    say "kernel headers: none for $release; FALLBACK to $(basename "$build") (tracepoints, uprobes, USDT and perf events work; kprobes may not)"
fi

if [[ ! -d /sys/kernel/tracing/events ]]; then
    mount -t tracefs tracefs /sys/kernel/tracing && say "mounted tracefs at /sys/kernel/tracing"
fi
if [[ ! -d /sys/kernel/debug/tracing ]] && ! mountpoint -q /sys/kernel/debug; then
    mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null && say "mounted debugfs at /sys/kernel/debug" || true
fi

# The venv comes from the system python3 so that the distribution's `bcc` module imports.
venv="$repo/.venv"
if [[ ! -x $venv/bin/python ]]; then
    say "creating $venv (system python3, --system-site-packages)"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
stamp="$venv/.sparkprof-installed"
want="$(sha256sum "$repo/pyproject.toml" | cut -d' ' -f1)"
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    say "installing sparkprof and its dependencies into .venv (first run downloads PySpark, ~450 MB)"
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -e "$repo[spark,dev]"
    echo "$want" >"$stamp"
else
    say ".venv up to date"
fi
"$venv/bin/python" -c 'import bcc, profiler' || die ".venv cannot import bcc and profiler"

# Leave the checkout usable without sudo by the user who ran `sudo`.
if [[ -n ${SUDO_UID:-} && ${SUDO_UID} != 0 ]]; then
    chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$venv"
fi
say "ready: $venv/bin/sparkprof"

"""Everything that names an address: process mappings, ELF symbol tables, JIT perf maps and
Python frames read from live processes."""

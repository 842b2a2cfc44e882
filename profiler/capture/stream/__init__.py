"""How data leaves the kernel: per-CPU perf rings, double-buffered aggregation maps, stack
tables, and the numpy records and column dicts they become."""

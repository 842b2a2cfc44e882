"""``sparkprof bench``: the PySpark workload suite run plain and profiled (overhead), as
variant comparisons, and the collector's synthetic throughput; each writes a benchmark
report (markdown, PNG figures, JSON) into a results directory."""

"""``sparkprof record``: launch or attach, configure Spark, drive the capture, write the run.

Pure pieces (options, Spark configuration merging, command labels, meta assembly) are
separate from the pieces with side effects (launching, signals, the record loop) so the
former are unit-tested without root, BCC or Spark.
"""

"""Which Spark executor each process (pid) works for, from the roles in ``processes``.

The driver JVM is executor "driver" (in local mode it runs the tasks, and the event log says
executor_id "driver" for them); an executor JVM is its ``executor_id``. Every other process
(pyspark.daemon, Python workers, helpers a JVM spawned) inherits the executor of the nearest
ancestor that has one. The Python driver belongs to the driver but runs no task: it and its
children get ``DRIVER_PYTHON`` so that its time never lands in a stage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from profiler.correlate.lookup import positions
from profiler.roles import (
    DRIVER_JVM,
    EXECUTOR_JVM,
    PYSPARK_DAEMON,
    PYTHON_DRIVER,
    PYTHON_WORKER,
)

DRIVER = "driver"
DRIVER_PYTHON = "driver-python"
_MAX_DEPTH = 64  # process trees deeper than this are not Spark's

EXECUTOR_MAP_COLUMNS = ("pid", "executor_id", "role")
PYTHON_ROLES = (PYTHON_WORKER, PYSPARK_DAEMON, PYTHON_DRIVER)  # their CPU is Python CPU


def executor_map(processes: pd.DataFrame | None) -> pd.DataFrame:
    """pid -> executor_id (None when no ancestor is a Spark process) and the process role.

    ``processes`` needs pid, ppid, role and executor_id (last row per pid is used).
    """
    if processes is None or processes.empty:
        return pd.DataFrame({"pid": pd.Series(dtype=np.int64),
                             "executor_id": pd.Series(dtype=object),
                             "role": pd.Series(dtype=object)})
    procs = processes.drop_duplicates("pid", keep="last")
    pids = procs["pid"].to_numpy(dtype=np.int64)
    roles = procs["role"].astype(object).to_numpy()
    own = _own_executor(roles, procs["executor_id"].astype(object).to_numpy())
    assigned = _inherit(pids, procs["ppid"].to_numpy(dtype=np.int64), own)
    return pd.DataFrame({"pid": pids, "executor_id": assigned, "role": roles})


def _own_executor(roles: np.ndarray, executor_ids: np.ndarray) -> np.ndarray:
    own = np.full(len(roles), None, dtype=object)
    own[roles == DRIVER_JVM] = DRIVER
    own[roles == PYTHON_DRIVER] = DRIVER_PYTHON
    is_executor = roles == EXECUTOR_JVM
    # An executor JVM whose id was not seen still is an executor: keep it apart from the rest.
    ids = np.array([value if isinstance(value, str) and value else "unknown-executor"
                    for value in executor_ids[is_executor]], dtype=object)
    own[is_executor] = ids
    return own


def _inherit(pids: np.ndarray, ppids: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Walk each unassigned process up its parent chain (vectorised over processes)."""
    assigned = own.copy()
    parent_row = positions(pids, ppids)  # -1: parent not recorded
    cursor = parent_row.copy()
    for _ in range(_MAX_DEPTH):
        open_rows = np.flatnonzero((assigned == None) & (cursor >= 0))  # noqa: E711
        if open_rows.size == 0:
            break
        ancestors = cursor[open_rows]
        found = own[ancestors]
        has = found != None  # noqa: E711
        assigned[open_rows[has]] = found[has]
        cursor[open_rows] = parent_row[ancestors]
    return assigned


"""examples/analysis.ipynb runs top to bottom on a run directory.

With nbclient installed the notebook runs in a real kernel; otherwise (the project does not
depend on Jupyter) its code cells run in order with exec in one namespace, which is what a
kernel would do minus the display of results.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.unit.report_runs import make_run

NOTEBOOK = REPO / "examples" / "analysis.ipynb"


def _code_cells() -> list[str]:
    notebook = json.loads(NOTEBOOK.read_text())
    return ["".join(cell["source"]) for cell in notebook["cells"]
            if cell["cell_type"] == "code"]


def test_the_example_notebook_runs_top_to_bottom(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path / "run")
    monkeypatch.setenv("SPARKPROF_RUN", str(run))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if importlib.util.find_spec("nbclient") and importlib.util.find_spec("nbformat"):
        import nbclient
        import nbformat

        notebook = nbformat.read(str(NOTEBOOK), as_version=4)
        nbclient.NotebookClient(notebook, timeout=120, resources={
            "metadata": {"path": str(tmp_path)}}).execute()
        return
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for number, source in enumerate(_code_cells(), 1):
        exec(compile(source, f"{NOTEBOOK.name} cell {number}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert f"sparkprof run {run}" in printed
    assert "+0.0% end to end" in printed
    assert namespace["breakdown"].loc[(0, 0), "net_python_worker"] == pytest.approx(600)
    assert os.environ["SPARKPROF_RUN"] == str(run)

"""``Profile.plot``: matplotlib Figures of the timeline, breakdown and latency; PNG output."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import profiler
from profiler.plots import COLORS, png_bytes
from profiler.profile import Profile
from tests.unit.report_runs import make_run


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    return profiler.load(make_run(tmp_path_factory.mktemp("plots") / "run"))


def _bars(figure: Figure) -> list[Rectangle]:
    return [p for p in figure.axes[0].patches if isinstance(p, Rectangle)]


def _bar_colors(figure: Figure) -> set[str]:
    from matplotlib.colors import to_hex

    return {to_hex(patch.get_facecolor()) for patch in figure.axes[0].patches}


def test_timeline_bars_are_placed_on_the_stage_windows(loaded: Profile) -> None:
    figure = loaded.plot.timeline()
    assert isinstance(figure, Figure)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["0 udf at job.py:10", "1 sql at job.py:20"]
    frames = [p for p in _bars(figure) if p.get_height() == pytest.approx(0.8)]
    assert [(round(p.get_x(), 3), round(p.get_width(), 3)) for p in frames] == [
        (1.0, 1.0), (3.0, 0.5)]
    assert COLORS["net_python_worker"] in _bar_colors(figure)
    assert png_bytes(figure).startswith(b"\x89PNG")


def test_breakdown_stacks_each_stage_to_its_task_time(loaded: Profile) -> None:
    figure = loaded.plot.breakdown()
    bars = _bars(figure)
    first = [p for p in bars if p.get_y() < 0.5]  # stage 0 is row 0
    assert sum(p.get_width() for p in first) == pytest.approx(1.0)  # 1 s of task time
    assert COLORS["unexplained"] in _bar_colors(figure)


def test_latency_draws_one_line_per_syscall(loaded: Profile) -> None:
    assert len(loaded.plot.latency().axes[0].lines) == 2
    only_read = loaded.plot.latency(syscalls="read").axes[0]
    assert [line.get_label() for line in only_read.lines] == ["read (5 calls)"]

"""Progress of long commands: a bar on a terminal, periodic plain lines elsewhere."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner

from proctor.cli import main
from proctor.kernel.progress import Reporter


def test_plain_lines_with_counts_eta_and_no_flood(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("proctor.kernel.progress.time.monotonic", lambda: clock[0])
    out = io.StringIO()
    with Reporter(out, every_s=5) as progress:
        progress.say("正在写入演示数据")
        for done in range(0, 1001):
            progress("写入学员", done, 1000)
            clock[0] += 0.02  # 20 s in all: a line every 5 s, not a thousand lines
        progress("写入学员", 1000, 1000)  # said once only
        progress("计算特征", 3, None)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("正在写入演示数据")
    assert lines[1].endswith("写入学员：0/1000（0%）")
    middle = lines[2:-2]
    assert 3 <= len(middle) <= 5
    assert re.search(r"写入学员：\d+/1000（\d+%），预计还需 0 分 \d\d 秒$", middle[0])
    assert lines[-2].endswith("写入学员：1000/1000（100%）")
    assert lines[-1].endswith("计算特征：3")


def test_a_bar_on_a_terminal() -> None:
    out = io.StringIO()
    with Reporter(out, tty=True) as progress:
        progress("演示数据·建立机构树", 0, 7)
        progress("演示数据·报表数据", 7, 7)
    text = out.getvalue()
    assert "演示数据·报表数据" in text and "7/7" in text


def test_commands_report_progress_when_piped(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["exams", "analyse"])
    assert result.exit_code == 0, result.output
    assert "考试数据分析：0" in result.output
    result = runner.invoke(main, ["reports", "refresh", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert "重建 2026 年度报表汇总：1/1（100%）" in result.output


def test_a_year_out_of_range_is_refused_by_name(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reports refresh --year 99999` printed a ValueError traceback; it is a bad option."""
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["reports", "refresh", "--year", "99999"])
    assert result.exit_code == 2, result.output
    assert "--year" in result.output and "Traceback" not in result.output

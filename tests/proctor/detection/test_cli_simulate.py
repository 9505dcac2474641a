"""`proctor simulate` builds its own province: into a database that already holds one (a
second run, or a real academy's) it refuses by name, and nonsense sizes are bad options;
both printed tracebacks before (an IntegrityError, a zero-day period)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from proctor.cli import main
from proctor.kernel import migrate


def test_simulate_refuses_a_database_with_an_org_tree_and_bad_sizes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    migrate.upgrade(url)
    env = {"PROCTOR_DATABASE_URL": url, "PROCTOR_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    first = runner.invoke(main, ["simulate", "--learners", "3", "--days", "1"], env=env)
    assert first.exit_code == 0, first.output
    assert "模拟完成：3 名学员" in first.output
    again = runner.invoke(main, ["simulate", "--learners", "3", "--days", "1"], env=env)
    assert again.exit_code == 1, again.output
    assert "数据库中已有组织机构" in again.output and "Traceback" not in again.output
    for bad in (["--days", "0"], ["--learners", "0"], ["--fraud-share", "1.5"]):
        result = runner.invoke(main, ["simulate", *bad], env=env)
        assert result.exit_code == 2, (bad, result.output)
        assert bad[0] in result.output

"""`proctor detect --reuse-model` with a model saved by an earlier version (another feature
list) says what to do and exits non-zero, instead of printing a traceback; a period in
which nobody finished a session is said to be empty (it raised a ValueError before)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from proctor.cli import main
from proctor.detection.features import FEATURES
from proctor.kernel import migrate


def test_an_earlier_model_is_named_with_the_command_that_refits(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    migrate.upgrade(url)
    models = tmp_path / "models"
    models.mkdir()
    meta = {
        "version": "det-old",
        "features": [f for f in FEATURES if f != "machine_clients"],
        "sklearn": "1.0.0",
    }
    (models / "det-old.json").write_text(json.dumps(meta))
    (models / "det-old.joblib").write_bytes(b"")
    (models / "current").write_text("det-old.joblib")
    env = {"PROCTOR_DATABASE_URL": url, "PROCTOR_DATA_DIR": str(tmp_path)}
    args = ["detect", "--start", "2026-03-02", "--end", "2026-03-15", "--reuse-model"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1, result.output
    assert "特征列表与当前代码不一致" in result.output
    assert "不加 --reuse-model" in result.output
    assert "Traceback" not in result.output
    # Without the flag the model would be refitted; this period has no sessions at all (a
    # holiday week, a new deployment): said so, nothing fitted, nothing changed.
    result = CliRunner().invoke(main, args[:-1], env=env)
    assert result.exit_code == 0, result.output
    assert "没有已结束的学习会话" in result.output
    assert (models / "current").read_text() == "det-old.joblib"

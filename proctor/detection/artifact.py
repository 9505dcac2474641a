"""Versioned model artifacts: the fitted detector with its training window, features and
library versions. Loading an artifact that does not match this code fails clearly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from proctor.detection.features import FEATURES
from proctor.detection.scoring import Detector


class ArtifactMismatch(Exception):
    """The artifact was made for other features or other library versions."""


def _meta(detector: Detector) -> dict[str, Any]:
    return {
        "version": detector.version,
        "window": [detector.window[0].isoformat(), detector.window[1].isoformat()],
        "features": list(FEATURES),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "thresholds": detector.thresholds,
        "saved_at": dt.datetime.now(dt.UTC).isoformat(),
    }


def save(detector: Detector, folder: Path) -> Path:
    """Write ``<version>.joblib`` and its ``.json`` metadata; return the model path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{detector.version}.joblib"
    joblib.dump({"meta": _meta(detector), "detector": detector}, path)
    path.with_suffix(".json").write_text(json.dumps(_meta(detector), ensure_ascii=False, indent=2))
    (folder / "current").write_text(path.name)
    return path


def load(path: Path) -> Detector:
    """Load an artifact, refusing one whose features or library versions differ."""
    meta = json.loads(path.with_suffix(".json").read_text())
    if meta["features"] != list(FEATURES):
        raise ArtifactMismatch(
            f"模型 {meta['version']} 的特征列表与当前代码不一致，请不加 --reuse-model 运行 proctor detect 重新训练"
        )
    if meta["sklearn"].split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise ArtifactMismatch(
            f"模型 {meta['version']} 由 scikit-learn {meta['sklearn']} 训练，当前为 {sklearn.__version__}，请不加 --reuse-model 运行 proctor detect 重新训练"
        )
    bundle = joblib.load(path)
    detector = bundle["detector"]
    if not isinstance(detector, Detector):
        raise ArtifactMismatch(f"{path} 不是检测模型文件")
    return detector


def load_current(folder: Path) -> Detector | None:
    """The artifact marked current in a folder, if any."""
    marker = folder / "current"
    if not marker.exists():
        return None
    return load(folder / marker.read_text().strip())

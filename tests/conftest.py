"""Shared test set-up: Qt offscreen, TensorFlow quiet, artifacts folder for screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
# Converted pretrained weights: one cache for the whole suite, never the user's own cache folder.
os.environ.setdefault("EDGE_STUDIO_CACHE_DIR", str(ARTIFACTS / "cache"))


@pytest.fixture
def artifacts_dir() -> Path:
    """Screenshots and other outputs worth opening after a run land in ./test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

"""`scripts/skating_diagnosis.py`: generated foot skating against real's, paired take by take."""

from __future__ import annotations

import sys

import numpy as np
from conftest import REPO, SAMPLES

from core.evaluation.suite import ClipSet
from core.motion.clip import load_clip

sys.path.insert(0, str(REPO / "scripts"))
import skating_diagnosis  # noqa: E402


def walks(names: list[str], slide: float = 0.0) -> ClipSet:
    """Sample walks; `slide` cm a frame added to the root's travel (the feet slide with it)."""
    clips = []
    for n in names:
        c = load_clip(SAMPLES / f"{n}.bvh")
        c.translations[:, 0, 0] += slide * np.arange(c.num_frames)
        clips.append(c)
    return ClipSet("walks", clips, ["walk"] * len(clips), ["x"] * len(clips))


NAMES = ["dataset-1_walk_old_001", "dataset-2_walk_normal_001", "dataset-1_walk_old_001"]


def test_paired_difference_is_zero_against_itself_and_positive_for_sliding_feet():
    real = walks(NAMES)
    rate = skating_diagnosis.per_clip(real)
    same = skating_diagnosis.paired(real, rate, real)
    assert same["minus real, paired"] == "+0.0000" and same["standard error"] == "0.0000"
    slid = skating_diagnosis.paired(real, rate, walks(NAMES, slide=3.0))  # 90 cm/s: every standing foot skates
    assert float(slid["minus real, paired"]) > 0.3
    assert float(slid["foot skating"]) > float(same["foot skating"])


def test_paired_difference_is_left_out_where_the_labels_do_not_match_take_by_take():
    real = walks(NAMES)
    other = walks(NAMES)
    other.actions = ["run", "walk", "walk"]
    row = skating_diagnosis.paired(real, skating_diagnosis.per_clip(real), other)
    assert row["minus real, paired"] == "-" and row["foot skating"] != "-"

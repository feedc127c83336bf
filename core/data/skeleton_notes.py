"""A library's notes on its skeleton, for names that do not tell: `skeleton.json` at the folder's root.

    {"mirror_pairs": [["Hip_A", "Hip_B"], ["Knee_A", "Knee_B"], ...],  # left first, then right
     "foot_joints": ["Ankle_A", "Toe_A", "Ankle_B", "Toe_B"]}

Either key is optional. Left/right pairs drive mirroring (training's augmentation) and facing (the
representation's and the evaluation's heading); foot joints drive floor contacts. Without the file both are
found from the joint names (`Skeleton.mirror_indices`, `MotionRepresentation.feet`). Every command that reads
the folder (`train`, `data stats`, `evaluate ... --data/--reference`) applies the notes, and trained weights
keep them in their skeleton.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import MotionDataError
from ..motion.skeleton import Skeleton
from .errors import DataError

SKELETON_NOTES = "skeleton.json"


def read_skeleton_notes(folder: str | Path) -> dict:
    """The notes of `folder`'s `skeleton.json` ({} without one) as `Skeleton.annotated` keyword arguments."""
    path = Path(folder) / SKELETON_NOTES
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read the skeleton notes ({e})") from None
    example = '{"mirror_pairs": [["LeftHip", "RightHip"], ...], "foot_joints": ["LeftAnkle", ...]}'
    if not isinstance(data, dict) or set(data) - {"mirror_pairs", "foot_joints"}:
        raise DataError(f"{path}: expected an object like {example}")
    pairs, feet = data.get("mirror_pairs"), data.get("foot_joints")
    if pairs is not None and not (isinstance(pairs, list) and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(n, str) for n in p) for p in pairs)):
        raise DataError(f"{path}: mirror_pairs must be a list of [left, right] joint-name pairs, like {example}")
    if feet is not None and not (isinstance(feet, list) and all(isinstance(n, str) for n in feet)):
        raise DataError(f"{path}: foot_joints must be a list of joint names, like {example}")
    return {"mirror_pairs": pairs, "foot_joints": feet, "path": path}


def annotate(skeleton: Skeleton, notes: dict) -> Skeleton:
    """`skeleton` with `notes` (from `read_skeleton_notes`); a name it lacks is an error naming the file."""
    if not notes:
        return skeleton
    try:
        return skeleton.annotated(notes["mirror_pairs"], notes["foot_joints"])
    except MotionDataError as e:
        raise DataError(f"{notes['path']}: {e}") from None


def write_skeleton_notes(folder: str | Path, skeleton: Skeleton) -> Path | None:
    """Write `skeleton`'s given pairs and foot joints to `folder`'s `skeleton.json` (nothing when it has none),
    so that clips written there on it are read back with them."""
    notes = {k: v for k, v in skeleton.to_json().items() if k in ("mirror_pairs", "foot_joints")}
    if not notes:
        return None
    path = Path(folder) / SKELETON_NOTES
    path.write_text(json.dumps(notes, indent=1) + "\n", encoding="utf-8")
    return path

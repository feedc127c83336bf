"""A studio's own motion library for the tests: the sample clips on another skeleton (other joint names, no toe
joints, 60 fps) with labels of its own, as sidecar .json files, a labels.csv manifest or ACTION/STYLE/ folders.
(Beside rigs.py: both test folders import it.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from conftest import SAMPLES

from core.motion.clip import Clip, load_clip, save_clip
from core.motion.rotations import quat_slerp
from core.motion.skeleton import Skeleton

TINY_CONFIG = {"family": "diffusion", "model": {"width": 32, "layers": 1, "heads": 2, "ff": 64, "dropout": 0.0},
               "window": 40, "batch": 4, "steps": 3, "warmup": 1, "val_every": 3, "val_batches": 1, "threads": 1,
               "sample_steps": 4}

NAMES = {"joint_Root": "root", "Hips": "pelvis", "Spine": "spine_a", "Chest": "spine_b", "Neck": "neck",
         "Head": "head", "Shoulder_L": "clavicle_l", "UpperArm_L": "upperarm_l", "LowerArm_L": "forearm_l",
         "Hand_L": "hand_l", "Shoulder_R": "clavicle_r", "UpperArm_R": "upperarm_r", "LowerArm_R": "forearm_r",
         "Hand_R": "hand_r", "UpperLeg_L": "thigh_l", "LowerLeg_L": "calf_l", "Foot_L": "foot_l",
         "UpperLeg_R": "thigh_r", "LowerLeg_R": "calf_r", "Foot_R": "foot_r"}  # Toes_L, Toes_R left out
TAKES = [("dataset-2_walk_normal_001.bvh", "strut", "mine"), ("dataset-1_walk_old_001.bvh", "strut", "tired"),
         ("dataset-2_wave-right-hand_feminine_001.bvh", "greet", "mine"),
         ("dataset-1_bow_happy_001.bvh", "greet", "tired")]


def library_clip(src: Path, skeleton: Skeleton | None) -> Clip:
    """`src` (its first 150 frames) on the library's skeleton at 60 fps: frames and their midpoints."""
    c = load_clip(src).slice(0, 150)
    keep = [j for j, n in enumerate(c.skeleton.names) if n in NAMES]
    if skeleton is None:
        index = {j: k for k, j in enumerate(keep)}
        parents = np.array([index[c.skeleton.parents[j]] if c.skeleton.parents[j] >= 0 else -1 for j in keep])
        ends = {index[j]: e for j, e in c.skeleton.end_sites.items() if j in index}
        skeleton = Skeleton(tuple(NAMES[c.skeleton.names[j]] for j in keep), parents, c.skeleton.offsets[keep], ends)
    r, t = c.rotations[:, keep], c.translations[:, keep]
    rot = np.empty((2 * len(r) - 1, len(keep), 4))
    rot[0::2], rot[1::2] = r, quat_slerp(r[:-1], r[1:], np.full(r.shape[:2], 0.5)[:-1])
    trans = np.broadcast_to(skeleton.offsets, rot.shape[:2] + (3,)).copy()  # one actor: one set of offsets
    trans[0::2, 0], trans[1::2, 0] = t[:, 0], (t[:-1, 0] + t[1:, 0]) / 2  # the root carries the travel
    return Clip(skeleton, rot, trans, 2 * c.fps)


def build_library(folder: Path, layout: str) -> Path:
    skeleton = None
    rows = ["file,action,style"]
    for i, (src, action, style) in enumerate(TAKES):
        clip = library_clip(SAMPLES / src, skeleton)
        skeleton = clip.skeleton
        sub = folder / action / style if layout == "folders" else folder
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"my_take_{i:03d}.bvh"
        save_clip(clip, path)
        if layout == "sidecar":
            path.with_suffix(".json").write_text(json.dumps({"action": action, "style": style}))
        rows.append(f"{path.name},{action},{style}")
    if layout == "csv":
        (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder

"""Which bone of a rig plays which joint of GenAnim's skeleton: presets and matching by name.

A bone map is a dict {GenAnim joint name: rig bone name}. Presets cover the
rigs animators meet most; any other rig is matched by normalised names and
synonyms, and the result is shown to the user to edit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..errors import RigError

# GenAnim's (the Bandai Namco data's) joints that a rig may map, root to leaves.
JOINTS = (
    "Hips", "Spine", "Chest", "Neck", "Head",
    "Shoulder_L", "UpperArm_L", "LowerArm_L", "Hand_L",
    "Shoulder_R", "UpperArm_R", "LowerArm_R", "Hand_R",
    "UpperLeg_L", "LowerLeg_L", "Foot_L", "Toes_L",
    "UpperLeg_R", "LowerLeg_R", "Foot_R", "Toes_R",
)
# Without these a body cannot follow the motion; the others are optional.
REQUIRED = (
    "Hips", "Head",
    "UpperArm_L", "LowerArm_L", "Hand_L", "UpperArm_R", "LowerArm_R", "Hand_R",
    "UpperLeg_L", "LowerLeg_L", "Foot_L", "UpperLeg_R", "LowerLeg_R", "Foot_R",
)


def _sided(center: dict[str, str], left: dict[str, str], side: str, other: str) -> dict[str, str]:
    """A full map from the centre joints and the left side, the right side derived by renaming."""
    out = dict(center)
    for joint, bone in left.items():
        out[joint] = bone
        out[joint[:-2] + "_R"] = bone.replace(side, other)
    return out


_UE_LEFT = {
    "Shoulder_L": "clavicle_l", "UpperArm_L": "upperarm_l", "LowerArm_L": "lowerarm_l", "Hand_L": "hand_l",
    "UpperLeg_L": "thigh_l", "LowerLeg_L": "calf_l", "Foot_L": "foot_l", "Toes_L": "ball_l",
}

PRESETS: dict[str, dict[str, str]] = {
    "GENANIM": {j: j for j in JOINTS},
    "MIXAMO": _sided(
        {"Hips": "mixamorig:Hips", "Spine": "mixamorig:Spine", "Chest": "mixamorig:Spine2",
         "Neck": "mixamorig:Neck", "Head": "mixamorig:Head"},
        {"Shoulder_L": "mixamorig:LeftShoulder", "UpperArm_L": "mixamorig:LeftArm",
         "LowerArm_L": "mixamorig:LeftForeArm", "Hand_L": "mixamorig:LeftHand",
         "UpperLeg_L": "mixamorig:LeftUpLeg", "LowerLeg_L": "mixamorig:LeftLeg",
         "Foot_L": "mixamorig:LeftFoot", "Toes_L": "mixamorig:LeftToeBase"},
        "Left", "Right",
    ),
    # Rigify's human metarig: spine.003 carries the shoulders, spine.004-006 are neck and head.
    "RIGIFY": _sided(
        {"Hips": "spine", "Spine": "spine.001", "Chest": "spine.003", "Neck": "spine.004", "Head": "spine.006"},
        {"Shoulder_L": "shoulder.L", "UpperArm_L": "upper_arm.L", "LowerArm_L": "forearm.L", "Hand_L": "hand.L",
         "UpperLeg_L": "thigh.L", "LowerLeg_L": "shin.L", "Foot_L": "foot.L", "Toes_L": "toe.L"},
        ".L", ".R",
    ),
    # MakeHuman / MPFB "game_engine" rig (UE4-like names, three spine bones).
    "MAKEHUMAN": _sided(
        {"Hips": "pelvis", "Spine": "spine_01", "Chest": "spine_03", "Neck": "neck_01", "Head": "head"},
        _UE_LEFT, "_l", "_r",
    ),
    # Unreal Engine 5 mannequin (five spine bones, two neck bones).
    "UNREAL": _sided(
        {"Hips": "pelvis", "Spine": "spine_01", "Chest": "spine_05", "Neck": "neck_01", "Head": "head"},
        _UE_LEFT, "_l", "_r",
    ),
}
PRESET_LABELS = {
    "GENANIM": "GenAnim skeleton",
    "MIXAMO": "Mixamo",
    "RIGIFY": "Rigify metarig",
    "MAKEHUMAN": "MakeHuman game_engine",
    "UNREAL": "Unreal (UE5 mannequin)",
}

# Name matching for other rigs: normalised synonyms per joint, most specific first.
_SYNONYMS = {
    "Hips": ("hips", "hip", "pelvis", "root"),
    "Spine": ("spine", "spine1", "spine01", "abdomen", "spinelower", "torso"),
    "Chest": ("chest", "spine2", "spine02", "spine3", "spine03", "upperchest", "chestupper", "spineupper"),
    "Neck": ("neck", "neck1", "neck01", "neckbase"),
    "Head": ("head",),
    "Shoulder": ("shoulder", "clavicle", "collar", "collarbone"),
    "UpperArm": ("upperarm", "arm", "armupper", "uparm", "humerus", "bicep"),
    "LowerArm": ("lowerarm", "forearm", "armlower", "elbow", "lowarm", "radius"),
    "Hand": ("hand", "wrist"),
    "UpperLeg": ("upperleg", "thigh", "upleg", "legupper", "femur"),
    "LowerLeg": ("lowerleg", "calf", "shin", "leg", "leglower", "knee", "lowleg", "tibia"),
    "Foot": ("foot", "ankle"),
    "Toes": ("toes", "toe", "toebase", "ball", "toe1", "toes1"),
}
_NAMESPACE = re.compile(r"^.*[:|]")
_SIDE_TOKENS = (
    (re.compile(r"(^|[^a-z])(left|l)([^a-z]|$)"), "L"),
    (re.compile(r"(^|[^a-z])(right|r)([^a-z]|$)"), "R"),
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_DEFORM_PREFIX = re.compile(r"^(def|deform|bip\d*|b|bn|jnt|j|bone)[^a-z0-9]", re.IGNORECASE)


def split_name(bone: str) -> tuple[str, str]:
    """(side 'L'/'R'/'', normalised body-part name) of a rig bone name.

    Drops namespaces ("mixamorig:"), deform prefixes ("DEF-") and separators;
    the side comes from tokens such as "Left", ".L", "_l", "L_".
    """
    name = _NAMESPACE.sub("", bone)
    name = _DEFORM_PREFIX.sub("", name)
    spaced = _CAMEL.sub("_", name).lower()
    side = ""
    for pattern, tag in _SIDE_TOKENS:
        if pattern.search(spaced):
            side = tag
            spaced = pattern.sub(r"\1\3", spaced)
            break
    return side, re.sub(r"[^a-z0-9]", "", spaced)


def match_by_name(bones: Iterable[str]) -> dict[str, str]:
    """A bone map found from the rig's bone names alone (joints with no match are left out)."""
    bones = list(bones)
    parts = [split_name(b) for b in bones]
    out: dict[str, str] = {}
    used: set[str] = set()
    for joint in JOINTS:
        part, side = (joint[:-2], joint[-1]) if joint[-2:] in ("_L", "_R") else (joint, "")
        for synonym in _SYNONYMS[part]:
            hit = next((b for b, (s, n) in zip(bones, parts, strict=True) if n == synonym and s == side
                        and b not in used), None)
            if hit is not None:
                out[joint] = hit
                used.add(hit)
                break
    return out


def detect_bone_map(bones: Iterable[str]) -> tuple[str, dict[str, str]]:
    """(preset key or "AUTO", bone map) that maps most of the rig: the best preset, else matching by name."""
    bones = set(bones)
    best_key, best = "AUTO", match_by_name(bones)
    for key, preset in PRESETS.items():
        found = {j: b for j, b in preset.items() if b in bones}
        if len(found) > len(best) or (len(found) == len(best) and best_key == "AUTO" and found):
            best_key, best = key, found
    return best_key, best


def preset_map(key: str, bones: Iterable[str]) -> dict[str, str]:
    """The preset `key`'s bone map, restricted to the rig's bones."""
    if key == "AUTO":
        return match_by_name(bones)
    if key not in PRESETS:
        raise RigError(f"unknown bone-map preset {key!r}; known: AUTO, {', '.join(PRESETS)}")
    bones = set(bones)
    return {j: b for j, b in PRESETS[key].items() if b in bones}


def check_bone_map(bone_map: Mapping[str, str], bones: Iterable[str], rig: str = "the rig") -> dict[str, str]:
    """The map without empty entries; RigError naming every missing required joint or unknown bone."""
    bones = set(bones)
    clean = {j: b for j, b in bone_map.items() if b}
    unknown = sorted(j for j in clean if j not in JOINTS)
    if unknown:
        raise RigError(f"bone map names joints GenAnim does not have: {', '.join(unknown)}")
    absent = sorted(f"{b} (for {j})" for j, b in clean.items() if b not in bones)
    if absent:
        raise RigError(f"{rig} has no bones named {', '.join(absent)}")
    missing = [j for j in REQUIRED if j not in clean]
    if missing:
        raise RigError(
            f"{rig} cannot be mapped: no bone found for {', '.join(missing)}. "
            "Pick them in the GenAnim bone mapping list."
        )
    doubled = sorted({b for b in clean.values() if list(clean.values()).count(b) > 1})
    if doubled:
        raise RigError(f"bones mapped to more than one joint: {', '.join(doubled)}")
    return clean

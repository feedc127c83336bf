"""Retargeting maths (core.retarget) on rigs described in numpy, and bone-map presets and matching."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import RigError
from core.motion.clip import Clip, load_clip
from core.motion.ik import two_bone_ik
from core.motion.kinematics import forward_kinematics
from core.retarget.armature_space import Y_UP_TO_Z_UP, clip_to_pose_basis, pose_basis_to_clip, to_armature_space
from core.retarget.bone_map import JOINTS, PRESETS, REQUIRED, check_bone_map, detect_bone_map, match_by_name
from core.retarget.feet import carried, foot_contacts
from core.retarget.reference import default_skeleton, make_reference, reference_clip, reference_pose
from core.retarget.retarget import leg_length, retarget

sys.path.insert(0, str(Path(__file__).parent / "blender"))
from rigs import rig_matrices, tpose_clip  # noqa: E402

from core.retarget.standard_rigs import mixamo_arrays, rest_matrices  # noqa: E402

WALK = "dataset-2_walk_normal_001.bvh"
MIXAMO = {j: b.removeprefix("mixamorig:") for j, b in PRESETS["MIXAMO"].items()}


def _mixamo(a_pose: bool = False, roll_seed: int = 0):
    return mixamo_arrays(a_pose, roll_seed)


def _rig_fk(pose, names, parents, rest) -> np.ndarray:
    """(F, B, 3) bone heads over time, composed as Blender does (unkeyed bones at rest)."""
    return rig_matrices(pose, names, parents, rest)[..., :3, 3]


@pytest.fixture(scope="module")
def walk() -> Clip:
    from conftest import SAMPLES

    return load_clip(SAMPLES / WALK)


def test_own_skeleton_in_reference_pose_is_reproduced_exactly(walk: Clip):
    """A rig that is the source skeleton standing in its reference pose, any bone rolls: joints match FK
    (rotation deltas alone; planting the feet is tested below)."""
    skel = walk.skeleton
    ref = reference_pose(skel)
    pos = to_armature_space(forward_kinematics(skel.parents, *ref)[1])
    keep = [j for j, n in enumerate(skel.names) if n in JOINTS]
    names = [skel.names[j] for j in keep]
    parents = [keep.index(skel.parents[j]) if skel.parents[j] in keep else -1 for j in keep]
    tails = pos[keep] + np.random.default_rng(1).normal(size=(len(keep), 3)) * 0.05
    rest = rest_matrices(pos[keep], tails, np.random.default_rng(2).uniform(-3, 3, len(keep)))
    pose = retarget(walk, ref, {j: j for j in names}, names, parents, rest, plant_feet=False)
    got = _rig_fk(pose, names, parents, rest)
    want = to_armature_space(walk.global_positions()[:, keep])
    assert np.abs(got - want).max() < 1e-6
    assert pose.moving.tolist() == [n == "Hips" for n in pose.bones]


@pytest.mark.parametrize("a_pose", [False, True])
def test_limbs_point_where_the_source_limbs_point(walk: Clip, a_pose: bool):
    names, parents, rest = _mixamo(a_pose)
    pose = retarget(walk, reference_pose(walk.skeleton), MIXAMO, names, parents, rest, plant_feet=False)
    assert set(pose.bones) == set(MIXAMO.values())
    got = _rig_fk(pose, names, parents, rest)
    src = to_armature_space(walk.global_positions())
    sn = walk.skeleton.names
    for a, b in [("UpperArm_L", "LowerArm_L"), ("LowerArm_R", "Hand_R"), ("UpperLeg_L", "LowerLeg_L"),
                 ("LowerLeg_R", "Foot_R"), ("Neck", "Head")]:
        d_rig = got[:, names.index(MIXAMO[b])] - got[:, names.index(MIXAMO[a])]
        d_src = src[:, sn.index(b)] - src[:, sn.index(a)]
        cos = np.sum(d_rig * d_src, -1) / np.linalg.norm(d_rig, axis=-1) / np.linalg.norm(d_src, axis=-1)
        assert cos.min() > 0.9999, (a, b, cos.min())


def test_a_pose_and_t_pose_rigs_move_identically(walk: Clip):
    """Rest-pose differences (arm angle, bone rolls) are absorbed: the same body moves the same way."""
    t_names, t_parents, t_rest = _mixamo(a_pose=False, roll_seed=0)
    a_names, a_parents, a_rest = _mixamo(a_pose=True, roll_seed=1)
    ref = reference_pose(walk.skeleton)
    t_pos = _rig_fk(retarget(walk, ref, MIXAMO, t_names, t_parents, t_rest), t_names, t_parents, t_rest)
    a_pos = _rig_fk(retarget(walk, ref, MIXAMO, a_names, a_parents, a_rest), a_names, a_parents, a_rest)
    assert np.abs(t_pos - a_pos).max() < 1e-6


def test_feet_keep_contact_heights_and_root_travel_scales_with_legs(walk: Clip):
    names, parents, rest = _mixamo()
    pose = retarget(walk, reference_pose(walk.skeleton), MIXAMO, names, parents, rest)
    got = _rig_fk(pose, names, parents, rest)
    src = to_armature_space(walk.global_positions())
    sn = walk.skeleton.names
    for side in "LR":
        ankle = src[:, sn.index(f"Foot_{side}")]
        speed = np.r_[np.linalg.norm(np.diff(ankle, axis=0), axis=-1) * walk.fps, np.inf]
        contact = (ankle[:, 2] < ankle[:, 2].min() + 0.01) & (speed < 0.2)
        assert contact.sum() > 20  # the walk has stance phases to check
        rig_foot = names.index(MIXAMO[f"Foot_{side}"])
        heights = got[contact, rig_foot, 2]
        assert np.abs(heights - rest[rig_foot, 2, 3]).max() < 0.015  # within 1.5 cm of the rest ankle height
        toes = got[:, names.index(MIXAMO[f"Toes_{side}"]), 2]
        assert toes.min() > -0.01  # never more than 1 cm into the floor
    # Leg length ratio: rig thigh + shin over source thigh + shin.
    heads = rest[:, :3, 3]
    rig_leg = sum(np.linalg.norm(heads[names.index(MIXAMO[b])] - heads[names.index(MIXAMO[a])])
                  for a, b in [("UpperLeg_L", "LowerLeg_L"), ("LowerLeg_L", "Foot_L")])
    src_leg = np.linalg.norm(walk.skeleton.offsets[sn.index("LowerLeg_L")]) + np.linalg.norm(
        walk.skeleton.offsets[sn.index("Foot_L")])
    travel_rig = got[-1, names.index(MIXAMO["Hips"]), :2] - got[0, names.index(MIXAMO["Hips"]), :2]
    travel_src = src[-1, sn.index("Hips"), :2] - src[0, sn.index("Hips"), :2]
    np.testing.assert_allclose(travel_rig, travel_src * rig_leg / (0.01 * src_leg), rtol=1e-6, atol=1e-9)  # src in m


def test_planted_feet_stand_on_the_floor_without_sliding(walk: Clip):
    """On a rig whose shins are longer than the source's, the rotation deltas alone let standing feet float,
    sink and slide. Planted: while the source's foot stands, the rig's lowest sole point (rest ankle and toe
    joints dropped to the floor) is on the floor, the ankle travels only as the source's (scaled), and the
    foot keeps its turn."""
    names, parents, rest = _mixamo()
    for side in "LR":  # knees 10 cm higher: shorter thighs, longer shins
        rest[names.index(MIXAMO[f"LowerLeg_{side}"]), 2, 3] += 0.1
    ref = reference_pose(walk.skeleton)
    loose = rig_matrices(retarget(walk, ref, MIXAMO, names, parents, rest, plant_feet=False), names, parents, rest)
    planted = rig_matrices(retarget(walk, ref, MIXAMO, names, parents, rest), names, parents, rest)
    src = to_armature_space(walk.global_positions())
    sn = walk.skeleton.names
    src_leg = leg_length(dict(zip(sn, to_armature_space(forward_kinematics(walk.skeleton.parents, *ref)[1]),
                                  strict=True)))
    hips = names.index(MIXAMO["Hips"])
    scale = np.linalg.norm(planted[-1, hips, :2] - planted[0, hips, :2]) / np.linalg.norm(
        src[-1, sn.index("Hips"), :2] - src[0, sn.index("Hips"), :2])
    for side in "LR":
        foot, toes = names.index(MIXAMO[f"Foot_{side}"]), names.index(MIXAMO[f"Toes_{side}"])
        stand = src[:, [sn.index(f"Foot_{side}"), sn.index(f"Toes_{side}")]]
        contact = foot_contacts(stand[..., 2], stand[..., :2], walk.fps, src_leg)
        runs = np.split(np.flatnonzero(contact), np.flatnonzero(np.diff(np.flatnonzero(contact)) > 1) + 1)
        assert len(runs) >= 8 and contact.sum() > 100  # the walk's steps
        sole = rest[[foot, toes], :3, 3] * [1, 1, 0]
        height = {k: carried(m[:, foot], rest[foot], sole)[contact, :, 2].min(1) for k, m in
                  (("loose", loose), ("planted", planted))}
        assert np.abs(height["planted"]).max() < 1e-6 < 0.01 < np.abs(height["loose"]).max()
        for run in runs:
            slide = {k: np.ptp(m[run, foot, :2, 3] - scale * stand[run, 0, :2], axis=0).max() for k, m in
                     (("loose", loose), ("planted", planted))}
            assert slide["planted"] < 1e-5 and (len(run) < 5 or slide["loose"] > 0.003), slide
        np.testing.assert_allclose(planted[:, foot, :3, :3], loose[:, foot, :3, :3], atol=1e-9)
    legs = [names.index(MIXAMO[j]) for j in ("UpperLeg_L", "LowerLeg_L", "Foot_L")]
    lengths = np.linalg.norm(np.diff(planted[:, legs][..., :3, 3], axis=1), axis=-1)
    np.testing.assert_allclose(lengths, np.broadcast_to(lengths[0], lengths.shape), atol=1e-9)  # rigid bones


def test_two_bone_ik_reaches_its_targets():
    rng = np.random.default_rng(0)
    n = 200
    hip = rng.normal(size=(n, 3))
    thigh = rng.normal(size=(n, 3))
    shin = thigh + rng.normal(size=(n, 3)) * 0.5
    thigh *= 0.45 / np.linalg.norm(thigh, axis=1, keepdims=True)
    shin *= 0.4 / np.linalg.norm(shin, axis=1, keepdims=True)
    shin[0] = thigh[0] * 0.4 / 0.45  # a straight leg bends in its neighbour's plane
    way = rng.normal(size=(n, 3))
    way /= np.linalg.norm(way, axis=1, keepdims=True)
    dist = rng.uniform(0.1, 1.2, n)  # the leg reaches 0.85
    swing, knee_turn = two_bone_ik(hip, hip + thigh, hip + thigh + shin, hip + way * dist[:, None])
    for r in (swing, knee_turn):
        np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-9)
        np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)
    ankle = hip + np.einsum("nij,nj->ni", swing, thigh + np.einsum("nij,nj->ni", knee_turn, shin))
    reach = np.minimum(dist, 0.85)[:, None] * way  # out of reach the leg points straight at the target
    assert np.abs(ankle - hip - reach).max() < 1e-6
    assert (dist > 0.85).sum() > 20 and (dist < 0.85).sum() > 100


def test_foot_contacts_are_the_slow_low_frames():
    fps, leg = 30.0, 85.0  # cm
    t = np.arange(90) / fps
    height = np.where((t > 1) & (t < 2), 8 + 10 * np.sin(np.pi * (t - 1)), 8.0)  # a step between two stances
    forward = np.clip(t - 1, 0, 1) * 70  # 70 cm/s while in the air
    contact = foot_contacts(height[:, None], np.stack([forward, 0 * t], -1)[:, None], fps, leg)
    assert contact[:29].all() and contact[62:].all()
    assert not contact[33:58].any()


def test_unmappable_rig_and_bad_inputs_raise_rig_error(walk: Clip):
    names, parents, rest = _mixamo()
    with pytest.raises(RigError, match="rest matrices"):
        retarget(walk, reference_pose(walk.skeleton), MIXAMO, names, parents, rest[:3])
    with pytest.raises(RigError, match="no joints named Tail"):
        retarget(walk, reference_pose(walk.skeleton), {**MIXAMO, "Tail": "Head"}, names, parents, rest)


# --- bone maps ---------------------------------------------------------------


def _preset_names(key: str) -> list[str]:
    return list(PRESETS[key].values())


@pytest.mark.parametrize("key", ["MIXAMO", "RIGIFY", "MAKEHUMAN", "UNREAL", "GENANIM"])
def test_presets_are_detected(key: str):
    extras = ["root", "spine_02", "spine.002", "mixamorig:Spine1", "face", "thumb.01.L"]
    found_key, found = detect_bone_map(_preset_names(key) + extras)
    assert found_key == key
    assert found == PRESETS[key]


def test_matching_by_name_covers_common_conventions():
    generic = ["Hips", "Spine", "Chest", "Neck", "Head"] + [
        f"{s}_{part}" for s in "LR" for part in ("Clavicle", "UpperArm", "Forearm", "Hand", "Thigh", "Calf", "Foot",
                                                 "Toe")]
    found = match_by_name(generic)
    assert set(found) == set(JOINTS)
    assert found["LowerArm_R"] == "R_Forearm" and found["Shoulder_L"] == "L_Clavicle"
    camel = match_by_name(["DEF-pelvis", "DEF-LeftUpperLeg", "DEF-LeftKnee", "DEF-RightShin", "Bip01 R Foot"])
    assert camel == {"Hips": "DEF-pelvis", "UpperLeg_L": "DEF-LeftUpperLeg", "LowerLeg_L": "DEF-LeftKnee",
                     "LowerLeg_R": "DEF-RightShin", "Foot_R": "Bip01 R Foot"}


def test_check_bone_map_names_what_is_missing():
    bones = _preset_names("MIXAMO")
    partial = {j: b for j, b in PRESETS["MIXAMO"].items() if j not in ("Hips", "Hand_R")}
    with pytest.raises(RigError, match=r"cannot be mapped: no bone found for Hips, Hand_R"):
        check_bone_map(partial, bones, "Rig 'Robot'")
    with pytest.raises(RigError, match=r"no bones named Nope \(for Head\)"):
        check_bone_map({**PRESETS["MIXAMO"], "Head": "Nope"}, bones)
    with pytest.raises(RigError, match="more than one joint"):
        check_bone_map({**PRESETS["MIXAMO"], "Neck": "mixamorig:Head"}, bones)
    assert check_bone_map({**PRESETS["MIXAMO"], "Toes_L": ""}, bones).keys() == set(JOINTS) - {"Toes_L"}
    assert set(REQUIRED) <= set(JOINTS)


# --- reference pose and armature-space round trip ------------------------------


def test_reference_pose_stands_facing_forward():
    ref = reference_clip()
    pos = ref.global_positions()[0]
    names = ref.skeleton.names
    assert ref.num_frames == 1 and default_skeleton() is ref.skeleton
    assert pos[names.index("Head"), 1] > pos[names.index("Hips"), 1] > pos[names.index("Foot_L"), 1] > 0
    assert abs(pos[names.index("Hips"), 0]) < 1e-6 and abs(pos[names.index("Hips"), 2]) < 1e-6
    toes_ahead = pos[names.index("Toes_L"), 2] - pos[names.index("Foot_L"), 2]
    assert toes_ahead > 5  # the feet point along +Z, the front
    assert pos[names.index("Hand_L"), 0] > 0 > pos[names.index("Hand_R"), 0]  # left is +X
    # Remaking it from its own frame is a fixed point.
    again = make_reference(ref, 0)
    np.testing.assert_allclose(again.global_positions(), ref.global_positions(), atol=1e-4)  # the file has 6 decimals


def test_pose_basis_round_trip_in_a_posed_rest(walk: Clip):
    skel = walk.skeleton
    rot, trans = reference_pose(skel)
    g_rot, g_pos = forward_kinematics(skel.parents, rot, trans)
    rest = np.tile(np.eye(4), (skel.num_joints, 1, 1))
    rest[:, :3, :3] = Y_UP_TO_Z_UP @ g_rot  # any orientation per bone works; this one is easy to state
    rest[:, :3, 3] = to_armature_space(g_pos)
    clip = walk.slice(0, 30)
    loc, quat = clip_to_pose_basis(clip, rest, rest_rotations=g_rot)
    back = pose_basis_to_clip(skel, rest, loc, quat, clip.fps, rest_rotations=g_rot)
    np.testing.assert_allclose(back.global_positions(), clip.global_positions(), atol=1e-6)
    np.testing.assert_allclose(np.abs(np.sum(back.rotations * clip.rotations, -1)), 1.0, atol=1e-9)


def test_clips_of_other_skeletons_are_matched_by_name(walk: Clip):
    """A T-pose BVH skeleton with other names (Mixamo's, unprefixed) drives a rig like GenAnim's own clip."""
    other = tpose_clip(walk)
    assert "Hips" in other.skeleton.names and "UpperArm_L" not in other.skeleton.names
    source_map = check_bone_map(match_by_name(other.skeleton.names), other.skeleton.names)
    assert source_map["UpperArm_L"] == "LeftArm" and len(source_map) == 21
    names, parents, rest = _mixamo(a_pose=True, roll_seed=3)
    via_other = _rig_fk(retarget(other, reference_pose(other.skeleton, other), MIXAMO, names, parents, rest,
                                 source_map=source_map), names, parents, rest)
    direct = _rig_fk(retarget(walk, reference_pose(walk.skeleton), MIXAMO, names, parents, rest),
                     names, parents, rest)
    for a, b in [("UpperArm_L", "LowerArm_L"), ("LowerArm_R", "Hand_R"), ("UpperLeg_L", "LowerLeg_L"),
                 ("LowerLeg_R", "Foot_R")]:
        d1 = via_other[:, names.index(MIXAMO[b])] - via_other[:, names.index(MIXAMO[a])]
        d2 = direct[:, names.index(MIXAMO[b])] - direct[:, names.index(MIXAMO[a])]
        cos = np.sum(d1 * d2, -1) / np.linalg.norm(d1, axis=-1) / np.linalg.norm(d2, axis=-1)
        assert cos.min() > 0.999, (a, b, cos.min())
    hips = names.index(MIXAMO["Hips"])
    assert np.abs(via_other[:, hips] - direct[:, hips]).max() < 0.01  # same path within 1 cm


def test_pose_bone_rotation_modes_convert_both_ways():
    """Every Blender rotation mode's values -> quaternion -> values again, continuous along time; Euler
    mode "XZY" turns about X first, then Z, then Y, with its values the (x, y, z) angles."""
    from core.motion.rotations import axis_angle_matrix, quat_to_matrix
    from core.retarget.armature_space import EULER_MODES, ROTATION_PROPERTY, quat_to_rotation, rotation_to_quat

    t = np.linspace(0, 4 * np.pi, 200)
    q = np.stack([np.cos(t / 2), np.sin(t / 2) * 0.6, np.sin(t / 2) * 0.0, np.sin(t / 2) * 0.8], 1)  # 2 turns
    for mode in (*EULER_MODES, "AXIS_ANGLE", "QUATERNION"):
        values = quat_to_rotation(q, mode)
        assert values.shape == (200, ROTATION_PROPERTY[mode][1])
        np.testing.assert_allclose(quat_to_matrix(rotation_to_quat(values, mode)), quat_to_matrix(q), atol=1e-12)
        if mode in EULER_MODES:
            assert np.abs(np.diff(values, axis=0)).max() < 0.5  # unwrapped: no jumps of 2 pi between frames
    x, y, z = 0.3, -0.7, 1.1
    want = axis_angle_matrix(1, y) @ axis_angle_matrix(2, z) @ axis_angle_matrix(0, x)
    np.testing.assert_allclose(quat_to_matrix(rotation_to_quat(np.array([[x, y, z]]), "XZY"))[0], want, atol=1e-12)

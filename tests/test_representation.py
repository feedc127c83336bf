"""Encode/decode of the learning representation gives back the clip's global joint positions."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import MotionDataError
from core.motion.clip import Clip, load_clip
from core.motion.representation import MotionRepresentation, encode
from core.motion.rotations import axis_angle_matrix, matrix_to_quat, quat_mul
from core.motion.skeleton import Skeleton

TOL_CM = 0.01  # 0.1 mm


def _roundtrip_error(clip: Clip) -> float:
    rep = MotionRepresentation(clip.skeleton)
    back = rep.decode(rep.encode(clip), clip.fps, rep.start_of(clip))
    # joint_Root (above the pelvis) is static in the data; compare every joint anyway.
    return float(np.abs(back.global_positions() - clip.global_positions()).max())


def test_layout_and_shapes(sample_paths):
    clip = load_clip(sample_paths[0])
    rep = MotionRepresentation(clip.skeleton)
    feats = rep.encode(clip)
    assert feats.shape == (clip.num_frames, 4 + 6 * 22 + 4)
    assert clip.skeleton.names[rep.root] == "Hips"
    assert [clip.skeleton.names[j] for j in rep.feet] == ["Foot_L", "Toes_L", "Foot_R", "Toes_R"]
    assert np.isfinite(feats).all()
    assert set(np.unique(feats[:, rep.layout.contacts])) <= {0.0, 1.0}


def test_encode_decode_every_sample(sample_paths):
    for path in sample_paths:
        assert _roundtrip_error(load_clip(path)) < TOL_CM, path.name


def test_long_clip_has_no_drift(sample_paths):
    """A 30-second clip, with the character turning, decodes without drift."""
    clip = load_clip(next(p for p in sample_paths if "walk-turn-left" in p.name))
    reps = int(np.ceil(30 * clip.fps / clip.num_frames))
    long = Clip(
        clip.skeleton, np.concatenate([clip.rotations] * reps), np.concatenate([clip.translations] * reps), clip.fps
    )
    assert long.seconds >= 30
    assert _roundtrip_error(long) < TOL_CM


def test_features_do_not_depend_on_position_or_heading(sample_paths):
    clip = load_clip(next(p for p in sample_paths if "walk_normal" in p.name))
    turned = Clip(clip.skeleton, clip.rotations.copy(), clip.translations.copy(), clip.fps)
    spin = axis_angle_matrix(1, np.array(1.2))
    hips = 1
    turned.rotations[:, hips] = quat_mul(matrix_to_quat(spin), clip.rotations[:, hips])
    turned.translations[:, hips] = clip.translations[:, hips] @ spin.T + np.array([300.0, 0.0, -50.0])
    a, b = encode(clip), encode(turned)
    rep = MotionRepresentation(clip.skeleton)
    no_contacts = slice(0, rep.layout.contacts.start)
    np.testing.assert_allclose(a[:, no_contacts], b[:, no_contacts], atol=1e-9)
    start = rep.start_of(turned)
    assert start[2] == pytest.approx(rep.start_of(clip)[2] + 1.2, abs=1e-9)


def test_walking_moves_forward_and_contacts_alternate(sample_paths):
    clip = load_clip(next(p for p in sample_paths if "walk_normal" in p.name))
    rep = MotionRepresentation(clip.skeleton)
    feats = rep.encode(clip)
    forward = feats[:, rep.layout.root_vel][:, 1]
    assert forward.mean() * clip.fps > 50  # walking: > 0.5 m/s along the heading
    contacts = feats[:, rep.layout.contacts]
    left, right = contacts[:, 0], contacts[:, 2]  # Foot_L, Foot_R
    assert 0.2 < left.mean() < 0.9 and 0.2 < right.mean() < 0.9
    assert ((left == 0) & (right == 0)).mean() < 0.1  # walking has almost no flight phase


def _legs(left: str, right: str, foot: str = "Foot") -> Skeleton:
    """Pelvis with a spine and two two-bone legs; the left leg at +x (the representation's left)."""
    names = ("Pelvis", "Spine", f"{left}Thigh", f"{left}{foot}", f"{right}Thigh", f"{right}{foot}")
    offsets = [[0, 90, 0], [0, 10, 0], [10, -5, 0], [0, -80, 0], [-10, -5, 0], [0, -80, 0]]
    return Skeleton(names, np.array([-1, 0, 0, 2, 0, 4]), np.array(offsets, float))


@pytest.mark.parametrize("left,right", [("Bip01 L ", "Bip01 R "), ("Bip01_L_", "Bip01_R_"), ("L", "R"),
                                        ("mixamorig:Left", "mixamorig:Right")])
def test_side_naming_conventions_pair_joints_and_find_the_left(left, right):
    skel = _legs(left, right)
    assert list(skel.mirror_indices()) == [0, 1, 4, 5, 2, 3]
    rep = MotionRepresentation(skel)
    assert rep.across[0] > 0.99  # left is +x: the left thigh was recognised as left, not the first child
    swapped = _legs(right, left)  # the right leg now comes first among the pelvis's children
    assert MotionRepresentation(swapped).across[0] < -0.99


def test_given_pairs_and_feet_replace_what_the_names_say():
    skel = _legs("A", "B", foot="Sole")  # no convention pairs A/B, no joint named foot, toe or ankle
    assert list(skel.mirror_indices()) == list(range(6)) and MotionRepresentation(skel).feet == []
    noted = skel.annotated([["BThigh", "AThigh"], ["BSole", "ASole"]], ["ASole", "BSole"])  # B is the left
    assert list(noted.mirror_indices()) == [0, 1, 4, 5, 2, 3]
    rep = MotionRepresentation(noted)
    assert rep.feet == [3, 5] and rep.across[0] < -0.99
    assert Skeleton.from_json(noted.to_json()).mirror_pairs == noted.mirror_pairs  # weights keep them
    with pytest.raises(MotionDataError, match="unknown joint 'CSole'"):
        skel.annotated(foot_joints=["CSole"])

"""Hinge joints found in recorded rotations, and leg IK that bends a knee about its hinge."""

from __future__ import annotations

import numpy as np
from conftest import SAMPLES

from core.motion.hinges import find_hinges, hinges_from_json, hinges_to_json
from core.motion.ik import two_bone_ik
from core.motion.rotations import normalize, rotation_about
from core.training.train import training_hinges


def _rotations(angles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(F, 3, 3, 3): a ball joint, a hinge about its own axis a after a fixed turn, a joint held still."""
    n = len(angles)
    ball = rotation_about(normalize(rng.normal(size=(n, 3))), rng.uniform(0, 1, n))
    fixed = rotation_about(normalize(np.array([[1.0, 2.0, 0.5]])), np.array([0.7]))[0]
    axis = normalize(np.array([0.2, -1.0, 0.1]))
    hinge = fixed @ rotation_about(np.broadcast_to(axis, (n, 3)), angles)
    still = np.broadcast_to(fixed, (n, 3, 3))
    return np.stack([ball, hinge, still], 1), fixed @ axis


def test_find_hinges_finds_the_one_axis_joint_and_signs_it_by_its_turns():
    rng = np.random.default_rng(0)
    flexion = rng.uniform(-0.2, 1.5, 500)  # mostly positive, as a knee bends
    rotations, image = _rotations(flexion, rng)
    hinges = find_hinges(rotations)
    assert list(hinges) == [1]  # not the ball joint, not the joint that never moves
    np.testing.assert_allclose(hinges[1], image, atol=1e-9)
    np.testing.assert_allclose(find_hinges(_rotations(-flexion, rng)[0])[1], -image, atol=1e-9)
    wobbly = rotations.copy()
    wobbly[:, 1] = rotation_about(normalize(rng.normal(size=(500, 3))), np.full(500, 0.1)) @ wobbly[:, 1]
    assert 1 not in find_hinges(wobbly)  # 0.1 rad off its axis is not a hinge
    names = ("a", "b", "c")
    back = hinges_from_json(hinges_to_json(hinges, names), names)
    np.testing.assert_allclose(back[1], hinges[1])


def test_the_sample_clips_knees_and_toes_are_hinges():
    from core.data.corpus import load_corpus

    names = load_corpus(str(SAMPLES)).skeleton.names
    assert sorted(names[j] for j in training_hinges(str(SAMPLES))) == ["LowerLeg_L", "LowerLeg_R", "Toes_L", "Toes_R"]


def test_leg_ik_bends_a_nearly_straight_knee_about_its_hinge():
    # A leg whose rest pose tilts the shin 0.002 rad sideways, bent 0.001 rad about the knee's axis
    # (z): the plane of thigh and shin is mostly the tilt, and bending in it throws the knee sideways.
    hinge = np.array([[0.0, 0.0, 1.0]])
    hip, thigh = np.zeros((1, 3)), np.array([[0.0, -0.45, 0.0]])
    shin = rotation_about(hinge, np.array([0.001]))[0] @ rotation_about(np.array([[1.0, 0, 0]]), np.array([0.002]))[0]
    shin = (shin @ np.array([0.0, -0.4, 0.0]))[None]
    target = np.array([[0.1, -0.7, 0.0]])  # nearer than the leg's length: the knee must bend by about 1.2 rad
    for axis, sideways in ((hinge, False), (None, True)):
        swing, knee_turn = two_bone_ik(hip, hip + thigh, hip + thigh + shin, target, hinge=axis)
        new_thigh = swing[0] @ thigh[0]
        new_shin = swing[0] @ knee_turn[0] @ shin[0]
        np.testing.assert_allclose(hip[0] + new_thigh + new_shin, target[0], atol=1e-6)  # reached either way
        bend_axis = normalize(np.cross(new_thigh, new_shin))
        knee_axis = swing[0] @ hinge[0]  # where the knee's hinge went with the leg
        assert (abs(bend_axis @ knee_axis) < 0.99) == sideways
        if not sideways:
            assert bend_axis @ knee_axis > 0.9999  # bent about its axis, forwards (a positive turn)

"""Motion diffusion model and sampler: shapes, constraints, seeds, windows, foot cleanup."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SAMPLES

from core.errors import GenAnimError
from core.evaluation.metrics import fastest_joint_turn
from core.models.cleanup import (
    MAX_AIM,
    continuous_rotations,
    fill_pops,
    ground_contacts,
    leg_ik,
    pin_stance_feet,
    plant_feet,
    smooth_time,
)
from core.models.diffusion import Denoiser, DenoiserConfig, Diffusion, TorchDenoiser
from core.models.sampler import blend_weights, cosine_alpha_bar, ddim_timesteps, sample, window_starts
from core.motion.clip import load_clip
from core.motion.ik import runs
from core.motion.representation import PLANE, representation_for
from core.motion.rotations import matrix_to_quat, quat_angle, quat_mul, rotation_about
from core.runtime.denoiser import NumpyDenoiser


def tiny(**kw) -> Diffusion:
    torch.manual_seed(0)
    cfg = DenoiserConfig(dim=12, num_actions=3, num_styles=2, width=32, layers=1, heads=2, ff=64, timesteps=50, **kw)
    model = Denoiser(cfg).eval()
    torch.nn.init.normal_(model.refine.weight, std=0.05)  # so the border convolution takes part
    return Diffusion(model)


def labels(b: int, a: int = 0, s: int = 1):
    return torch.full((b,), a), torch.full((b,), s)


def run(diff: Diffusion, shape: tuple, action: int = 0, style: int = 1, seed: int = 0, numpy: bool = False, **kw):
    """A sample of the tiny network by the sampler (with its numpy twin where `numpy`)."""
    net = (NumpyDenoiser({k: v.numpy() for k, v in diff.model.state_dict().items()}, diff.model.cfg.to_dict())
           if numpy else TorchDenoiser(diff.model))
    noise = np.random.default_rng(seed).standard_normal(shape, np.float32)
    return sample(net, diff.model.cfg.timesteps, noise, np.full(shape[0], action), np.full(shape[0], style),
                  rng=np.random.default_rng(seed), **kw)


@pytest.mark.parametrize("frame_head", [0, 16])
def test_denoiser_shapes_any_length_and_padding(frame_head):
    diff = tiny(frame_head=frame_head)
    if frame_head:
        torch.nn.init.normal_(diff.model.frame_out.weight, std=0.05)
    for n in (1, 5, 40, 121):
        x = torch.randn(2, n, 12)
        out = diff.model(x, torch.tensor([3, 7]), *labels(2), x, torch.zeros_like(x))
        assert out.shape == (2, n, 12)
    # the valid frames of a padded batch item get what the clip alone (as sampling runs it) gets
    x = torch.randn(1, 16, 12)
    valid = torch.zeros(1, 16, dtype=torch.bool)
    valid[:, :8] = True
    x[:, 8:] = 100.0
    a = diff.model(x, torch.tensor([3]), *labels(1), x, torch.zeros_like(x), valid)[:, :8]
    x8 = x[:, :8]
    torch.testing.assert_close(a, diff.model(x8, torch.tensor([3]), *labels(1), x8, torch.zeros_like(x8)))


def test_numpy_denoiser_matches_torch():
    """The numpy runtime's forward pass is the torch network's: labels, none-labels, whole-take flag,
    constraints and a length that is no multiple of the patch."""
    diff = tiny(whole_takes=True)
    torch.nn.init.normal_(diff.model.take.weight, std=1.0)
    net = NumpyDenoiser({k: v.numpy() for k, v in diff.model.state_dict().items()}, diff.model.cfg.to_dict())
    rng = np.random.default_rng(0)
    x, known = rng.standard_normal((2, 2, 37, 12), np.float32)
    mask = (rng.random((2, 37, 12)) < 0.3).astype(np.float32)
    args = (np.array([49, 3]), np.array([0, -1]), np.array([1, -1]), known, mask)
    for whole in (None, np.array([True, False])):
        ref = TorchDenoiser(diff.model)(x, *args, whole)
        np.testing.assert_allclose(net(x, *args, whole), ref, atol=1e-5)


def test_frame_head_starts_as_the_token_model_and_runs_alike_in_either_runtime():
    """The frame head's output layer starts at zero (the token model's result, whatever its other weights);
    once it has weights, it changes the result per frame and numpy computes what torch does."""
    base, diff = tiny(), tiny(frame_head=16)
    state = diff.model.state_dict()
    diff.model.load_state_dict({**state, **base.model.state_dict()})
    rng = np.random.default_rng(0)
    x, known = rng.standard_normal((2, 2, 37, 12), np.float32)
    mask = (rng.random((2, 37, 12)) < 0.3).astype(np.float32)
    args = (np.array([49, 3]), np.array([0, -1]), np.array([1, -1]), known, mask, None)
    np.testing.assert_allclose(TorchDenoiser(diff.model)(x, *args), TorchDenoiser(base.model)(x, *args), atol=1e-6)
    torch.nn.init.normal_(diff.model.frame_out.weight, std=0.05)
    ref = TorchDenoiser(diff.model)(x, *args)
    assert (np.abs(ref - TorchDenoiser(base.model)(x, *args)).max(axis=(0, 2)) > 1e-4).all()  # every frame
    net = NumpyDenoiser({k: v.numpy() for k, v in diff.model.state_dict().items()}, diff.model.cfg.to_dict())
    np.testing.assert_allclose(net(x, *args), ref, atol=1e-5)


def test_self_conditioned_denoiser_reads_the_previous_estimate_in_either_runtime():
    """A self-conditioned network's previous-estimate input changes its result, none means zeros, the numpy
    runtime computes what torch does, and the sampler feeds every step the estimate before it."""
    diff = tiny(self_condition=True)
    net = NumpyDenoiser({k: v.numpy() for k, v in diff.model.state_dict().items()}, diff.model.cfg.to_dict())
    rng = np.random.default_rng(0)
    x, known, prev = rng.standard_normal((3, 2, 37, 12), np.float32)
    mask = (rng.random((2, 37, 12)) < 0.3).astype(np.float32)
    args = (np.array([49, 3]), np.array([0, -1]), np.array([1, -1]), known, mask, None)
    ref = TorchDenoiser(diff.model)(x, *args, prev)
    np.testing.assert_allclose(net(x, *args, prev), ref, atol=1e-5)
    np.testing.assert_allclose(net(x, *args), TorchDenoiser(diff.model)(x, *args, np.zeros_like(prev)), atol=1e-5)
    assert not np.allclose(net(x, *args), ref, atol=1e-3)
    seen = []
    spy = lambda *a: seen.append(a[-1]) or net(*a)  # noqa: E731
    noise = rng.standard_normal((1, 20, 12), np.float32)
    sample(spy, 50, noise, np.zeros(1, int), np.ones(1, int), steps=4, guidance=1.0)
    assert seen[0] is None and all(p is not None for p in seen[1:]) and len(seen) == 4
    shape = (1, 20, 12)
    np.testing.assert_allclose(run(diff, shape, steps=4, numpy=True), run(diff, shape, steps=4), atol=1e-4)


def test_constraints_hold_exactly_and_steps_and_seeds():
    diff = tiny()
    shape = (2, 50, 12)
    rng = np.random.default_rng(5)
    known = rng.standard_normal(shape).astype(np.float32)
    mask = np.zeros(shape, np.float32)
    mask[:, :10] = 1  # context frames
    mask[:, 30, :4] = 1  # a root-trajectory entry
    kw = {"known": known, "mask": mask, "guidance": 2.0, "window": 24, "overlap": 6}
    out = run(diff, shape, steps=5, **kw)
    assert np.array_equal(out[mask > 0], known[mask > 0])
    assert not np.array_equal(out[mask == 0], known[mask == 0])
    assert np.array_equal(out, run(diff, shape, steps=5, **kw))
    assert not np.allclose(out, run(diff, shape, seed=1, steps=5, **kw))
    np.testing.assert_allclose(run(diff, shape, steps=5, numpy=True, **kw), out, atol=1e-4)  # either runtime
    ddpm = run(diff, shape, ddpm=True, **kw)
    assert np.isfinite(ddpm).all() and np.array_equal(ddpm[mask > 0], known[mask > 0])
    calls = []
    run(diff, shape, steps=7, callback=lambda i, n: calls.append((i, n)))
    assert calls[-1] == (7, 7) and len(calls) == 7


def test_guidance_and_null_labels_change_the_result():
    diff = tiny()
    torch.nn.init.normal_(diff.model.action.weight, std=1.0)
    shape = (1, 20, 12)
    cond = run(diff, shape, steps=3, guidance=1.0)
    guided = run(diff, shape, steps=3, guidance=3.0)
    none = run(diff, shape, -1, -1, steps=3, guidance=3.0)
    assert not np.allclose(cond, guided) and not np.allclose(cond, none)


def test_whole_take_flag_conditions_the_denoiser_and_defaults_to_excerpt():
    """With whole_takes, the flag changes the estimate (guided or not); None is an excerpt."""
    diff = tiny(whole_takes=True)
    torch.nn.init.normal_(diff.model.take.weight, std=1.0)
    shape = (2, 20, 12)
    for guidance in (1.0, 2.0):
        excerpt, whole = (run(diff, shape, steps=3, guidance=guidance, whole=np.array([w, w])) for w in (False, True))
        assert np.array_equal(run(diff, shape, steps=3, guidance=guidance), excerpt)
        assert not np.allclose(excerpt, whole)
    assert tiny().model.take is None  # older networks have no flag


def test_windows_cover_and_blend():
    assert window_starts(100, 120, 30) == [0]
    for n in (121, 240, 601):
        s = window_starts(n, 120, 30)
        assert s[0] == 0 and s[-1] == n - 120
        assert all(b - a <= 90 for a, b in zip(s, s[1:], strict=False))
    w = blend_weights(120, 30)
    assert w.min() > 0 and w.max() == 1 and w[0] < w[29] <= w[30]


def contact_slide(clip, contacts, rep, ankles_only: bool = False) -> float:
    """Mean horizontal speed (cm/s) of the foot joints (or the ankles) over frames where they are in contact."""
    k = [i for i, j in enumerate(rep.feet) if not ankles_only or "Foot" in clip.skeleton.names[j]]
    feet = clip.global_positions()[:, [rep.feet[i] for i in k]][..., [0, 2]]  # (F, K, 2)
    speed = np.linalg.norm(np.diff(feet, axis=0), axis=-1) * clip.fps  # (F-1, K)
    held = contacts[1:, k] & contacts[:-1, k]
    return float(speed[held].mean())


def test_pin_stance_feet_removes_slide():
    clip = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    rep = representation_for(clip.skeleton)
    contacts = rep.encode(clip)[:, rep.layout.contacts] > 0.5
    slid = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    slid.translations[:, rep.root, 0] += np.arange(clip.num_frames) * 1.5  # 45 cm/s of skate
    before = contact_slide(slid, contacts, rep)
    after = contact_slide(pin_stance_feet(slid, contacts, rep), contacts, rep)
    assert before > 40 and after < 0.5 * before
    fixed = pin_stance_feet(slid, contacts, rep)
    assert np.array_equal(fixed.rotations, slid.rotations)  # only the root's placement moves


def test_leg_ik_reaches_targets_and_plant_feet_reduces_skating():
    clip = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    rep = representation_for(clip.skeleton)
    hip, knee, ankle = (clip.skeleton.index(n) for n in ("UpperLeg_L", "LowerLeg_L", "Foot_L"))
    before = clip.global_positions()
    frames = np.arange(10, 20)
    target = before[frames, ankle] + np.array([3.0, 2.0, -4.0])
    leg_ik(clip, hip, knee, ankle, frames, target)
    after = clip.global_positions()
    np.testing.assert_allclose(after[frames, ankle], target, atol=1e-6)
    np.testing.assert_array_equal(after[:, :hip], before[:, :hip])  # joints above the leg stay
    # a skating leg (the hip swinging slowly about its real motion), with the true contacts: IK plants it
    # beyond what the root shift can
    noisy = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    contacts = rep.encode(noisy)[:, rep.layout.contacts] > 0.5
    swing = 0.1 * np.sin(np.arange(noisy.num_frames) / 3.0)  # (F,) ~0.5 Hz, +-11 degrees
    q = noisy.rotations[:, hip] + swing[:, None] * np.array([0.0, 0.0, 1.0, 0.0])
    noisy.rotations[:, hip] = q / np.linalg.norm(q, axis=-1, keepdims=True)
    pinned = pin_stance_feet(noisy, contacts, rep)
    planted = plant_feet(pinned, contacts, rep)
    # the ankles are what the IK plants (toes follow them)
    assert contact_slide(planted, contacts, rep, True) < 0.6 * contact_slide(pinned, contacts, rep, True)
    kept = plant_feet(pinned, contacts, rep, span=(30, 60))
    outside = np.r_[0:31, 60 : noisy.num_frames]
    np.testing.assert_array_equal(kept.rotations[outside], pinned.rotations[outside])


def test_plant_feet_keeps_the_swing_of_a_real_stride():
    # Real contacts on a real walk: the pins barely move the stance feet, so the swing either side must
    # keep its own speed (blending swing frames towards the landing spot slowed them to a crawl).
    clip = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    rep = representation_for(clip.skeleton)
    contacts = rep.encode(clip)[:, rep.layout.contacts] > 0.5
    ankle = clip.skeleton.index("Foot_L")
    k = list(rep.feet).index(ankle)
    swing = ~contacts[1:, k] & ~contacts[:-1, k]  # (F-1,) steps with the left foot in the air
    assert swing.sum() > 10
    step = lambda c: np.linalg.norm(np.diff(c.global_positions()[:, ankle, PLANE], axis=0), axis=-1)  # noqa: E731
    before, after = step(clip)[swing], step(plant_feet(clip, contacts, rep))[swing]
    assert np.abs(after - before).max() < 0.15 * before.mean()


def test_plant_feet_holds_a_foot_from_the_frame_before_its_first_flag():
    # A flag at frame t says the step from t-1 into t was slow (the labels' rule): a foot sliding in, the pin
    # stills that step too (holding from the first flagged frame left it as fast as the slide).
    clip = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    rep = representation_for(clip.skeleton)
    contacts = rep.encode(clip)[:, rep.layout.contacts] > 0.5
    hip, ankle = clip.skeleton.index("UpperLeg_L"), clip.skeleton.index("Foot_L")
    swing = 0.1 * np.sin(np.arange(clip.num_frames) / 3.0)  # the hip swinging about its motion: the foot slides
    q = clip.rotations[:, hip] + swing[:, None] * np.array([0.0, 0.0, 1.0, 0.0])
    clip.rotations[:, hip] = q / np.linalg.norm(q, axis=-1, keepdims=True)
    starts = [s for s, _ in runs(contacts[:, list(rep.feet).index(ankle)], bridge=2, shortest=2) if s > 0]
    assert len(starts) >= 5

    def step_in(c) -> float:
        p = c.global_positions()[:, ankle, PLANE]
        return float(np.linalg.norm(p[starts] - p[np.array(starts) - 1], axis=-1).mean())

    assert step_in(plant_feet(clip, contacts, rep)) < 0.8 * step_in(clip)


def test_plant_feet_holds_toes_by_turning_the_foot_at_most_max_aim():
    # A foot rocking about its ankle (+-20 degrees, ~1 Hz) slides its toes where the ankle stands: the toe
    # pins turn the foot back so that the toes stand during their contacts, never by more than MAX_AIM.
    clip = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    rep = representation_for(clip.skeleton)
    contacts = rep.encode(clip)[:, rep.layout.contacts] > 0.5
    foot, toe = clip.skeleton.index("Foot_L"), clip.skeleton.index("Toes_L")
    k = list(rep.feet).index(toe)
    angle = np.radians(20) * np.sin(np.arange(clip.num_frames) / 5)
    held = contacts[1:, k] & contacts[:-1, k]

    def toe_slide(c) -> float:
        return float(np.linalg.norm(np.diff(c.global_positions()[:, toe, PLANE], axis=0), axis=-1)[held].mean())

    real = toe_slide(clip)
    rock = rotation_about(np.tile([0.0, 0.0, 1.0], (clip.num_frames, 1)), angle)  # the toe's bone is along x
    clip.rotations[:, foot] = quat_mul(clip.rotations[:, foot], matrix_to_quat(rock))
    assert toe_slide(clip) > 3 * real
    planted = plant_feet(clip, contacts, rep)
    assert toe_slide(planted) < real  # under the recorded take's own
    turned = quat_angle(planted.rotations[:, foot], clip.rotations[:, foot])  # leg IK leaves the foot's own turn
    assert 0.1 < turned.max() <= MAX_AIM + 1e-9


def test_continuous_rotations_undoes_reversed_columns_and_leaves_real_motion_alone():
    clip = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    rep = representation_for(clip.skeleton)
    feats = rep.encode(clip)
    mean = feats.mean(0)
    np.testing.assert_array_equal(continuous_rotations(feats, rep, mean), feats)  # real motion never reverses
    knee = clip.skeleton.index("LowerLeg_R")
    broken = feats.copy()
    col = rep.layout.rot6d.start + 6 * knee
    broken[20:50, col + 3 : col + 6] *= -1  # the knee's second column reversed: a 180-degree twist
    broken[:30, col : col + 3] *= -1  # and its first column from the start (the reversed stretch comes first)
    assert not np.allclose(rep.decode(broken, clip.fps).rotations[:, knee], clip.rotations[:, knee], atol=1e-3)
    np.testing.assert_allclose(continuous_rotations(broken, rep, mean), feats, atol=1e-12)


def test_fill_pops_redraws_a_snapped_stretch_and_spreads_a_lone_snap():
    clip = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    rot = clip.rotations
    np.testing.assert_array_equal(fill_pops(rot), rot)  # real motion never turns 90 degrees in a frame
    turn = lambda q: fastest_joint_turn(q, clip.fps) / clip.fps  # noqa: E731  (degrees per frame)
    knee, hip = clip.skeleton.index("LowerLeg_R"), clip.skeleton.index("UpperLeg_L")
    flip = np.array([0.0, 1.0, 0.0, 0.0])  # half a turn about x
    broken = rot.copy()
    broken[20:24, knee] = quat_mul(broken[20:24, knee], flip)  # 4 frames snapped away and back
    broken[60:, hip] = quat_mul(broken[60:, hip], flip)  # one snap, never back
    assert turn(broken) > 150
    fixed = fill_pops(broken)
    assert turn(fixed) < 90
    # The snapped stretch is re-drawn between its neighbours; everything away from the snaps stays.
    assert np.max(np.abs(np.sum(fixed[20:24, knee] * rot[20:24, knee], -1))) > 0.95
    away = np.ones(len(rot), bool)
    away[55:65] = False
    np.testing.assert_array_equal(fixed[away][:, hip], broken[away][:, hip])
    np.testing.assert_array_equal(np.delete(fixed, [knee, hip], axis=1), np.delete(rot, [knee, hip], axis=1))


def test_smooth_time_keeps_slow_motion_and_removes_frame_noise():
    ramp = np.linspace(0, 10, 50)[:, None] * np.ones((1, 3))
    np.testing.assert_allclose(smooth_time(ramp, 1.0)[5:-5], ramp[5:-5], atol=1e-9)
    noise = np.random.default_rng(0).normal(size=(200, 3))
    assert np.diff(smooth_time(noise, 1.0), axis=0).std() < 0.3 * np.diff(noise, axis=0).std()
    assert smooth_time(noise, 0) is noise


def test_pruning_keeps_whole_units_and_int8_runs():
    from core.models.optimise import prune_mlp, quantize_int8

    model = Denoiser(DenoiserConfig(dim=12, num_actions=3, num_styles=2, width=32, layers=2, heads=2, ff=64)).eval()
    args = (torch.randn(2, 16, 12), torch.tensor([5, 9]), torch.tensor([0, -1]), torch.tensor([1, -1]),
            torch.zeros(2, 16, 12), torch.zeros(2, 16, 12))
    same, half = prune_mlp(model, 1.0), prune_mlp(model, 0.5)
    with torch.no_grad():
        ref = model(*args)
        torch.testing.assert_close(same(*args), ref)  # keeping every unit changes nothing
        assert half.cfg.ff == 32 and half.encoder.layers[0].linear1.weight.shape == (32, 32)
        assert sum(p.numel() for p in half.parameters()) < sum(p.numel() for p in model.parameters())
        torch.backends.mha.set_fastpath_enabled(False)
        try:
            q = quantize_int8(model)(*args)
        finally:
            torch.backends.mha.set_fastpath_enabled(True)
    assert q.shape == ref.shape and (q - ref).abs().mean() < 0.1 * ref.abs().mean()


def test_ground_contacts_finds_sliding_stance_feet_not_swing_feet():
    clip = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    rep = representation_for(clip.skeleton)
    labels = rep.encode(clip)[:, rep.layout.contacts] > 0.5
    none = np.zeros_like(labels)
    found = ground_contacts(clip, rep, none)
    assert found[labels].mean() > 0.9 and found.mean() < 0.75  # stance frames, and not the swing
    slid = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    slid.translations[:, rep.root, 0] += np.arange(clip.num_frames) * 1.5  # 45 cm/s of skate
    assert (rep.encode(slid)[:, rep.layout.contacts] > 0.5).sum() < 0.6 * labels.sum()  # the labels' rule misses
    assert ground_contacts(slid, rep, none)[labels].mean() > 0.8  # these stance feet still count
    assert ground_contacts(clip, rep, labels | ~found).all()  # the given contacts are kept


def test_reach_root_target_makes_the_decoded_path_end_at_the_target():
    from core.models.root_target import reach_root_target
    from core.motion.representation import ROOT_MOTION

    clip = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    rep = representation_for(clip.skeleton)
    feats = rep.encode(clip)[:31]  # 30 steps
    offset, turn = np.array([40.0, -75.0]), 1.2
    steps = feats[None, :30, ROOT_MOTION]
    moved = reach_root_target(steps, offset, turn)[0]
    feats[:30, ROOT_MOTION] = moved
    out = rep.decode(feats, clip.fps)  # from the origin, heading 0
    g_rot, g_pos = out.global_transforms()
    np.testing.assert_allclose(g_pos[30, rep.root, [0, 2]], offset, atol=1e-6)
    assert abs(rep.heading(g_rot[30, rep.root]) - turn) < 1e-6
    # the same correction for every step: the shape of the motion stays (turn rates differ by a constant)
    np.testing.assert_allclose(np.diff(moved[:, 2] - steps[0, :, 2]), 0.0, atol=1e-9)


def test_ddim_timesteps_run_from_pure_noise_to_clean_denser_at_high_noise():
    for steps in (2, 10, 14, 50):
        ts = ddim_timesteps(1000, steps)
        assert ts[0] == 999 and ts[-1] == 0 and len(ts) == steps
        assert all(a > b for a, b in zip(ts, ts[1:], strict=False))
    gaps = -np.diff(ddim_timesteps(1000, 14))
    assert gaps[0] < gaps[-1] / 3  # the first steps are short: a clip's speed and action are settled there
    ab = cosine_alpha_bar(1000)
    second = ddim_timesteps(1000, 14)[1]
    assert (1 - ab[second]) / ab[second] > 30**2  # the step after pure noise is still mostly noise
    for t, steps in ((1000, 500), (50, 25), (50, 3)):
        ts = ddim_timesteps(t, steps)  # as many distinct steps as asked, up to half the schedule
        assert len(set(ts)) == steps and ts[0] == t - 1 and ts[-1] == 0
    for bad in (1, 501):
        with pytest.raises(GenAnimError, match="steps"):
            ddim_timesteps(1000, bad)


def test_swing_turns_opposite_directions_half_way_round():
    from core.motion.ik import swing

    a = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.6, 0.8, 0.0]])
    b = np.array([[0.0, -3.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    r = swing(a, b)
    assert np.allclose(r @ np.swapaxes(r, 1, 2), np.eye(3), atol=1e-9)  # rotations
    turned = (r @ a[..., None])[..., 0]
    assert np.allclose(turned / np.linalg.norm(turned, axis=-1, keepdims=True), b / np.linalg.norm(b, axis=-1,
                                                                                                  keepdims=True))
    assert np.allclose(r[2], np.eye(3))  # same direction: no turn

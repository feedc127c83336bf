"""The interactive controller on this machine: speed, responsiveness, path following, long-run stability,
transitions, against the real-data reference. Prints a Markdown table; --card writes it into the model card.

    python bench/bench_control.py [--weights weights/controller.safetensors] [--card weights/controller.md]
        [--minutes 10] [--threads 1]

Speed: median over --repeats of 600 frames of steering (step only, and step + decoding the pose for
display). GPU: not measured (no GPU lent to this session; the controller is a batch-1 MLP meant for the CPU).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.control import evaluate as ev  # noqa: E402
from core.control.controller import load_controller  # noqa: E402
from core.control.diffusion_follow import follow_with_diffusion  # noqa: E402
from core.evaluation.metrics import jitter  # noqa: E402
from core.evaluation.timing import median_seconds  # noqa: E402
from core.generation import load_generator  # noqa: E402

START, END = "<!-- bench_control:start -->", "<!-- bench_control:end -->"


def transitions(ctl, seed: int = 0) -> dict:
    """Jitter (mean jerk, cm/s^3) in the second after a style switch or a walk<->run switch, and while steady."""
    rng = np.random.default_rng(seed)
    steady, switched = [], []
    styles = [s for s in ("normal", "active", "feminine", "youthful", "masculine", "exhausted", "elderly")
              if s in ctl.styles]
    for trial in range(12):
        ctl.reset()
        s0 = styles[rng.integers(len(styles))]
        s1 = styles[rng.integers(len(styles))]
        v0 = np.array([0.0, 1.4])
        v1 = np.array([0.0, 3.5]) if trial % 2 else v0
        for _ in range(60):
            ctl.step(v0, s0)
        a = len(ctl.frames)
        for _ in range(60):
            ctl.step(v1, s1 if trial % 2 == 0 else s0)
        g = ctl.take(plant=False).global_positions()
        steady.append(jitter(g[a - 30 : a], ctl.fps))
        switched.append(jitter(g[a : a + 30], ctl.fps))
    return {"steady": float(np.mean(steady)), "after_switch": float(np.mean(switched))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None)
    p.add_argument("--card", help="write the table into this model card (between its bench markers)")
    p.add_argument("--minutes", type=float, default=10.0, help="length of the random-stick stability run")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    ctl = load_controller(args.weights)
    frames = 600
    step_s = median_seconds(lambda: ev.speed(ctl, frames), args.repeats) / frames
    pose_s = median_seconds(lambda: ev.speed(ctl, frames, live_pose=True), args.repeats) / frames
    ref = ev.real_reference()
    ref_walk, ref_run = ev.real_reference(actions=("walk",)), ev.real_reference(actions=("run",))
    resp = ev.responsiveness(ctl)
    blend, ctl.blend = ctl.blend, 0.0
    resp0 = ev.responsiveness(ctl)
    ctl.blend = blend
    rows = ev.path_following(ctl)
    raw = ev.path_following(ctl, correct=False)
    ctl.temperature = 1.0
    sampled = ev.path_following(ctl, speeds=(1.4,))
    ctl.temperature = 0.0
    # The alternative family, measured on the same paths: the diffusion model run autoregressively.
    gen = load_generator("diffusion", "cpu")
    diffusion = {chunk: ev.score_paths(lambda pts, sp, c=chunk: follow_with_diffusion(gen, pts, "normal", sp, c))
                 for chunk in (20, 5)}
    trans = transitions(ctl)
    stab = ev.random_stick(ctl, 60 * args.minutes)

    def mean(rs, k):
        return float(np.mean([r[k] for r in rs]))

    walks, runs = [r for r in rows if r["speed"] < 2.2], [r for r in rows if r["speed"] >= 2.2]

    m = ctl.meta
    out = [f"Weights: {m['model']['hidden']}-wide MLP CVAE, latent {m['model']['latent']}; trained {m['step']} steps "
           f"in {m['minutes']:.1f} min (from the weights file's metadata).",
           f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores visible, torch "
           f"{torch.__version__}, {args.threads} thread(s); GPU: not measured (none lent to this session).", "",
           "| measure | value | bar |", "|---|---|---|",
           f"| controller step, CPU | {step_s * 1e3:.2f} ms/frame ({1 / step_s:.0f} frames/s) | "
           ">= 60 frames/s, goal < 2 ms |",
           f"| step + pose decode (live display), CPU | {pose_s * 1e3:.2f} ms/frame ({1 / pose_s:.0f} frames/s) | |",
           f"| responsiveness: time to 90% of a new command (mean / median / worst of {resp['trials']}) | "
           f"{resp['mean_s']:.2f} / {resp['median_s']:.2f} / {resp['worst_s']:.2f} s (velocity blend "
           f"{blend:g}) | mean < 0.5 s |",
           f"| the same without velocity blending (the network alone) | {resp0['mean_s']:.2f} / "
           f"{resp0['median_s']:.2f} / {resp0['worst_s']:.2f} s | |",
           f"| path following, mean root distance from path (8 runs) | {mean(rows, 'distance_cm'):.1f} cm | < 10 cm |",
           f"| path following, mean facing error | {mean(rows, 'facing_deg'):.1f} deg | < 15 deg |",
           f"| path following, foot skating, all 8 runs | {mean(rows, 'skating'):.3f} "
           f"({mean(rows, 'skating') / ref['skating']:.2f}x real walk+run) | <= 1.5x real |",
           f"| path following, foot skating, walks (1.4 m/s) | {mean(walks, 'skating'):.3f} "
           f"({mean(walks, 'skating') / ref['skating']:.2f}x real walk+run, "
           f"{mean(walks, 'skating') / ref_walk['skating']:.2f}x real walk) | <= 1.5x real |",
           f"| path following, foot skating, runs (3 m/s) | {mean(runs, 'skating'):.3f} "
           f"({mean(runs, 'skating') / ref['skating']:.2f}x real walk+run, "
           f"{mean(runs, 'skating') / ref_run['skating']:.2f}x real run) | <= 1.5x real |",
           f"| real walk/run clips (val, {ref['clips']} clips), foot skating | {ref['skating']:.3f} (walk "
           f"{ref_walk['skating']:.3f}, run {ref_run['skating']:.3f}) | reference |",
           f"| path following, jitter (cm/s^3): walks / runs / real walk / real run | {mean(walks, 'jitter'):.0f} / "
           f"{mean(runs, 'jitter'):.0f} / {ref_walk['jitter']:.0f} / {ref_run['jitter']:.0f} | (foot planting "
           "adds some) |",
           f"| without the explicit root correction: distance / facing / skating | {mean(raw, 'distance_cm'):.1f} cm / "
           f"{mean(raw, 'facing_deg'):.1f} deg / {mean(raw, 'skating'):.3f} | (for honesty) |",
           f"| with z ~ N(0, 1) instead of z = 0 (walks): distance / facing / skating | "
           f"{mean(sampled, 'distance_cm'):.1f} cm / {mean(sampled, 'facing_deg'):.1f} deg / "
           f"{mean(sampled, 'skating'):.3f} | |",
           f"| jitter (cm/s^3): steady / 1 s after a style or walk-run switch / real | {trans['steady']:.0f} / "
           f"{trans['after_switch']:.0f} / {ref['jitter']:.0f} | smooth: switch close to steady |",
           f"| {args.minutes:g} min random stick ({stab['frames']} frames, {stab['distance_m']:.0f} m): finite / "
           f"bone length error / max tilt / root height | {stab['finite']} / {stab['bone_length_error']:.1e} / "
           f"{stab['max_tilt_deg']:.0f} deg / {stab['min_root_height']:.0f}..{stab['max_root_height']:.0f} cm | "
           f"finite, exact, upright |",
           f"| sustained speed over that run | {stab['fps']:.0f} frames/s | >= 60 |",
           "", "Family head to head on the same 8 paths (means; time per frame = wall time of the whole take / its "
           "frames, one take each, CPU, 1 thread): the per-frame CVAE above against the motion diffusion model "
           "(`weights/diffusion.safetensors`) run autoregressively, re-planned every `chunk` frames from the last 30 "
           "frames and the root trajectory ahead (`core/control/diffusion_follow.py`, DDIM 10 steps). A new "
           "command reaches the diffusion model only at the next re-plan.", "",
           "| family | ms/frame | re-plan latency | distance cm | facing deg | skating walks / runs | jitter |",
           "|---|---|---|---|---|---|---|",
           f"| CVAE controller (shipped) | {mean(rows, 'ms_per_frame'):.2f} | every frame | "
           f"{mean(rows, 'distance_cm'):.1f} | {mean(rows, 'facing_deg'):.1f} | {mean(walks, 'skating'):.3f} / "
           f"{mean(runs, 'skating'):.3f} | {mean(rows, 'jitter'):.0f} |"]
    for chunk, drows in diffusion.items():
        dw, dr = [r for r in drows if r["speed"] < 2.2], [r for r in drows if r["speed"] >= 2.2]
        out.append(f"| diffusion, chunk {chunk} | {mean(drows, 'ms_per_frame'):.2f} | {chunk / ctl.fps:.2f} s | "
                   f"{mean(drows, 'distance_cm'):.1f} | {mean(drows, 'facing_deg'):.1f} | {mean(dw, 'skating'):.3f} / "
                   f"{mean(dr, 'skating'):.3f} | {mean(drows, 'jitter'):.0f} |")
    out += ["", "| path | speed m/s | frames | distance cm | facing deg | skating | end cm | jitter cm/s^3 |",
           "|---|---|---|---|---|---|---|---|"]
    out += [f"| {r['path']} | {r['speed']:g} | {r['frames']} | {r['distance_cm']:.1f} | {r['facing_deg']:.1f} | "
            f"{r['skating']:.3f} | {r['end_cm']:.1f} | {r['jitter']:.0f} |" for r in rows]
    table = "\n".join(out)
    print(table)
    if args.card:
        card = Path(args.card)
        text = card.read_text(encoding="utf-8") if card.exists() else f"{START}\n{END}\n"
        cmd = "python bench/bench_control.py " + " ".join(sys.argv[1:])
        block = f"{START}\nProduced by `{cmd}`:\n\n{table}\n{END}"
        card.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S),
                        encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

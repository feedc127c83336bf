"""`python -m core character`: generate rigged, skinned characters from body conditions."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import GenAnimError
from .conditions import BUILDS, SEXES, Condition

MAX_COUNT = 1000  # characters one command makes (all are generated before any is written)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("character", help="generate rigged, skinned character meshes from body measurements",
                       description="Generate characters (OBJ, rigged and skinned glTF .glb, and JSON with "
                                   "measurements, rig and skin weights). "
                                   "Any condition left out is sampled from real body measurements.")
    p.add_argument("--sex", choices=SEXES)
    p.add_argument("--age", type=float, help="years (12 to 80)")
    p.add_argument("--stature", type=float, help="cm")
    p.add_argument("--weight", type=float, help="kg")
    p.add_argument("--build", help=f"BMI number or one of: {', '.join(BUILDS)}")
    p.add_argument("--count", type=int, default=1, help=f"characters to make, 1 to {MAX_COUNT}")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace character files already in --out")
    p.add_argument("--motion", metavar="ACTION",
                   help="each character performs a generated clip of this action (e.g. walk), stored as its "
                        ".glb's animation")
    p.add_argument("--style", help="style of the --motion clip (default: any)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of the --motion clip (default 4)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..arguments import check_outputs, check_range, check_seed, check_writable, output_folder
    from .character import CharacterGenerator, write_character

    check_range("count", args.count, 1, MAX_COUNT)
    check_seed(args.seed)
    cond = Condition.make(args.sex, args.age, args.stature, args.weight, args.build)
    names = [f"character_{i:03d}" for i in range(args.count)]
    check_writable(args.out, folder=True)
    check_outputs((args.out / f"{n}{ext}" for n in names for ext in (".obj", ".glb", ".json")), args.overwrite)
    if args.motion is None and args.style is not None:
        raise GenAnimError("--style needs --motion ACTION")
    t0 = time.perf_counter()
    gen = CharacterGenerator.load()
    motion = None
    if args.motion is not None:
        from ..generation import load_generator

        motion = load_generator("diffusion")
        motion.check(args.seconds)
        motion._label_ids(args.motion, args.style)  # an unknown action or style fails before any work
    t1 = time.perf_counter()
    chars = gen.generate(cond, args.count, args.seed)
    animations = [None] * len(chars)
    if motion is not None:
        import numpy as np

        from .animate import character_animation

        seed = args.seed if args.seed is not None else int(np.random.default_rng().integers(2**31))
        clips = motion.generate(args.motion, args.style, args.seconds, count=len(chars), seed=seed)
        animations = [character_animation(ch.mesh, clip, f"{args.motion}_{args.style or 'any'}")
                      for ch, clip in zip(chars, clips, strict=True)]
    t2 = time.perf_counter()
    print(f"loaded in {1000 * (t1 - t0):.0f} ms; generated {len(chars)} in {1000 * (t2 - t1):.0f} ms")
    print(f"{'file':<14}{'sex':<8}{'age':>6}{'stature':>9}{'weight':>8}{'waist':>7}{'hip':>7}"
          f"{'stat.err cm':>12}{'mass err %':>11}{'min bone cm':>12}  weights sum to 1")
    with output_folder(args.out):
        for name, ch, anim in zip(names, chars, animations, strict=True):
            c = write_character(args.out, name, ch, cond, args.seed, anim)
            m = ch.measurements
            print(f"{name:<14}{ch.sex:<8}{m['age']:6.0f}{m['stature']:9.1f}{m['weight']:8.1f}{m['waist']:7.1f}"
                  f"{m['hip']:7.1f}{c['stature_err_cm']:12.3f}{c['mass_err_pct']:11.2f}{c['min_bone_cm']:12.2f}"
                  f"  {c['weight_sum_err'] < 1e-6 and c['finite']}")
    print(f"wrote {3 * len(chars)} files to {args.out}")
    return 0

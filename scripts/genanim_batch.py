"""Generate (or load) clips headless and write a .blend, BVH and FBX per clip, and a contact sheet.

    blender -b -P scripts/genanim_batch.py -- --action walk --style happy --count 10 --out DIR
    python scripts/genanim_batch.py --action walk --style happy --count 10 --out DIR     (the bpy module)
    python scripts/genanim_batch.py --bvh A.bvh B.bvh --out DIR                          (existing clips)

Writes DIR/genanim_batch.blend (one armature per clip, side by side, each
with its clip as its action), DIR/<clip>.bvh and DIR/<clip>.fbx through
Blender's exporters, and DIR/contact_sheet.png: one row per clip, a few
frames each, rendered with Workbench. Generating needs PyTorch and the
model's weights; --bvh needs neither. Errors are printed plainly (exit 2).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import bpy
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from render_preview import render_preview  # noqa: E402

import blender_addon  # noqa: E402
from blender_addon.core.errors import GenAnimError  # noqa: E402
from blender_addon.core.motion.clip import Clip, load_clip, save_clip  # noqa: E402
from blender_addon.operators import new_genanim_armature  # noqa: E402
from blender_addon.rig import apply_clip  # noqa: E402

SPACING = 1.5  # metres between the armatures in the .blend
GAP = 6  # pixels between contact-sheet rows


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="genanim_batch.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--bvh", type=Path, nargs="+", help="process these BVH clips instead of generating")
    parser.add_argument("--action", help="action label (default: any)")
    parser.add_argument("--style", help="style label (default: any)")
    parser.add_argument("--count", type=int, default=1, help="clips to generate (default 1)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each clip (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first clip (default 0)")
    parser.add_argument("--guidance", type=float, default=None, help="classifier-free guidance (default: the model's)")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: the model's)")
    parser.add_argument("--model", default="diffusion", help="shipped weights name or .safetensors path")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--weights-dir", type=Path, default=None, help="folder with the weights (default: weights/)")
    parser.add_argument("--frames", type=int, default=5, help="frames per clip in the contact sheet (default 5)")
    parser.add_argument("--size", type=int, nargs=2, default=(160, 240), metavar=("W", "H"),
                        help="pixels per contact-sheet frame (default 160 240)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if args.seconds <= 0:
        parser.error("--seconds must be above zero (zero frames make no clip)")
    return args


def generate(args: argparse.Namespace) -> list[Clip]:
    """Clips from the generator (needs PyTorch and weights)."""
    weights = args.weights_dir or REPO / "weights"
    path = Path(args.model) if args.model.endswith(".safetensors") else weights / f"{args.model}.safetensors"
    if not path.is_file():
        raise GenAnimError(f"Model weights are missing: {path} does not exist (use --weights-dir or --model)")
    try:
        from blender_addon.core.generation import load_generator
    except ModuleNotFoundError as e:
        raise GenAnimError(f"cannot generate: {e.name} is not available ({e}); use --bvh for existing clips") from None
    gen = load_generator(args.model, device=args.device, weights_dir=args.weights_dir)

    def progress(fraction: float) -> bool:
        print(f"\rgenerating {100 * fraction:5.1f}%", end="", file=sys.stderr, flush=True)
        return True

    clips = gen.generate(args.action, args.style, seconds=args.seconds, count=args.count, seed=args.seed,
                         guidance=args.guidance, steps=args.steps, progress=progress)
    print(file=sys.stderr)
    return clips


def write_outputs(clips: list[Clip], out: Path) -> None:
    """The .blend with one armature per clip, and BVH + FBX per clip."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    blender_addon.register()
    try:
        scene = bpy.context.scene
        scene.render.fps = round(clips[0].fps)
        scene.frame_start, scene.frame_end = 1, max(c.num_frames for c in clips)
        for k, clip in enumerate(clips):
            name = clip.name or f"clip_{k:03d}"
            scene.cursor.location = (k * SPACING, 0.0, 0.0)
            obj = new_genanim_armature(bpy.context, clip.skeleton, name, 1.0)
            apply_clip(obj, clip, name)
            for fmt, ext in (("BVH", ".bvh"), ("FBX", ".fbx")):
                path = out / f"{name}{ext}"
                bpy.ops.genanim.export_action(filepath=str(path), format=fmt)
                print(f"wrote {path}")
        blend = out / "genanim_batch.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blend))
        print(f"wrote {blend}")
    finally:
        blender_addon.unregister()


def contact_sheet(clips: list[Clip], out: Path, frames: int, size: tuple[int, int]) -> Path:
    """One Workbench row per clip (render_preview's sheet), stacked into one PNG."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, clip in enumerate(clips):
            save_clip(clip, Path(tmp) / f"clip_{k}.bvh")  # in the clip's own units, as render_preview reads them
            row_png = render_preview(Path(tmp) / f"clip_{k}.bvh", Path(tmp) / f"row_{k}.png", frames, size)
            img = bpy.data.images.load(str(row_png))
            px = np.empty(img.size[0] * img.size[1] * 4, dtype=np.float32)
            img.pixels.foreach_get(px)
            rows.append(px.reshape(img.size[1], img.size[0], 4))
            bpy.data.images.remove(img)
    width = max(r.shape[1] for r in rows)
    height = sum(r.shape[0] for r in rows) + GAP * (len(rows) - 1)
    sheet = np.ones((height, width, 4), dtype=np.float32)
    y = height
    for r in rows:  # Blender images start at the bottom row: the first clip goes on top
        y -= r.shape[0]
        sheet[y:y + r.shape[0], :r.shape[1]] = r
        y -= GAP
    path = out / "contact_sheet.png"
    img = bpy.data.images.new("GenAnimContactSheet", width, height, alpha=False)
    img.pixels.foreach_set(sheet.ravel())
    img.filepath_raw = str(path)
    img.file_format = 'PNG'
    img.save()
    print(f"wrote {path}")
    return path


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        clips = [load_clip(p) for p in args.bvh] if args.bvh else generate(args)
        args.out.mkdir(parents=True, exist_ok=True)
        write_outputs(clips, args.out.resolve())
        contact_sheet(clips, args.out.resolve(), args.frames, tuple(args.size))
    except GenAnimError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # an operator's error report, e.g. from an exporter
        print(f"error: {str(e).removeprefix('Error: ').strip()}", file=sys.stderr)
        return 2
    print(f"done: {len(clips)} clip(s) in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    # Inside Blender (-P) the script's own arguments follow "--"; with the bpy module they are all its own.
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    sys.exit(main(argv))

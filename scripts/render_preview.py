"""Render a BVH clip on a stick-figure body into one contact-sheet PNG.

    python scripts/render_preview.py CLIP.bvh OUT.png [--frames 6] [--size 240 360]

Runs headless with the `bpy` module (Workbench engine). Frames are spread
evenly over the clip and placed side by side; one fixed orthographic camera
frames the whole motion, so travel across the floor stays visible.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix, Vector

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blender_addon.armature import build_armature, build_bone_body, fit_scene_to_clip, write_clip_action  # noqa: E402
from blender_addon.core.errors import GenAnimError  # noqa: E402
from blender_addon.core.motion.clip import load_clip  # noqa: E402
from blender_addon.core.retarget.armature_space import to_armature_space  # noqa: E402

# By default the camera looks at the character's front (Blender -Y) from a little right and above.
VIEW_FROM = Vector((0.45, -1.0, 0.3)).normalized()
MARGIN = 0.15  # metres around the joints, for the body's thickness


def _view_direction(travel: np.ndarray) -> Vector:
    """Where the camera sits, seen from the subject: ahead of a travelling character.

    An orthographic camera looking along the travel keeps the whole path in a
    narrow frame, so the character stays large; a side view would shrink it.
    """
    horizontal = np.array([travel[0], travel[1], 0.0])
    if np.linalg.norm(horizontal) < 0.5:  # roughly in place: keep the default front view
        return VIEW_FROM
    ahead = Vector(horizontal).normalized()
    side = ahead.cross(Vector((0.0, 0.0, 1.0)))
    return (ahead + 0.2 * side + Vector((0.0, 0.0, 0.25))).normalized()


def _frame_camera(scene: bpy.types.Scene, points: np.ndarray, width: int, height: int, view_from: Vector) -> None:
    """An orthographic camera looking from `view_from` that sees every point in `points` (N, 3)."""
    cam_data = bpy.data.cameras.new("PreviewCamera")
    cam_data.type = 'ORTHO'
    cam_data.sensor_fit = 'VERTICAL'  # ortho_scale spans the image height
    cam = bpy.data.objects.new("PreviewCamera", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam

    rot = view_from.to_track_quat('Z', 'Y').to_matrix()  # camera looks down its -Z
    right, up = np.array(rot.col[0]), np.array(rot.col[1])
    u, v = points @ right, points @ up
    centre = points.mean(axis=0)
    centre += right * ((u.max() + u.min()) / 2 - centre @ right) + up * ((v.max() + v.min()) / 2 - centre @ up)
    span_u = u.max() - u.min() + 2 * MARGIN
    span_v = v.max() - v.min() + 2 * MARGIN
    cam_data.ortho_scale = max(span_v, span_u * height / width)
    depth = float(np.ptp(points @ np.array(view_from)) + 10.0)
    cam_data.clip_end = 4 * depth
    cam.matrix_world = Matrix.Translation(Vector(centre) + view_from * depth) @ rot.to_4x4()


def _add_floor(scene: bpy.types.Scene, points: np.ndarray) -> None:
    lo, hi = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    z = float(points[:, 2].min())
    mesh = bpy.data.meshes.new("PreviewFloor")
    mesh.from_pydata([(lo[0], lo[1], z), (hi[0], lo[1], z), (hi[0], hi[1], z), (lo[0], hi[1], z)], [], [(0, 1, 2, 3)])
    floor = bpy.data.objects.new("PreviewFloor", mesh)
    floor.color = (0.8, 0.8, 0.8, 1.0)
    scene.collection.objects.link(floor)


def _setup_render(scene: bpy.types.Scene, width: int, height: int) -> None:
    scene.render.engine = 'BLENDER_WORKBENCH'
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = 'PNG'
    scene.render.image_settings.color_mode = 'RGB'
    shading = scene.display.shading
    shading.light = 'STUDIO'
    shading.color_type = 'OBJECT'
    shading.show_shadows = True
    # Workbench renders the world colour as the background.
    scene.world = scene.world or bpy.data.worlds.new("PreviewWorld")
    scene.world.color = (0.9, 0.92, 0.95)
    scene.view_settings.view_transform = 'Standard'


def render_preview(
    clip_path: str | Path, out_path: str | Path, frames: int = 6, size: tuple[int, int] = (240, 360)
) -> Path:
    """Render `frames` evenly spread frames of the BVH clip side by side into `out_path` (PNG)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    clip = load_clip(clip_path)
    width, height = size

    arm = build_armature(clip.skeleton, clip.name or "Clip", collection=scene.collection)
    write_clip_action(arm, clip, clip.name or "Clip")
    fit_scene_to_clip(scene, clip)
    # A root that never moves (this data's joint_Root at the origin) only places
    # its child: drawing its bone would put a spike from the origin to the hips.
    g_rot, g_pos = clip.global_transforms()
    static = (np.ptp(g_pos, axis=0).max(axis=-1) < 1e-6) & (np.ptp(g_rot, axis=0).max(axis=(-2, -1)) < 1e-6)
    shown = [n for j, n in enumerate(clip.skeleton.names) if not (static[j] and clip.skeleton.parents[j] < 0)]
    body = build_bone_body(arm, bones=shown)
    body.color = (0.85, 0.45, 0.2, 1.0)
    arm.hide_render = True

    keep = [clip.skeleton.names.index(n) for n in shown]
    joints = to_armature_space(g_pos[:, keep])
    centres = joints.mean(axis=1)
    points = joints.reshape(-1, 3)
    _frame_camera(scene, points, width, height, _view_direction(centres[-1] - centres[0]))
    _add_floor(scene, points)
    _setup_render(scene, width, height)

    picks = np.unique(np.linspace(0, clip.num_frames - 1, max(1, frames)).round().astype(int))
    gap = 4
    sheet = np.ones((height, len(picks) * (width + gap) - gap, 4), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for k, f in enumerate(picks):
            scene.frame_set(scene.frame_start + int(f))
            scene.render.filepath = str(Path(tmp) / f"frame_{k}.png")
            bpy.ops.render.render(write_still=True)
            img = bpy.data.images.load(scene.render.filepath)
            px = np.empty(width * height * 4, dtype=np.float32)
            img.pixels.foreach_get(px)
            bpy.data.images.remove(img)
            x0 = k * (width + gap)
            sheet[:, x0:x0 + width] = px.reshape(height, width, 4)

    out_path = Path(out_path).resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out = bpy.data.images.new("ContactSheet", sheet.shape[1], sheet.shape[0], alpha=False)
    out.pixels.foreach_set(sheet.ravel())
    out.filepath_raw = str(out_path)
    out.file_format = 'PNG'
    out.save()
    return out_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", help="BVH file")
    parser.add_argument("out", help="PNG to write")
    parser.add_argument("--frames", type=int, default=6, help="frames in the sheet (default 6)")
    parser.add_argument("--size", type=int, nargs=2, default=(240, 360), metavar=("W", "H"), help="pixels per frame")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        path = render_preview(args.clip, args.out, args.frames, tuple(args.size))
    except GenAnimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

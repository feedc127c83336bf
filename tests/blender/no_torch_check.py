"""The add-on in a Python where PyTorch and safetensors cannot be imported (as in Blender's own); print JSON.

    python no_torch_check.py REPO BVH OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# `import torch` now fails and find_spec finds nothing, as in a stock Blender
sys.modules["torch"] = sys.modules["safetensors"] = None
repo, bvh, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
sys.path.insert(0, str(repo))
sys.path.insert(0, str(repo / "tests" / "blender"))

import bpy  # noqa: E402
from rigs import build_mixamo_rig  # noqa: E402

import blender_addon  # noqa: E402
from blender_addon import torch_env  # noqa: E402
from blender_addon.core.motion.clip import load_clip  # noqa: E402
from blender_addon.rig import apply_clip  # noqa: E402

report: dict = {}
blender_addon.register()
report["torch_available"] = torch_env.torch_available()


def error_of(op, **kwargs) -> str:
    try:
        op(**kwargs)
    except RuntimeError as e:
        return str(e)
    return ""


bpy.ops.genanim.create_armature()
arm = bpy.context.active_object
s = bpy.context.scene.genanim
s.action, s.style, s.seconds = "walk", "normal", 2.0  # the shipped default model, on the numpy runtime
before = set(bpy.data.actions)
report["generate"] = error_of(bpy.ops.genanim.generate)
report["generated_frames"] = [a.frame_range[1] - a.frame_range[0] for a in bpy.data.actions if a not in before]
user = apply_clip(arm, load_clip(bvh).slice(0, 90), "my_walk", frame_start=1)
s.gaps = "21-51"
report["fill_gap"] = error_of(bpy.ops.genanim.fill_gap)
report["filled_is_new"] = arm.animation_data.action != user and user.name in bpy.data.actions
s.model = "cvae"
before = set(bpy.data.actions)
report["generate_cvae"] = error_of(bpy.ops.genanim.generate)
report["cvae_actions"] = len(set(bpy.data.actions) - before)
s.model = ""

# Follow Path on a straight curve, then a scripted Puppeteer take (the controller runs on numpy).
bpy.ops.genanim.create_armature()
walker = bpy.context.active_object
data = bpy.data.curves.new("Path", 'CURVE')
spline = data.splines.new('POLY')
spline.points.add(1)
spline.points[1].co = (0.0, 3.0, 0.0, 1.0)
curve = bpy.data.objects.new("Path", data)
bpy.context.scene.collection.objects.link(curve)
for o in bpy.context.scene.objects:
    o.select_set(o in (walker, curve))
bpy.context.view_layer.objects.active = walker
before = set(bpy.data.actions)
report["follow_path"] = error_of(bpy.ops.genanim.follow_path)
report["follow_actions"] = len(set(bpy.data.actions) - before)
from blender_addon.control import PuppeteerRun  # noqa: E402

run = PuppeteerRun(bpy.context)
report["puppeteer"] = run.play([(0.0, "W", "PRESS", False), (1.0, "W", "RELEASE", False),
                                (0.0, "RET", "PRESS", False)])
report["puppeteer_frames"] = len(run.ctl.frames)
report["puppeteer_action"] = run.finish().name in bpy.data.actions
before = set(bpy.data.objects)
report["characters"] = error_of(bpy.ops.genanim.generate_characters)
report["character_objects"] = len(set(bpy.data.objects) - before)
report["install"] = error_of(bpy.ops.genanim.install_torch, variant='CPU')
report["import"] = bpy.ops.genanim.import_bvh(filepath=bvh) == {'FINISHED'}
mixamo = build_mixamo_rig()
bpy.context.view_layer.objects.active = mixamo
bpy.context.scene.genanim.bvh_path = bvh
report["retarget"] = bpy.ops.genanim.retarget() == {'FINISHED'}
report["export"] = bpy.ops.genanim.export_action(filepath=str(out / "m.fbx"), format='FBX') == {'FINISHED'}
report["torch_imported"] = sys.modules.get("torch") is not None
blender_addon.unregister()  # also lets the bpy 4.5 module exit (it hangs with operators still registered)
print("REPORT " + json.dumps(report))

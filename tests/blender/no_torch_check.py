"""The add-on in a Python where PyTorch cannot be imported (as in Blender's own); print JSON.

    python no_torch_check.py REPO BVH OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.modules["torch"] = None  # `import torch` now fails and find_spec finds nothing, as in a stock Blender
repo, bvh, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
sys.path.insert(0, str(repo))
sys.path.insert(0, str(repo / "tests" / "blender"))

import bpy  # noqa: E402
from rigs import build_mixamo_rig  # noqa: E402

import blender_addon  # noqa: E402
from blender_addon import torch_env  # noqa: E402

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
weights = out / "diffusion.safetensors"  # present, so the missing piece is PyTorch
out.mkdir(parents=True, exist_ok=True)
weights.write_bytes(b"")
bpy.context.scene.genanim.model = str(weights)
report["generate"] = error_of(bpy.ops.genanim.generate)
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

"""Install the built zip into a fresh Blender user folder the way a user does, then exercise it; print JSON.

    BLENDER_USER_RESOURCES=TMP python install_check.py ZIP extension|legacy BVH OUT_DIR

Run by test_addon_install.py in its own process: `bpy` reads the user folder
location once, at import.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import bpy
from rigs import build_mixamo_rig

addon_utils = importlib.import_module("addon_utils")  # Blender's; importable only once bpy is

zip_path, mode, bvh, out_dir = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
report: dict = {"errors": []}


def registered() -> dict[str, bool]:
    """Which of the add-on's classes and properties are registered now."""
    return {
        "panels": all(hasattr(bpy.types, n) for n in
                      ("GENANIM_PT_main", "GENANIM_PT_generate", "GENANIM_PT_retarget", "GENANIM_PT_files")),
        "ui_list": hasattr(bpy.types, "GENANIM_UL_bone_map"),
        "operators": all(hasattr(bpy.types, f"GENANIM_OT_{n}") for n in
                         ("create_armature", "generate", "retarget", "detect_bone_map", "import_bvh",
                          "export_action", "install_torch")),
        "scene_props": hasattr(bpy.types.Scene, "genanim"),
        "object_props": hasattr(bpy.types.Object, "genanim_bone_map"),
    }


if mode == "extension":
    bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
    module = "bl_ext.user_default.genanim"
else:
    bpy.ops.preferences.addon_install(filepath=zip_path)
    addon_utils.enable("genanim", default_set=True, handle_error=lambda e: report["errors"].append(str(e)))
    module = "genanim"

report["module"] = module
report["enabled"] = module in bpy.context.preferences.addons
report["installed_at"] = str(Path(sys.modules[module].__file__).parent) if module in sys.modules else None
report["after_enable"] = registered()
report["top_level_core"] = "core" in sys.modules

# Disable and enable twice: every class and property must go and come back cleanly.
cycles = []
for _ in range(2):
    addon_utils.disable(module, default_set=True, handle_error=lambda e: report["errors"].append(str(e)))
    off = registered()
    addon_utils.enable(module, default_set=True, handle_error=lambda e: report["errors"].append(str(e)))
    cycles.append({"off": off, "on": registered()})
report["cycles"] = cycles

# The non-torch paths, as a user clicks them: create, import a BVH, retarget, export.
bpy.ops.genanim.create_armature()
arm = bpy.context.active_object
bpy.ops.genanim.import_bvh(filepath=bvh)
report["imported_action"] = arm.animation_data.action.name if arm.animation_data else None
mixamo = build_mixamo_rig()
bpy.context.view_layer.objects.active = mixamo
bpy.context.scene.genanim.bvh_path = bvh
bpy.ops.genanim.retarget()
report["retargeted_action"] = mixamo.animation_data.action.name if mixamo.animation_data else None
bpy.context.view_layer.objects.active = arm
out_dir.mkdir(parents=True, exist_ok=True)
for fmt, ext in (("BVH", ".bvh"), ("FBX", ".fbx"), ("GLTF", ".glb")):
    bpy.ops.genanim.export_action(filepath=str(out_dir / f"clip{ext}"), format=fmt)
report["exported"] = sorted(p.name for p in out_dir.iterdir())
report["torch_imported"] = "torch" in sys.modules
print("REPORT " + json.dumps(report))

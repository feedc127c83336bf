"""Weights trained on one's own library, chosen in Preferences: Create Armature builds the library's skeleton,
Generate offers the library's labels and writes onto that skeleton."""

from __future__ import annotations

import importlib.util

import pytest

bpy = pytest.importorskip("bpy")

from library import TINY_CONFIG, build_library  # noqa: E402

import blender_addon  # noqa: E402
from blender_addon import props  # noqa: E402
from blender_addon.armature import read_clip_action, skeleton_of  # noqa: E402
from blender_addon.core.motion.clip import load_clip  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]


def test_own_weights_from_preferences_generate_onto_the_librarys_skeleton(tmp_path):
    if importlib.util.find_spec("torch") is None:
        pytest.skip("training the library's model needs PyTorch, not installed in this Python")
    from core.training.config import TrainConfig  # not blender_addon.core: corpus workers import it without bpy
    from core.training.train import export_weights, train

    lib = build_library(tmp_path / "lib", "sidecar")
    train(TrainConfig.from_dict({**TINY_CONFIG, "data": str(lib)}), tmp_path / "run", progress=False)
    weights = tmp_path / "mine.safetensors"
    export_weights(tmp_path / "run" / "checkpoint.pt", weights)
    library_skeleton = load_clip(lib / "my_take_000.bvh").skeleton
    blender_addon.register()
    addon = bpy.context.preferences.addons.new()
    try:
        addon.module = "blender_addon"
        addon.preferences.default_model = str(weights)
        s = bpy.context.scene.genanim
        s.model, s.action, s.style, s.seconds, s.variations = "", "strut", "mine", 1.0, 1
        assert sorted(props._labels(bpy.context, "actions")) == ["greet", "strut"]  # what the Action field offers
        assert bpy.ops.genanim.create_armature() == {'FINISHED'}
        obj = bpy.context.active_object
        built = skeleton_of(obj)
        assert set(built.names) == set(library_skeleton.names)
        assert all(obj.data.bones[n].parent is None if p < 0 else obj.data.bones[n].parent.name == built.names[p]
                   for n, p in zip(built.names, built.parents, strict=True))
        assert bpy.ops.genanim.generate() == {'FINISHED'}
        action = obj.animation_data.action
        assert action.name.startswith("strut_mine")
        clip = read_clip_action(obj, built, action, 60.0)
        assert clip.num_frames == 60  # 1 s of the library's 60 fps
    finally:
        bpy.context.preferences.addons.remove(addon)
        blender_addon.unregister()

"""The Characters panel's operator in real Blender: characters added, bound and sized as asked; bad input reported."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

import blender_addon  # noqa: E402

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module", autouse=True)
def addon():
    blender_addon.register()
    yield
    blender_addon.unregister()


def test_generate_characters_adds_bound_characters_of_the_requested_build():
    s = bpy.context.scene.genanim
    s.char_sex, s.char_age, s.char_stature, s.char_build, s.char_count, s.char_seed = "female", 40, 165, "heavy", 2, 0
    assert bpy.ops.genanim.generate_characters() == {"FINISHED"}
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    bodies = [o for o in bpy.data.objects if o.type == "MESH"]
    assert len(arms) == 2 and len(bodies) == 2
    for body in bodies:
        assert body.parent in arms
        mod = body.modifiers["Armature"]
        assert mod.object is body.parent and len(body.vertex_groups) == 22
        z = np.array([v.co.z for v in body.data.vertices])
        assert np.ptp(z) == pytest.approx(1.65, abs=0.02)  # stature asked for, in metres
    assert abs(arms[0].location.x - arms[1].location.x) == pytest.approx(0.8)


def test_generate_characters_reports_an_impossible_request():
    s = bpy.context.scene.genanim
    s.char_sex, s.char_age, s.char_stature, s.char_build, s.char_count = "ANY", 5, 0, "ANY", 1
    before = len(bpy.data.objects)
    with pytest.raises(RuntimeError, match="age 5 is outside"):
        bpy.ops.genanim.generate_characters()
    assert len(bpy.data.objects) == before

# SPDX-License-Identifier: GPL-3.0-or-later
"""Add-on preferences: device, default model, where weights, caches and the PyTorch install live."""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty

from . import compat, torch_env

ADDON_DIR = Path(__file__).resolve().parent


class GENANIM_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    device: EnumProperty(
        name="Device",
        items=[
            ('auto', "Automatic", "CUDA when a GPU is available, else the CPU"),
            ('cpu', "CPU", "Always the CPU"),
            ('cuda', "CUDA", "An NVIDIA GPU (needs the CUDA build of PyTorch)"),
        ],
        default='auto',
    )
    default_model: StringProperty(name="Default Model", default="diffusion",
                                  description="Shipped weights name (e.g. diffusion) or a .safetensors path")
    weights_dir: StringProperty(name="Weights Folder", subtype='DIR_PATH', default="",
                                description="Folder with model weights (empty: the weights shipped with the add-on)")
    cache_dir: StringProperty(name="Cache Folder", subtype='DIR_PATH', default="",
                              description="Folder for PyTorch and caches (empty: the add-on's user data folder)")

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "device")
        layout.prop(self, "default_model")
        col = layout.column()
        col.prop(self, "weights_dir")
        col.label(text=f"In use: {weights_dir(context)}", icon='INFO')
        col = layout.column()
        col.prop(self, "cache_dir")
        col.label(text=f"In use: {cache_dir(context)}", icon='INFO')
        torch_env.draw_status(layout, context)


def get(context: bpy.types.Context) -> GENANIM_AP_preferences | None:
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon is not None else None


def weights_dir(context: bpy.types.Context) -> Path:
    """Where model weights are looked up: the preference, else the folder shipped in the add-on."""
    prefs = get(context)
    if prefs is not None and prefs.weights_dir:
        return Path(bpy.path.abspath(prefs.weights_dir))
    shipped = ADDON_DIR / "weights"
    return shipped if shipped.is_dir() else ADDON_DIR.parent / "weights"  # the second: a source checkout


def cache_dir(context: bpy.types.Context, create: bool = False) -> Path:
    """Where downloads and caches go: the preference, else the add-on's user data folder (never the add-on's)."""
    prefs = get(context)
    if prefs is not None and prefs.cache_dir:
        path = Path(bpy.path.abspath(prefs.cache_dir))
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return path
    return compat.user_data_dir(__package__, create=create)


classes = (GENANIM_AP_preferences,)
register, unregister = bpy.utils.register_classes_factory(classes)

# SPDX-License-Identifier: GPL-3.0-or-later
"""PyTorch inside Blender: is it there, and installing it into the add-on's user data folder on request.

Blender's Python ships without PyTorch. Only generating needs it; everything
else in GenAnim is numpy. The install runs pip in a subprocess (never at
register(), never without the user's online-access consent) into a folder
of its own that is appended to sys.path, after Blender's own packages, so
it cannot shadow Blender's numpy.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import bpy
from bpy.props import EnumProperty

from . import compat

INDEX_URLS = {"CPU": "https://download.pytorch.org/whl/cpu", "CUDA": "https://download.pytorch.org/whl/cu126"}


def install_dir(context: bpy.types.Context, create: bool = False) -> Path:
    """The folder PyTorch is installed into (one per Python version: wheels are version-specific)."""
    from . import prefs

    return prefs.cache_dir(context, create) / f"site-packages-py{sys.version_info.major}{sys.version_info.minor}"


def add_install_dir(context: bpy.types.Context) -> None:
    """Make a previous install importable (appended: Blender's own packages keep priority)."""
    path = str(install_dir(context))
    if Path(path).is_dir() and path not in sys.path:
        sys.path.append(path)
        importlib.invalidate_caches()


REQUIRED = ("torch", "safetensors")  # what the torch backend and the controller import beyond Blender's Python
PINS = ("torch==2.13.0", "safetensors==0.8.0")  # the versions requirements.txt pins (tests/test_build_addon.py)


def missing_packages() -> list[str]:
    """Which of the packages generating needs cannot be imported (looked up, not imported: torch takes seconds)."""
    missing = [name for name in REQUIRED if sys.modules.get(name) is None]
    if missing:
        add_install_dir(bpy.context)
        missing = [name for name in missing if importlib.util.find_spec(name) is None]
    return missing


def torch_available() -> bool:
    """Whether everything generating needs (PyTorch, safetensors) can be imported."""
    return not missing_packages()


def draw_status(layout: bpy.types.UILayout, context: bpy.types.Context) -> None:
    """In the preferences, where PyTorch is missing: what it would add, and the install buttons."""
    missing = missing_packages()
    if not missing:
        return
    box = layout.box()
    col = box.column(align=True)
    col.label(text="PyTorch (optional) is not installed in Blender.", icon='INFO')
    col.label(text="Every GenAnim feature runs without it, on GenAnim's own numpy runtime.")
    col.label(text="Installing it makes sampling faster and lets it use an NVIDIA GPU.")
    if not compat.online_access_allowed():
        col.label(text="Allow online access (Preferences > System) to install it.")
    row = box.row(align=True)
    row.operator(GENANIM_OT_install_torch.bl_idname, text="Install PyTorch (CPU)").variant = 'CPU'
    row.operator(GENANIM_OT_install_torch.bl_idname, text="Install PyTorch (CUDA)").variant = 'CUDA'


class GENANIM_OT_install_torch(bpy.types.Operator):
    """Download and install PyTorch into GenAnim's user data folder (needs online access)"""

    bl_idname = "genanim.install_torch"
    bl_label = "Install PyTorch"
    bl_options = {'REGISTER'}

    variant: EnumProperty(
        name="Build",
        items=[('CPU', "CPU", "Runs everywhere (~200 MB)"), ('CUDA', "CUDA", "NVIDIA GPUs (~2.5 GB)")],
        default='CPU',
    )

    _proc: subprocess.Popen | None = None
    _timer = None

    def _command(self, context: bpy.types.Context) -> list[str]:
        return [sys.executable, "-m", "pip", "install", "--upgrade", "--target", str(install_dir(context, create=True)),
                "--index-url", INDEX_URLS[self.variant], "--extra-index-url", "https://pypi.org/simple",
                *PINS]

    def execute(self, context: bpy.types.Context) -> set[str]:
        if torch_available():
            self.report({'INFO'}, "PyTorch and safetensors are already installed")
            return {'CANCELLED'}
        if not compat.online_access_allowed():
            self.report({'ERROR'}, "Online access is off: allow it in Preferences > System > Network, then retry")
            return {'CANCELLED'}
        if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
            subprocess.run([sys.executable, "-m", "ensurepip", "--user"], capture_output=True)
        cmd = self._command(context)
        if bpy.app.background:  # no event loop: install synchronously
            done = subprocess.run(cmd, capture_output=True, text=True)
            return self._finish(context, done.returncode, done.stderr)
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._timer = context.window_manager.event_timer_add(0.5, window=context.window)
        context.window_manager.modal_handler_add(self)
        context.window_manager.progress_begin(0, 1)
        self.report({'INFO'}, f"Installing PyTorch ({self.variant}) in the background; Esc cancels")
        return {'RUNNING_MODAL'}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if event.type == 'ESC':
            self._proc.terminate()
            self._cleanup(context)
            self.report({'WARNING'}, "PyTorch install cancelled")
            return {'CANCELLED'}
        if event.type != 'TIMER' or self._proc.poll() is None:
            return {'PASS_THROUGH'}
        self._cleanup(context)
        return self._finish(context, self._proc.returncode, self._proc.stderr.read())

    def _cleanup(self, context: bpy.types.Context) -> None:
        context.window_manager.event_timer_remove(self._timer)
        context.window_manager.progress_end()

    def _finish(self, context: bpy.types.Context, returncode: int, stderr: str) -> set[str]:
        if returncode != 0:
            last = (stderr or "").strip().splitlines()[-1:] or ["no output"]
            self.report({'ERROR'}, f"Installing PyTorch failed (pip exit code {returncode}): {last[0]}")
            return {'CANCELLED'}
        add_install_dir(context)
        self.report({'INFO'}, f"PyTorch installed in {install_dir(context)}")
        return {'FINISHED'}


classes = (GENANIM_OT_install_torch,)
register, unregister = bpy.utils.register_classes_factory(classes)

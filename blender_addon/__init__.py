# SPDX-License-Identifier: GPL-3.0-or-later
"""GenAnim: generative character animation for Blender."""

bl_info = {
    "name": "GenAnim",
    "author": "GenAnim contributors",
    "version": (0, 1, 0),
    "blender": (4, 5, 0),
    "location": "View3D > Sidebar > GenAnim",
    "description": "Generative character animation",
    "category": "Animation",
}


def register() -> None:
    pass


def unregister() -> None:
    pass

# SPDX-License-Identifier: GPL-3.0-or-later
"""GenAnim: generative character animation for Blender.

Installs from one zip both as an extension (4.2+) and as a legacy add-on;
`core` is vendored inside, so every import is relative to this package.
"""

from . import control, generate, generator, inbetween, operators, panels, prefs, props, torch_env

bl_info = {
    "name": "GenAnim",
    "author": "GenAnim contributors",
    "version": (0, 1, 0),
    "blender": (4, 5, 0),
    "location": "View3D > Sidebar > GenAnim",
    "description": "Generative character animation: generate, fill gaps, retarget, import and export motion",
    "category": "Animation",
}

# Properties and preferences before the operators and panels that use them.
_MODULES = (prefs, props, torch_env, operators, generate, inbetween, panels, control)


def register() -> None:
    for module in _MODULES:
        module.register()


def unregister() -> None:
    generator.clear()
    for module in reversed(_MODULES):
        module.unregister()

# SPDX-License-Identifier: GPL-3.0-or-later
"""Loading the motion generator (core.generation) with plain errors: with PyTorch where it is installed,
with GenAnim's numpy runtime otherwise (a stock Blender)."""

from __future__ import annotations

import importlib
from pathlib import Path

import bpy

from . import prefs
from .core.errors import GenAnimError

_loaded: dict[tuple[str, str, str], object] = {}
_info: dict[tuple[str, int], tuple[object, list[str], list[str]]] = {}


def resolve_model(context: bpy.types.Context, model: str) -> tuple[str, Path]:
    """(model name or file, weights folder); GenAnimError if no weights file for it exists."""
    p = prefs.get(context)
    model = model or (p.default_model if p is not None else "") or "diffusion"
    folder = prefs.weights_dir(context)
    if model.endswith(".safetensors"):
        path = Path(bpy.path.abspath(model))
        if not path.is_file():
            raise GenAnimError(f"Model weights are missing: {path} does not exist")
        return str(path), folder
    if not (folder / f"{model}.safetensors").is_file():
        raise GenAnimError(
            f"Model weights are missing: no {model}.safetensors in {folder}. Install a GenAnim build that ships "
            "them, or set Preferences > Add-ons > GenAnim > Weights Folder to a folder holding them"
        )
    return model, folder


def load(context: bpy.types.Context, model: str):
    """The generator for `model` on the preferred device, loaded once per session."""
    name, folder = resolve_model(context, model)
    p = prefs.get(context)
    device = p.device if p is not None else "auto"
    key = (name, device, str(folder))
    if key not in _loaded:
        try:
            generation = importlib.import_module(f"{__package__}.core.generation")
            _loaded[key] = generation.load_generator(name, device=device, weights_dir=folder)
        except ModuleNotFoundError as e:
            raise GenAnimError(f"Generating needs the Python package {e.name!r}, which does not import") from None
    return _loaded[key]


def model_info(context: bpy.types.Context, model: str) -> tuple[object, list[str], list[str]]:
    """(skeleton, actions, styles) of `model` from its weights file's metadata alone: no network is built, so
    nothing imports PyTorch (Create Armature and the label lists stay light)."""
    name, folder = resolve_model(context, model)
    path = Path(name) if name.endswith(".safetensors") else folder / f"{name}.safetensors"
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _info:
        weights = importlib.import_module(f"{__package__}.core.models.weights")
        _, meta = weights.read_weights(path)
        if "skeleton" not in meta or "vocabulary" not in meta:
            raise GenAnimError(f"{path} is not a motion model (no skeleton or labels in its metadata)")
        labels = meta["vocabulary"]
        skeleton = importlib.import_module(f"{__package__}.core.motion.skeleton").Skeleton
        _info[key] = (skeleton.from_json(meta["skeleton"]), list(labels["actions"]), list(labels["styles"]))
    return _info[key]


def clear() -> None:
    """Forget loaded generators (their memory goes back when the add-on is disabled)."""
    _loaded.clear()
    _info.clear()

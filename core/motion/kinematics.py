"""Forward kinematics, batched, for numpy arrays and torch tensors (one implementation)."""

from __future__ import annotations

from collections.abc import Sequence

from .rotations import xp


def forward_kinematics(parents: Sequence[int], rotations, translations):
    """Global joint rotations and positions.

    parents:      (J,) parent index per joint, -1 for roots, parents[j] < j
    rotations:    (..., J, 3, 3) local rotation of each joint in its parent's frame
    translations: (..., J, 3) local translation of each joint in its parent's frame
    returns:      (global rotations (..., J, 3, 3), global positions (..., J, 3))
    """
    m = xp(rotations)
    g_rot, g_pos = [], []
    for j, p in enumerate(parents):
        if p < 0:
            g_rot.append(rotations[..., j, :, :])
            g_pos.append(translations[..., j, :])
        else:
            g_rot.append(g_rot[p] @ rotations[..., j, :, :])
            g_pos.append(g_pos[p] + (g_rot[p] @ translations[..., j, :, None])[..., 0])
    return m.stack(g_rot, axis=-3), m.stack(g_pos, axis=-2)

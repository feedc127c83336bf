"""Skeletons: joint names, parents and rest offsets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import MotionDataError

# Left/right naming conventions, tried in order: (pattern, replacement for the other side).
_SIDE_PATTERNS = (
    (re.compile(r"_L$"), "_R"), (re.compile(r"_R$"), "_L"),
    (re.compile(r"\.L$"), ".R"), (re.compile(r"\.R$"), ".L"),
    (re.compile(r"_l$"), "_r"), (re.compile(r"_r$"), "_l"),
    (re.compile(r"Left"), "Right"), (re.compile(r"Right"), "Left"),
    (re.compile(r"left"), "right"), (re.compile(r"right"), "left"),
    (re.compile(r"^L_"), "R_"), (re.compile(r"^R_"), "L_"),
    # 3ds Max Biped ("Bip01 L Thigh", "Bip01_R_Foot") and initials ("LThigh", "RFoot").
    (re.compile(r"(?<=[ _])L(?=[ _])"), "R"), (re.compile(r"(?<=[ _])R(?=[ _])"), "L"),
    (re.compile(r"^L(?=[A-Z])"), "R"), (re.compile(r"^R(?=[A-Z])"), "L"),
)
_LEFT = re.compile(r"(_L|\.L|_l)$|Left|left|^L_|(?<=[ _])L(?=[ _])|^L(?=[A-Z])")


@dataclass(frozen=True, eq=False)
class Skeleton:
    """A joint hierarchy. Joints are topologically ordered: parents[j] < j.

    Units and axes are those of the source (BVH: centimetres, Y up for the
    Bandai Namco data). `channels` records the BVH channel layout used when a
    clip of this skeleton is written as BVH.
    """

    names: tuple[str, ...]
    parents: np.ndarray  # (J,) int64, -1 for the root
    offsets: np.ndarray  # (J, 3) rest offset in the parent's frame
    end_sites: dict[int, np.ndarray] = field(default_factory=dict)
    channels: tuple[tuple[str, ...], ...] = ()
    # Given by the user where the names do not tell (a library's skeleton.json; weights keep them):
    mirror_pairs: tuple[tuple[str, str], ...] = ()  # left/right joint pairs; () = found from the names
    foot_joints: tuple[str, ...] = ()  # joints whose floor contacts count; () = found from the names

    def __post_init__(self) -> None:
        parents = np.asarray(self.parents, dtype=np.int64)
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "offsets", np.asarray(self.offsets, dtype=np.float64).reshape(-1, 3))
        if not all(p < j for j, p in enumerate(parents)):
            raise ValueError("joints must be ordered so that parents[j] < j")
        if len(self.names) != len(parents) or len(parents) != len(self.offsets):
            raise ValueError("names, parents and offsets must have one entry per joint")
        pairs = tuple((str(a), str(b)) for a, b in self.mirror_pairs)
        object.__setattr__(self, "mirror_pairs", pairs)
        object.__setattr__(self, "foot_joints", tuple(str(n) for n in self.foot_joints))
        for name in [n for pair in pairs for n in pair] + list(self.foot_joints):
            self.index(name)  # an unknown name is an error that lists the skeleton's joints

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Index of joint `name`; MotionDataError if the skeleton has no such joint."""
        try:
            return self.names.index(name)
        except ValueError:
            raise MotionDataError(f"unknown joint {name!r}; this skeleton has: {', '.join(self.names)}") from None

    def children(self, j: int) -> list[int]:
        return [int(c) for c in np.nonzero(self.parents == j)[0]]

    def bone_lengths(self) -> np.ndarray:
        """(J,) length of each joint's rest offset (0 for roots)."""
        return np.linalg.norm(self.offsets, axis=-1) * (self.parents >= 0)

    def mirror_indices(self) -> np.ndarray:
        """(J,) index of each joint's left/right counterpart (itself for centre joints)."""
        out = np.arange(self.num_joints)
        if self.mirror_pairs:
            for a, b in self.mirror_pairs:
                out[self.index(a)], out[self.index(b)] = self.index(b), self.index(a)
            return out
        for j, name in enumerate(self.names):
            for pat, repl in _SIDE_PATTERNS:
                if pat.search(name):
                    other = pat.sub(repl, name)
                    if other in self.names:
                        out[j] = self.names.index(other)
                        break
        return out

    def annotated(self, mirror_pairs: Sequence[Sequence[str]] | None = None,
                  foot_joints: Sequence[str] | None = None) -> Skeleton:
        """This skeleton with the given left/right pairs and foot joints (None keeps what it has)."""
        pairs = self.mirror_pairs if mirror_pairs is None else tuple(map(tuple, mirror_pairs))
        return replace(self, mirror_pairs=pairs, foot_joints=self.foot_joints if foot_joints is None else foot_joints)

    def to_json(self) -> dict:
        d = {
            "names": list(self.names),
            "parents": self.parents.tolist(),
            "offsets": self.offsets.tolist(),
            "end_sites": {str(k): np.asarray(v).tolist() for k, v in self.end_sites.items()},
            "channels": [list(c) for c in self.channels],
        }
        if self.mirror_pairs:
            d["mirror_pairs"] = [list(p) for p in self.mirror_pairs]
        if self.foot_joints:
            d["foot_joints"] = list(self.foot_joints)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Skeleton:
        return cls(
            tuple(d["names"]),
            np.array(d["parents"]),
            np.array(d["offsets"]),
            {int(k): np.array(v) for k, v in d["end_sites"].items()},
            tuple(tuple(c) for c in d["channels"]),
            tuple(tuple(p) for p in d.get("mirror_pairs", ())),
            tuple(d.get("foot_joints", ())),
        )

    def is_left(self, j: int) -> bool:
        """Whether joint `j` is on the body's left: the first of a given pair, else by its name."""
        if self.mirror_pairs:
            return self.names[j] in {a for a, _ in self.mirror_pairs}
        return bool(_LEFT.search(self.names[j]))

    def signature(self) -> str:
        """Short hash of names, parents and offsets (mm precision): equal for the same skeleton."""
        h = hashlib.sha1()
        h.update("\n".join(self.names).encode())
        h.update(self.parents.tobytes())
        h.update(np.round(self.offsets * 10).astype(np.int64).tobytes())
        return h.hexdigest()[:12]

    def same_as(self, other: Skeleton, tol: float = 1e-3) -> bool:
        return (
            self.names == other.names
            and np.array_equal(self.parents, other.parents)
            and np.allclose(self.offsets, other.offsets, atol=tol)
        )

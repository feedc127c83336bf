"""Real body measurements: ANSUR II (soldiers, 17-58) and NHANES 2017-2020 (ages 12-80), one table.

Only the measurements both surveys take the same way are kept (cm, kg, years):
stature, weight, waist and hip circumference, upper arm length (acromion-radiale).
Rows with any of them missing are dropped. A fifth of the subjects, chosen by a
hash of survey and subject id, is held out for evaluation; nothing trains on it.

Model features are `FEATURES`: age in years, then the log of each length/mass,
so that BMI (and waist/height) is linear in them: log BMI = log w - 2 log(h/100).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GenAnimError

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bodies"
COLUMNS = ("age", "stature", "weight", "waist", "hip", "arm")  # years, cm, kg, cm, cm, cm
FEATURES = ("age", "log_stature", "log_weight", "log_waist", "log_hip", "log_arm")
SOURCES = ("ansur2", "nhanes")
HELD_OUT_FRACTION = 0.2


class BodyDataError(GenAnimError):
    """Missing or malformed body-measurement data."""


@dataclass(frozen=True)
class Table:
    values: np.ndarray  # (N, 6) COLUMNS, float64
    sex: np.ndarray  # (N,) 0 male, 1 female
    source: np.ndarray  # (N,) index into SOURCES
    weight: np.ndarray  # (N,) survey weight (1 for ANSUR)
    held_out: np.ndarray  # (N,) bool

    def subset(self, mask: np.ndarray) -> Table:
        return Table(self.values[mask], self.sex[mask], self.source[mask], self.weight[mask], self.held_out[mask])


def to_features(values: np.ndarray) -> np.ndarray:
    """(..., 6) COLUMNS -> (..., 6) FEATURES."""
    out = np.array(values, dtype=np.float64)
    out[..., 1:] = np.log(out[..., 1:])
    return out


def from_features(feats: np.ndarray) -> np.ndarray:
    out = np.array(feats, dtype=np.float64)
    out[..., 1:] = np.exp(out[..., 1:])
    return out


def _held_out(source: str, subject: str) -> bool:
    h = hashlib.sha1(f"{source}:{subject}".encode()).digest()
    return int.from_bytes(h[:4], "little") / 2**32 < HELD_OUT_FRACTION


def _read_csv(path: Path, encoding: str) -> list[dict[str, str]]:
    if not path.exists():
        raise BodyDataError(f"{path}: body-measurement file is missing "
                            "(the shared data must sit beside the repository)")
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def _ansur(path: Path, encoding: str) -> list[tuple]:
    rows = []
    for r in _read_csv(path, encoding):
        sid = r.get("subjectid") or r.get("SubjectId")  # the two files spell the id column differently
        try:
            # mm -> cm; weightkg is in 0.1 kg. Weightlbs (self-reported, sometimes 0) is not used.
            vals = (float(r["Age"]), float(r["stature"]) / 10, float(r["weightkg"]) / 10,
                    float(r["waistcircumference"]) / 10, float(r["buttockcircumference"]) / 10,
                    float(r["acromionradialelength"]) / 10)
        except (KeyError, ValueError) as e:
            raise BodyDataError(f"{path}: subject {sid}: bad or missing measurement ({e})") from None
        sex = 0 if r["Gender"].strip().lower() == "male" else 1
        rows.append((vals, sex, 0, 1.0, _held_out("ansur2", sid)))
    return rows


def _nhanes(path: Path) -> list[tuple]:
    keys = ("RIDAGEYR", "BMXHT", "BMXWT", "BMXWAIST", "BMXHIP", "BMXARML")
    rows = []
    for r in _read_csv(path, "utf-8"):
        if any(r[k] in ("NA", "") for k in keys) or r["WTMECPRP"] in ("NA", ""):
            continue
        vals = tuple(float(r[k]) for k in keys)
        rows.append((vals, int(r["RIAGENDR"]) - 1, 1, float(r["WTMECPRP"]), _held_out("nhanes", r["SEQN"])))
    return rows


def load_table(data_dir: Path = DATA_DIR) -> Table:
    """Both surveys, adults and teens, every row complete. ~14,600 subjects."""
    rows = (_ansur(data_dir / "ansur2_male_train.csv", "latin-1")
            + _ansur(data_dir / "ansur2_female_train.csv", "utf-8")
            + _nhanes(data_dir / "nhanes_p_demo_bmx_2020.csv"))
    values = np.array([r[0] for r in rows])
    ok = np.all(np.isfinite(values) & (values > 0), axis=1)
    cols = list(zip(*[r[1:] for r in rows], strict=True))
    t = Table(values, np.array(cols[0]), np.array(cols[1]), np.array(cols[2]), np.array(cols[3], dtype=bool))
    return t.subset(ok)

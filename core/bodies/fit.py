"""Measurements -> body shape: batched fits through the (differentiable, linear) body model, then a predictor.

    python -m core.bodies.fit [--subjects 600] [--steps 400] [--seed 0]

Fit: for survey subjects from the training split, shape parameters theta that
reproduce stature, weight (volume x 985 kg/m^3), waist and hip, with the
phenotype read-outs of the scores pulled to the subject's sex and age, a prior
keeping the PCA scores where anny's phenotype samples are, and measure targets
within [-1, 1]. Predictor: a small MLP from (sex, age, measurements) to theta,
trained on the fits; weights/body_predictor.npz, evaluated on held-out subjects.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from .body import DENSITY, WEIGHTS, BodyModel
from .measurements import load_table

REPO = Path(__file__).resolve().parents[2]
PREDICTOR = REPO / "weights" / "body_predictor.npz"
FIT_KEYS = ("stature", "weight", "waist", "hip")  # table columns 1..4
AGE_YEARS = (1.0, 11.0, 25.0, 90.0)  # anny's age anchors 0, 1/3, 2/3, 1 (baby, child, young, old)


def age_phenotype(years: np.ndarray) -> np.ndarray:
    return np.interp(years, AGE_YEARS, (0.0, 1 / 3, 2 / 3, 1.0))


def predictor_inputs(sex: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(N,) sex, (N, 6) table columns -> (N, 6) = sex, age / 50, log of stature, weight, waist, hip."""
    return np.column_stack([sex, values[:, 0] / 50.0, np.log(values[:, 1:5])])


class TorchBody:
    """The body model's linear map and tape measures in torch (float32), batched."""

    def __init__(self, model: BodyModel):
        import torch

        self.t = torch
        self.m = model
        self.lin = torch.tensor(model.lin, dtype=torch.float32)
        self.offset = torch.tensor(model.offset, dtype=torch.float32)
        self.faces = torch.tensor(model.faces)
        self.waist, self.hip = torch.tensor(model.waist_loop), torch.tensor(model.hip_loop)

    def measure(self, theta):
        """(B, P + L) -> dict of (B,) stature cm, weight kg, waist cm, hip cm."""
        t, p = self.t, self.m.num_pca
        loc = theta[:, p:].clamp(-1, 1)
        coeffs = t.cat([theta[:, :p], loc.clamp(min=0), (-loc).clamp(min=0)], 1)
        v = (self.offset + coeffs @ self.lin)[:, : 3 * self.m.num_vertices].reshape(len(theta), -1, 3)
        a, b, c = (v[:, self.faces[:, k]] for k in range(3))
        vol = (t.cross(a, b, dim=-1) * c).sum((1, 2)).abs() / 6

        def loop(idx):
            q = v[:, idx]
            return (q - q.roll(1, 1)).norm(dim=-1).sum(1)

        return {"stature": 100 * (v[..., 2].amax(1) - v[..., 2].amin(1)), "weight": DENSITY * vol,
                "waist": 100 * loop(self.waist), "hip": 100 * loop(self.hip)}


def fit(model: BodyModel, sex: np.ndarray, values: np.ndarray, steps: int, log=print) -> np.ndarray:
    """(N,) sex, (N, 6) table rows -> (N, P + L) shape parameters."""
    import torch

    body = TorchBody(model)
    p = model.num_pca
    with np.load(WEIGHTS) as f:
        pheno = torch.tensor(f["phenotype_from_scores"], dtype=torch.float32)  # (P + 1, 6): gender, age, ...
    target = {k: torch.tensor(values[:, 1 + i], dtype=torch.float32) for i, k in enumerate(FIT_KEYS)}
    gender = torch.tensor(sex, dtype=torch.float32)  # anny gender: 0 male, 1 female
    age = torch.tensor(age_phenotype(values[:, 0]), dtype=torch.float32)
    theta = torch.zeros(len(sex), model.num_params, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.05)
    for step in range(steps):
        m = body.measure(theta)
        rel = sum(((m[k] - target[k]) / target[k]) ** 2 for k in FIT_KEYS)
        ph = torch.cat([theta[:, :p], torch.ones(len(sex), 1)], 1) @ pheno
        loss = (1e3 * rel + (ph[:, 0] - gender) ** 2 + (ph[:, 1] - age) ** 2
                + 1e-2 * (theta[:, :p] ** 2).mean(1) + 1e-2 * (theta[:, p:] ** 2).mean(1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            theta[:, p:].clamp_(-1, 1)
        if step % 100 == 0 or step == steps - 1:
            err = {k: float(((m[k].detach() - target[k]).abs() / target[k]).median() * 100) for k in FIT_KEYS}
            log(f"fit step {step:4d}  loss {loss.item():.4f}  median error % " +
                "  ".join(f"{k} {e:.3f}" for k, e in err.items()))
    return theta.detach().numpy().astype(np.float64)


def train_predictor(x: np.ndarray, theta: np.ndarray, steps: int = 3000, seed: int = 0) -> dict[str, np.ndarray]:
    """Small MLP (6 -> 64 -> 64 -> P + L) on standardised inputs; numpy weights."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    mu, sd = x.mean(0), x.std(0)
    xt = torch.tensor((x - mu) / sd, dtype=torch.float32)
    yt = torch.tensor(theta, dtype=torch.float32)
    net = nn.Sequential(nn.Linear(x.shape[1], 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(),
                        nn.Linear(64, theta.shape[1]))
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(steps):
        loss = ((net(xt) - yt) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = {f"net.{k}": v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    out.update(x_mean=mu.astype(np.float32), x_std=sd.astype(np.float32))
    return out


class ShapePredictor:
    """(sex, measurements) -> theta, numpy."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.layers = [(arrays[f"net.{i}.weight"].astype(np.float64), arrays[f"net.{i}.bias"].astype(np.float64))
                       for i in (0, 2, 4)]
        self.mu, self.sd = arrays["x_mean"].astype(np.float64), arrays["x_std"].astype(np.float64)

    @staticmethod
    def load(path: Path = PREDICTOR) -> ShapePredictor:
        from .body import BodyModelError

        if not Path(path).exists():
            raise BodyModelError(f"{path}: shape predictor is missing (rebuild: python -m core.bodies.fit)")
        with np.load(path, allow_pickle=False) as f:
            return ShapePredictor({k: f[k] for k in f.files})

    def __call__(self, sex: np.ndarray, values: np.ndarray) -> np.ndarray:
        h = (predictor_inputs(sex, values) - self.mu) / self.sd
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < 2:
                h = h / (1 + np.exp(-h))
        return h


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(prog="python -m core.bodies.fit")
    ap.add_argument("--subjects", type=int, default=600)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    table = load_table()
    model = BodyModel.load()
    rng = np.random.default_rng(args.seed)
    train = table.subset(~table.held_out)
    # Half men, half women; both surveys as they come.
    idx = np.concatenate([rng.choice(np.nonzero(train.sex == s)[0], args.subjects // 2, replace=False) for s in (0, 1)])
    theta = fit(model, train.sex[idx], train.values[idx], args.steps)
    params = train_predictor(predictor_inputs(train.sex[idx], train.values[idx]), theta, seed=args.seed)
    np.savez(PREDICTOR, **params)
    info = {"subjects": int(len(idx)), "fit_steps": args.steps, "wall_s": round(time.time() - t0, 1),
            "command": "python -m core.bodies.fit " + " ".join(f"--{k} {v}" for k, v in vars(args).items())}
    print(json.dumps(info))
    print(f"wrote {PREDICTOR}")


if __name__ == "__main__":
    main()

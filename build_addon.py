"""Build the installable add-on: dist/genanim-<version>.zip.

    python build_addon.py [--out DIR]

The zip holds one folder, `genanim/`, with the add-on's modules, its
`blender_manifest.toml` (so it installs as a Blender 4.2+ extension) and
`bl_info` in `__init__.py` (so it installs as a legacy add-on too). `core` is
vendored inside as the subpackage `genanim.core` (real files, the symlink
dereferenced), so nothing named `core` lands on Blender's top-level path; the
shipped weights (*.safetensors, *.npz and model cards) go to `genanim/weights/`.
Entries are sorted and time-stamped 1980-01-01, so one tree gives one zip.
"""

from __future__ import annotations

import argparse
import ast
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent
PACKAGE = "genanim"
SKIP_DIRS = {"__pycache__", "tests", ".pytest_cache", ".ruff_cache", ".hypothesis"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
WEIGHT_PATTERNS = ("*.safetensors", "*.npz", "*.md", "*.json")  # npz: the body models (numpy, no pickle)
BLENDER_MIN = "4.5.0"


def bl_info(init: Path) -> dict:
    """The add-on's bl_info, read without importing it (that needs bpy)."""
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "bl_info" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit(f"{init}: no bl_info")


def manifest(info: dict, version: str) -> str:
    return f'''schema_version = "1.0.0"

id = "{PACKAGE}"
version = "{version}"
name = "{info["name"]}"
tagline = "Generate, fill gaps, retarget and export character animation"
maintainer = "{info["author"]}"
type = "add-on"
tags = ["Animation", "Rigging"]
blender_version_min = "{BLENDER_MIN}"
license = ["SPDX:GPL-3.0-or-later"]

[permissions]
files = "Import and export motion files (BVH, FBX, glTF)"
network = "Download PyTorch when you click Install PyTorch"
'''


def _files(root: Path) -> list[Path]:
    """Every file under `root` (symlinks followed), minus caches and tests."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS for part in rel.parts) or path.suffix in SKIP_SUFFIXES or not path.is_file():
            continue
        out.append(path)
    return out


def contents(weights: Path = REPO / "weights") -> tuple[str, dict[str, Path | str]]:
    """(version, {path inside the zip: source file or text})."""
    addon = REPO / "blender_addon"
    info = bl_info(addon / "__init__.py")
    version = ".".join(str(v) for v in info["version"])
    entries: dict[str, Path | str] = {f"{PACKAGE}/blender_manifest.toml": manifest(info, version)}
    for path in _files(addon):
        rel = path.relative_to(addon)
        if rel.parts[0] != "core":  # the symlink; vendored below from the real folder
            entries[f"{PACKAGE}/{rel.as_posix()}"] = path
    for path in _files(REPO / "core"):
        entries[f"{PACKAGE}/core/{path.relative_to(REPO / 'core').as_posix()}"] = path
    for pattern in WEIGHT_PATTERNS:
        for path in sorted(weights.glob(pattern)):
            entries[f"{PACKAGE}/weights/{path.name}"] = path
    entries.setdefault(f"{PACKAGE}/weights/README.txt", "Model weights shipped with this build (none if empty).\n")
    licence = REPO / "LICENSE"
    if licence.is_file():
        entries[f"{PACKAGE}/LICENSE"] = licence
    return version, entries


def build(out_dir: Path = REPO / "dist", weights: Path = REPO / "weights") -> Path:
    """Write the zip into `out_dir`, with the weights found in `weights`; returns its path."""
    version, entries = contents(weights)
    out_dir.mkdir(parents=True, exist_ok=True)
    zip_path = out_dir / f"{PACKAGE}-{version}.zip"
    tmp = zip_path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            src = entries[name]
            data = src.encode() if isinstance(src, str) else src.read_bytes()
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    tmp.replace(zip_path)
    return zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="output folder (default: dist/)")
    parser.add_argument("--weights", type=Path, default=REPO / "weights", help="weights to ship (default: weights/)")
    args = parser.parse_args(argv)
    path = build(args.out, args.weights)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    weights = [n.split("/")[-1] for n in names if n.startswith(f"{PACKAGE}/weights/") and not n.endswith(".txt")]
    size = path.stat().st_size / 1e6
    print(f"wrote {path} ({size:.2f} MB, {len(names)} files; weights: {', '.join(weights) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

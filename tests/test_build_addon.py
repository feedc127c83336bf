"""build_addon.py: one installable zip with core and the weights vendored inside (no Blender needed)."""

from __future__ import annotations

import ast
import tomllib
import zipfile
from pathlib import Path

import pytest

from build_addon import build

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("weights")
    (folder / "diffusion.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    (folder / "diffusion.md").write_text("# Model card\n")
    (folder / "scratch.pt").write_bytes(b"not shipped")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory, weights: Path) -> Path:
    return build(tmp_path_factory.mktemp("dist"), weights)


def test_one_top_level_folder_installable_both_ways(built: Path):
    with zipfile.ZipFile(built) as zf:
        names = zf.namelist()
        init = zf.read("genanim/__init__.py").decode()
        manifest = tomllib.loads(zf.read("genanim/blender_manifest.toml").decode())
        infos = zf.infolist()
    assert built.name == "genanim-0.1.0.zip"
    assert {n.split("/")[0] for n in names} == {"genanim"}
    bl_info = next(ast.literal_eval(node.value) for node in ast.parse(init).body
                   if isinstance(node, ast.Assign) and node.targets[0].id == "bl_info")
    assert bl_info["blender"] == (4, 5, 0)
    for field in ("schema_version", "id", "name", "tagline", "version", "type", "maintainer", "license",
                  "blender_version_min"):
        assert field in manifest, field
    assert manifest["id"] == "genanim" and manifest["type"] == "add-on"
    assert manifest["version"] == ".".join(map(str, bl_info["version"]))
    assert manifest["blender_version_min"] == "4.5.0"
    assert all(lic.startswith("SPDX:") for lic in manifest["license"])
    assert all((i.external_attr >> 16) & 0o170000 in (0, 0o100000) for i in infos)  # plain files, no links


def test_core_and_weights_are_vendored_inside(built: Path):
    with zipfile.ZipFile(built) as zf:
        names = set(zf.namelist())
    core_files = {f"genanim/core/{p.relative_to(REPO / 'core').as_posix()}" for p in (REPO / "core").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert core_files <= names
    assert "genanim/core/retarget/reference_pose.bvh" in names  # data files too, not just modules
    assert not any(n.startswith("core/") or "/__pycache__/" in n or n.endswith(".pyc") or "/tests/" in n
                   for n in names)
    assert {"genanim/weights/diffusion.safetensors", "genanim/weights/diffusion.md"} <= names
    assert "genanim/weights/scratch.pt" not in names
    addon_modules = {f"genanim/{p.name}" for p in (REPO / "blender_addon").glob("*.py")}
    assert addon_modules <= names


def test_build_is_reproducible(tmp_path: Path, built: Path, weights: Path):
    again = build(tmp_path, weights)
    assert again.read_bytes() == built.read_bytes()


def test_install_pytorch_pins_what_requirements_pin():
    """The add-on's optional PyTorch install asks pip for the versions the project is tested with."""
    tree = ast.parse((REPO / "blender_addon" / "torch_env.py").read_text(encoding="utf-8"))
    pins = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == "PINS" for t in node.targets))
    required = {line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()}
    assert pins and set(pins) <= required, (pins, required)

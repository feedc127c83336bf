"""Label vocabularies, sidecars, file-name fallback and mirrored labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SAMPLES

from core.data.errors import LabelError
from core.data.labels import (
    LabelLists,
    Vocabulary,
    mirror_label,
    parse_clip_name,
    read_label_list,
    strip_prefix,
)
from core.errors import GenAnimError

# The cfg/ lists of both datasets, as shipped (data/README.md).
D1_ACTIONS = ["walk", "run", "dash", "walk-back", "walk-left", "walk-right", "bow", "bye", "guide", "byebye",
              "respond", "call", "punch", "kick", "slash", "dance-long", "dance-short"]
D1_STYLES = ["normal", "happy", "sad", "angry", "proud", "not-confident", "masculinity", "feminine", "childish",
             "old", "tired", "active", "musical", "giant", "chimpira"]
D2_ACTIONS = ["walk", "walk-turn-left", "walk-turn-right", "run", "wave-both-hands", "wave-left-hand",
              "wave-right-hand", "raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand"]
D2_STYLES = ["active", "elderly", "exhausted", "feminine", "masculine", "normal", "youthful"]


def write_cfg(folder: Path, dataset: str, actions: list[str], styles: list[str]) -> Path:
    """cfg/ lists like the archives': prefixed names, the last line without a newline."""
    cfg = folder / "cfg"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "content_label.txt").write_text("\n".join(f"{dataset}_{a}" for a in actions))
    (cfg / "style_label.txt").write_text("\n".join(f"{dataset}_{s}" for s in styles) + "\n")
    return cfg


def test_strip_prefix():
    assert strip_prefix("dataset-2_walk-turn-left") == ("dataset-2", "walk-turn-left")
    assert strip_prefix("walk\n") == (None, "walk")


def test_label_list_without_final_newline(tmp_path):
    cfg = write_cfg(tmp_path, "dataset-2", D2_ACTIONS, D2_STYLES)
    assert read_label_list(cfg / "content_label.txt") == ("dataset-2", D2_ACTIONS)
    lists = LabelLists.from_cfg(cfg)
    assert lists.dataset == "dataset-2" and lists.styles == tuple(D2_STYLES)


def test_sample_sidecars_agree_with_file_names(tmp_path):
    lists = {
        "dataset-1": LabelLists.from_cfg(write_cfg(tmp_path / "d1", "dataset-1", D1_ACTIONS, D1_STYLES)),
        "dataset-2": LabelLists.from_cfg(write_cfg(tmp_path / "d2", "dataset-2", D2_ACTIONS, D2_STYLES)),
    }
    paths = sorted(SAMPLES.glob("*.bvh"))
    assert {p.name.split("_")[0] for p in paths} == {"dataset-1", "dataset-2"}
    for p in paths:
        name = parse_clip_name(p)
        assert name is not None and name.take == 1
        assert lists[name.dataset].read_sidecar(p.with_suffix(".json")) == (name.action, name.style)


def test_parse_clip_name():
    n = parse_clip_name("x/dataset-1_walk-back_not-confident_012.bvh")
    assert (n.dataset, n.action, n.style, n.take) == ("dataset-1", "walk-back", "not-confident", 12)
    assert parse_clip_name("my_clip.bvh") is None
    assert parse_clip_name("dataset-1_walk_012.bvh") is None


@pytest.mark.parametrize("content", ['{"content": 99, "style": 0}', '{"style": 0}', "not json", '{"content": "a"}'])
def test_bad_sidecar(tmp_path, content):
    lists = LabelLists.from_cfg(write_cfg(tmp_path, "dataset-2", D2_ACTIONS, D2_STYLES))
    side = tmp_path / "x.json"
    side.write_text(content)
    with pytest.raises(LabelError, match="x.json"):
        lists.read_sidecar(side)


def test_union_vocabulary_unifies_same_words():
    d1 = LabelLists("dataset-1", tuple(D1_ACTIONS), tuple(D1_STYLES))
    d2 = LabelLists("dataset-2", tuple(D2_ACTIONS), tuple(D2_STYLES))
    voc = Vocabulary.union([d1, d2])
    assert len(voc.actions) == len(set(D1_ACTIONS) | set(D2_ACTIONS)) == 25
    assert len(voc.styles) == len(set(D1_STYLES) | set(D2_STYLES)) == 19
    for word in ("walk", "run"):
        assert voc.actions.count(word) == 1
    for word in ("normal", "feminine", "active"):
        assert voc.styles.count(word) == 1
    assert voc.action_id("walk") == 0 and voc.style_id("elderly") == len(D1_STYLES)
    assert Vocabulary.from_json(voc.to_json()) == voc


def test_unknown_label_lists_known_ones():
    voc = Vocabulary(D2_ACTIONS, D2_STYLES)
    with pytest.raises(GenAnimError, match="unknown action 'fly'.*walk-turn-left"):
        voc.action_id("fly")
    with pytest.raises(LabelError, match="known styles: active, elderly"):
        voc.style_id("sleepy")


def test_mirror_label_rule():
    pairs = [("walk-turn-left", "walk-turn-right"), ("wave-left-hand", "wave-right-hand"),
             ("raise-up-left-hand", "raise-up-right-hand"), ("walk-left", "walk-right")]
    for a, b in pairs:
        assert mirror_label(a) == b and mirror_label(b) == a
    for same in ("walk", "raise-up-both-hands", "walk-back", "normal", "leftover"):
        assert mirror_label(same) == same


def test_vocabulary_mirror_ids_are_an_involution():
    voc = Vocabulary(D1_ACTIONS + D2_ACTIONS, D1_STYLES + D2_STYLES)
    m = voc.mirror_action_ids()
    assert [m[i] for i in m] == list(range(len(voc.actions)))
    assert voc.actions[m[voc.action_id("wave-left-hand")]] == "wave-right-hand"
    with pytest.raises(LabelError, match="walk-turn-right"):
        Vocabulary(["walk-turn-left"], ["normal"]).mirror_action("walk-turn-left")


def test_sample_json_is_plain_indices():
    data = json.loads((SAMPLES / "dataset-2_walk_normal_001.json").read_text())
    assert set(data) == {"content", "style"}

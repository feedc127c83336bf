"""Action ("content") and style labels of labelled BVH corpora.

The Bandai Namco datasets name each clip `dataset-N_{action}_{style}_{NNN}.bvh`
and put a `.json` sidecar `{"content": i, "style": j}` beside it, indexing the
lists `cfg/content_label.txt` and `cfg/style_label.txt` (one `dataset-N_name`
a line). Names here never carry the `dataset-N_` prefix, so the same word in
both datasets (`walk`, `run`, `normal`, `feminine`, `active`) is one label of
the union vocabulary. Related but different words (`old`/`elderly`,
`masculinity`/`masculine`, `tired`/`exhausted`) stay distinct labels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import LabelError

_PREFIX = re.compile(r"^(dataset-\d+)_(.+)$")
# dataset-N_{action}_{style}_{NNN}: action and style use '-' inside, never '_'.
_CLIP_NAME = re.compile(r"^(dataset-\d+)_([^_]+)_([^_]+)_(\d+)$")
_SIDES = {"left": "right", "right": "left", "Left": "Right", "Right": "Left", "LEFT": "RIGHT", "RIGHT": "LEFT"}


def strip_prefix(name: str) -> tuple[str | None, str]:
    """('dataset-N', name) for 'dataset-N_name'; (None, name) without a prefix."""
    m = _PREFIX.match(name.strip())
    return (m.group(1), m.group(2)) if m else (None, name.strip())


def mirror_label(name: str) -> str:
    """The label of the left/right mirrored motion: swaps the words left and right.

    `walk-turn-left` -> `walk-turn-right`, `wave-left-hand` -> `wave-right-hand`;
    labels without a side (`walk`, `raise-up-both-hands`) map to themselves.
    """
    parts = re.split(r"([-_ ])", name)
    return "".join(_SIDES.get(p, p) for p in parts)


@dataclass(frozen=True)
class ClipName:
    """Labels parsed from a file name `dataset-N_{action}_{style}_{NNN}`."""

    dataset: str
    action: str
    style: str
    take: int


def parse_clip_name(path: str | Path) -> ClipName | None:
    """Labels from the file name pattern, or None if the name does not follow it."""
    m = _CLIP_NAME.match(Path(path).stem)
    if m is None:
        return None
    return ClipName(m.group(1), m.group(2), m.group(3), int(m.group(4)))


def read_label_list(path: str | Path) -> tuple[str | None, list[str]]:
    """(dataset id, names without prefix) from a cfg label list; blank lines are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise LabelError(f"{path}: cannot read label list ({e.strerror or e})") from None
    datasets, names = set(), []
    for line in lines:
        if line.strip():
            ds, name = strip_prefix(line)
            datasets.add(ds)
            names.append(name)
    if not names:
        raise LabelError(f"{path}: label list is empty")
    if len(datasets) > 1:
        raise LabelError(f"{path}: label list mixes prefixes {sorted(map(str, datasets))}")
    return datasets.pop(), names


@dataclass(frozen=True)
class LabelLists:
    """One dataset's `cfg/` lists: index -> name, as the `.json` sidecars use them."""

    dataset: str | None
    actions: tuple[str, ...]
    styles: tuple[str, ...]

    @classmethod
    def from_cfg(cls, cfg_dir: str | Path) -> LabelLists:
        cfg_dir = Path(cfg_dir)
        ds_a, actions = read_label_list(cfg_dir / "content_label.txt")
        ds_s, styles = read_label_list(cfg_dir / "style_label.txt")
        if ds_a != ds_s:
            raise LabelError(f"{cfg_dir}: content and style lists name different datasets ({ds_a}, {ds_s})")
        return cls(ds_a, tuple(actions), tuple(styles))

    def read_sidecar(self, json_path: str | Path) -> tuple[str, str]:
        """(action, style) named by a `{"content": i, "style": j}` sidecar."""
        try:
            data = json.loads(Path(json_path).read_text(encoding="utf-8"))
            ci, si = int(data["content"]), int(data["style"])
        except OSError as e:
            raise LabelError(f"{json_path}: cannot read label file ({e.strerror or e})") from None
        except (ValueError, KeyError, TypeError):
            raise LabelError(f'{json_path}: expected {{"content": <int>, "style": <int>}}') from None
        if not 0 <= ci < len(self.actions):
            raise LabelError(f"{json_path}: content index {ci} outside 0..{len(self.actions) - 1}")
        if not 0 <= si < len(self.styles):
            raise LabelError(f"{json_path}: style index {si} outside 0..{len(self.styles) - 1}")
        return self.actions[ci], self.styles[si]


class Vocabulary:
    """Union of action and style names over datasets, each name one integer id.

    Ids follow first appearance (dataset order, then list order), so they are
    stable for a given set of sources.
    """

    def __init__(self, actions: Iterable[str], styles: Iterable[str]):
        self.actions: tuple[str, ...] = tuple(dict.fromkeys(actions))
        self.styles: tuple[str, ...] = tuple(dict.fromkeys(styles))
        self._action_ids = {a: i for i, a in enumerate(self.actions)}
        self._style_ids = {s: i for i, s in enumerate(self.styles)}

    @classmethod
    def union(cls, lists: Iterable[LabelLists]) -> Vocabulary:
        lists = list(lists)
        return cls((a for ll in lists for a in ll.actions), (s for ll in lists for s in ll.styles))

    def action_id(self, name: str) -> int:
        if name not in self._action_ids:
            raise LabelError(f"unknown action {name!r}; known actions: {', '.join(self.actions)}")
        return self._action_ids[name]

    def style_id(self, name: str) -> int:
        if name not in self._style_ids:
            raise LabelError(f"unknown style {name!r}; known styles: {', '.join(self.styles)}")
        return self._style_ids[name]

    def mirror_action(self, name: str) -> str:
        """Mirrored action name; LabelError if the vocabulary lacks it."""
        other = mirror_label(name)
        self.action_id(name)
        if other not in self._action_ids:
            raise LabelError(f"action {name!r} mirrors to {other!r}, which is not a known action")
        return other

    def mirror_action_ids(self) -> list[int]:
        """Action id -> id of its mirror (itself for labels without a side)."""
        return [self.action_id(self.mirror_action(a)) for a in self.actions]

    def to_json(self) -> dict:
        return {"actions": list(self.actions), "styles": list(self.styles)}

    @classmethod
    def from_json(cls, data: dict) -> Vocabulary:
        return cls(data["actions"], data["styles"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and (self.actions, self.styles) == (other.actions, other.styles)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.actions)} actions, {len(self.styles)} styles)"

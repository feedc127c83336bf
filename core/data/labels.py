"""Action ("content") and style labels of labelled BVH corpora.

The Bandai Namco datasets name each clip `dataset-N_{action}_{style}_{NNN}.bvh`
and put a `.json` sidecar `{"content": i, "style": j}` beside it, indexing the
lists `cfg/content_label.txt` and `cfg/style_label.txt` (one `dataset-N_name`
a line). Names here never carry the `dataset-N_` prefix, so the same word in
both datasets (`walk`, `run`, `normal`, `feminine`, `active`) is one label of
the union vocabulary. Related but different words (`old`/`elderly`,
`masculinity`/`masculine`, `tired`/`exhausted`) stay distinct labels.

Any other labelled BVH folder is labelled per clip by `FolderLabeller`, first
rule that applies: a `.json` sidecar naming `action` and/or `style`; a
`labels.csv` manifest (`file,action,style`) at the folder's root; the folders
`ACTION/STYLE/*.bvh` or `ACTION/*.bvh`; the Bandai Namco layout above.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
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


MANIFEST = "labels.csv"


@dataclass(frozen=True)
class ClipLabel:
    """Labels of one clip; action or style is None where its source names none."""

    action: str | None
    style: str | None
    dataset: str | None  # Bandai Namco `dataset-N`, else None
    take: int | None  # take number of a Bandai Namco name, else None
    source: str  # which rule labelled it: sidecar, labels.csv, folders or file name


def _label_value(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None


@dataclass
class FolderLabeller:
    """Labels the BVH files under `root` (the rules of the module docstring); the one labelling
    function of corpora (`core.data.corpus`) and of `evaluate clips` folders."""

    root: Path
    lists: dict[Path, LabelLists | None] = field(default_factory=dict)
    _manifest: dict[str, tuple[str | None, str | None]] | None = None

    def cfg_for(self, folder: Path) -> LabelLists | None:
        # cfg/ sits beside the data folder (`<dataset>/cfg`, `<dataset>/data`) or in it.
        for cand in (folder / "cfg", folder.parent / "cfg"):
            if cand not in self.lists:
                self.lists[cand] = LabelLists.from_cfg(cand) if (cand / "content_label.txt").is_file() else None
            if self.lists[cand] is not None:
                return self.lists[cand]
        return None

    def manifest(self) -> dict[str, tuple[str | None, str | None]]:
        """`labels.csv` rows: file (relative to root, '/'-separated) -> (action, style); {} without one."""
        if self._manifest is None:
            self._manifest = read_manifest(self.root / MANIFEST) if (self.root / MANIFEST).is_file() else {}
        return self._manifest

    def label(self, path: Path) -> ClipLabel:
        """Labels of the BVH file `path`; LabelError naming the file and why where no rule applies."""
        parsed = parse_clip_name(path)
        side = path.with_suffix(".json")
        lists = self.cfg_for(path.parent)
        if side.is_file():
            meta = read_sidecar_json(side)
            # Bandai Namco sidecars index the cfg/ lists: {"content": i, "style": j}; names are strings.
            if "content" not in meta and ("action" in meta or "style" in meta):
                action, style = _label_value(meta.get("action")), _label_value(meta.get("style"))
                return ClipLabel(action, style, parsed.dataset if parsed else None,
                                 parsed.take if parsed else None, "sidecar")
            if "content" in meta and lists is not None:
                action, style = lists.read_sidecar(side)
                return ClipLabel(action, style, lists.dataset or (parsed.dataset if parsed else None),
                                 parsed.take if parsed else None, "sidecar")
        rel = path.relative_to(self.root).as_posix() if path != self.root else path.name
        row = self.manifest().get(rel)
        if row is not None:
            return ClipLabel(*row, parsed.dataset if parsed else None, parsed.take if parsed else None, MANIFEST)
        # Bandai Namco folders (`<dataset>/data/`) are not labels: that layout is read from names and cfg/.
        folders = Path(rel).parts[:-1]
        if parsed is None and lists is None and 1 <= len(folders) <= 2:
            return ClipLabel(folders[0], folders[1] if len(folders) == 2 else None, None, None, "folders")
        if parsed is not None:
            return ClipLabel(parsed.action, parsed.style, parsed.dataset, parsed.take, "file name")
        why = []
        if side.is_file():
            why.append(f'{side.name} names no "action" or "style"' if "content" not in meta
                       else f"{side.name} indexes cfg/ label lists, but there are none beside it")
        else:
            why.append(f"no {side.name} beside it")
        why.append(f"not in {MANIFEST}" if self.manifest() else f"no {MANIFEST} in {self.root}")
        if len(folders) > 2:
            why.append("its folders are deeper than ACTION/STYLE/")
        elif not folders:
            why.append("not in an ACTION/ or ACTION/STYLE/ folder")
        why.append("its name does not follow dataset-N_{action}_{style}_{NNN}.bvh")
        raise LabelError(f"{path}: cannot label this clip: {'; '.join(why)}")


def read_sidecar_json(path: Path) -> dict:
    """The JSON object of a label file; LabelError where it is unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise LabelError(f"{path}: cannot read label file ({e.strerror or e})") from None
    except ValueError as e:
        raise LabelError(f"{path}: label file is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise LabelError(f'{path}: expected a JSON object such as {{"action": "walk", "style": "happy"}}')
    return data


def read_manifest(path: str | Path) -> dict[str, tuple[str | None, str | None]]:
    """Rows of a `labels.csv` (header `file,action,style`; either label column optional, empty cells
    are no label): file relative to the manifest's folder -> (action, style)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:  # utf-8-sig: spreadsheets write a BOM
            reader = csv.DictReader(f)
            rows = list(reader)
            header = [(h or "").strip() for h in reader.fieldnames or []]
    except OSError as e:
        raise LabelError(f"{path}: cannot read label manifest ({e.strerror or e})") from None
    except csv.Error as e:
        raise LabelError(f"{path}: not a readable CSV file ({e})") from None
    if "file" not in header or not {"action", "style"} & set(header):
        raise LabelError(f"{path}: expected a header row file,action,style (found {','.join(header) or 'none'})")
    out = {}
    for row in rows:
        row = {(k or "").strip(): v for k, v in row.items()}
        name = (row.get("file") or "").strip().replace("\\", "/").removeprefix("./")
        if name:
            out[name] = (_label_value(row.get("action")), _label_value(row.get("style")))
    return out

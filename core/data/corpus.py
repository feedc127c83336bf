"""Labelled motion corpora: load, cache, split, window and normalise.

`load_corpus(sources)` reads labelled BVH clips from dataset archives
(`.tar.xz`, extracted once by `core.data.archives`), folders of BVH files, or
the keyword `bandai-namco` (both shared Bandai Namco archives). The first load
parses every clip in parallel and writes a packed cache (float32 local
quaternions and translations in two `.npy` files, plus `index.json` with the
skeleton, labels and frame ranges). Later loads memory-map it, so they take
well under a second; the cache key covers each source's path, size and
modification time, so changed sources are re-read.

All clips of a corpus share one skeleton (the first file's). Its bones are the
joints' translations in the first frame (equal to the OFFSETs, unless a file
animates a joint's position with other constant values). Joints whose
translation moves (the pelvis of the Bandai Namco files, whose OFFSET is a
per-file start position) get a zero offset and are not compared; other offsets
may differ by 1% of the mean bone length (takes of one actor differ by
fractions of a millimetre); any other difference is an error naming the file.

Train/validation split (deterministic, every label in both splits):
  Clips are grouped by (dataset, action, style).
  - Groups of at least `MIN_TAKES_FOR_TAKE_SPLIT` (5) takes (all of Bandai Namco
    dataset-2): the last `max(1, round(n * 0.1))` takes by take number (then
    name) are validation, whole; the others are train.
  - Smaller groups (dataset-1: one take per action and style, two for a few):
    each clip's first 80% of frames (`floor(0.8 F)`) are train and the last
    20% validation.
  `val-takes` is the part of the validation split that is whole takes (the take-split groups): what
  generated clips, which are whole performances, are judged against.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import GenAnimError, MotionDataError
from ..motion.bvh import BVH, parse_bvh, read_bvh
from ..motion.clip import Clip
from ..motion.rotations import quat_mul
from ..motion.skeleton import Skeleton
from .archives import (
    REPO_ROOT,
    archive_dest,
    archive_sha256,
    archive_stem,
    cache_root,
    extract_archive,
    publish_dir,
)
from .errors import CorpusError, DataError, LabelError
from .labels import FolderLabeller, LabelLists, Vocabulary
from .skeleton_notes import annotate, read_skeleton_notes

CACHE_VERSION = 1
KEYWORD = "bandai-namco"
ARCHIVE_EXTS = (".tar.xz", ".tar.gz", ".tar.bz2", ".tgz", ".tar")
MIN_TAKES_FOR_TAKE_SPLIT = 5
VAL_TAKE_FRACTION = 0.1
VAL_FRAME_FRACTION = 0.2
SPLITS = ("train", "val", "val-takes", "all")
NO_LABEL = "none"  # the action or style of a clip whose source names none


def shared_data_dir() -> Path:
    """The shared Bandai Namco folder: `$GENANIM_DATA/bandai-namco`, else `<repo>/../shared/data/bandai-namco`."""
    base = os.environ.get("GENANIM_DATA")
    return (Path(base) if base else REPO_ROOT.parent / "shared" / "data") / "bandai-namco"


def resolve_sources(sources: str | Path | Sequence[str | Path]) -> list[Path]:
    """Source paths: archives and folders; the keyword `bandai-namco` names both shared archives."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    out: list[Path] = []
    for s in sources:
        if str(s) == KEYWORD:
            d = shared_data_dir()
            out += [d / "dataset-1.tar.xz", d / "dataset-2-train.tar.xz"]
        else:
            out.append(Path(s))
    for p in out:
        if not p.exists():
            raise DataError(f"{p}: no such file or folder")
        if p.is_file() and not is_archive(p):
            raise DataError(f"{p}: not a folder or a .tar.xz archive")
    if not out:
        raise DataError("no corpus sources given")
    return [p.resolve() for p in out]


def is_archive(path: Path) -> bool:
    return path.name.endswith(ARCHIVE_EXTS)


# --- clips and labels ----------------------------------------------------------


@dataclass(frozen=True)
class ClipInfo:
    """One clip of a corpus: labels and its rows [start, stop) in the packed arrays."""

    name: str
    dataset: str
    action: str
    style: str
    take: int
    source: str  # file the clip came from, relative to its source
    start: int
    stop: int

    @property
    def num_frames(self) -> int:
        return self.stop - self.start


@dataclass
class LabelledClip:
    clip: Clip
    action: str
    style: str
    dataset: str
    take: int


@dataclass(frozen=True)
class Segment:
    """Frames [start, stop) of clip `clip` (an index into `Corpus.clips`)."""

    clip: int
    start: int
    stop: int

    @property
    def num_frames(self) -> int:
        return self.stop - self.start


@dataclass
class Windows:
    """Fixed-length windows over a split, ready for training.

    `features` (N, L, D) when windows were encoded, else `rotations` (N, L, J, 4)
    and `translations` (N, L, J, 3); labels are vocabulary ids.
    """

    action: np.ndarray  # (N,) int64
    style: np.ndarray  # (N,) int64
    clip: np.ndarray  # (N,) int64 index into Corpus.clips
    start: np.ndarray  # (N,) int64 first frame within the clip
    features: np.ndarray | None = None
    rotations: np.ndarray | None = None
    translations: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.action)


@dataclass
class FeatureStats:
    """Per-feature mean and std over a split (std floored at 1 where a feature is constant)."""

    mean: np.ndarray
    std: np.ndarray
    frames: int

    def normalise(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def denormalise(self, x: np.ndarray) -> np.ndarray:
        return x * self.std + self.mean

    def save(self, path: str | Path) -> None:
        np.savez(path, mean=self.mean, std=self.std, frames=self.frames)

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        with np.load(path) as z:
            return cls(z["mean"], z["std"], int(z["frames"]))


class Corpus:
    """Clips of one skeleton with labels; clip data is memory-mapped from the cache."""

    def __init__(
        self,
        skeleton: Skeleton,
        fps: float,
        clips: list[ClipInfo],
        vocabulary: Vocabulary,
        rotations: np.ndarray,
        translations: np.ndarray,
        cache_dir: Path | None = None,
        unlabelled: list[tuple[str, str]] | None = None,
    ):
        self.skeleton = skeleton
        self.fps = fps
        self.clips = clips
        self.vocabulary = vocabulary
        self.rotations = rotations  # (N, J, 4) float32, all clips' frames back to back
        self.translations = translations  # (N, J, 3) float32
        self.cache_dir = cache_dir
        self.unlabelled = unlabelled or []  # (file, why) of the source's clips left out: no labels

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> LabelledClip:
        info = self.clips[i]
        return LabelledClip(self.clip(i), info.action, info.style, info.dataset, info.take)

    def __iter__(self) -> Iterator[LabelledClip]:
        return (self[i] for i in range(len(self)))

    def mirror_poses(self, every: int = 16) -> np.ndarray:
        """(N, J, 4) float64 local rotations (every `every`-th frame of the corpus) that decide how its
        clips mirror (`core.motion.augment.mirror`), the same way for all of them."""
        return np.asarray(self.rotations[::every], dtype=np.float64)

    def clip(self, i: int, start: int = 0, stop: int | None = None) -> Clip:
        """Clip `i` (frames [start, stop) of it) as a float64 `Clip`."""
        info = self.clips[i]
        stop = info.num_frames if stop is None else stop
        rows = slice(info.start + start, info.start + stop)
        return Clip(
            self.skeleton,
            np.asarray(self.rotations[rows], dtype=np.float64),
            np.asarray(self.translations[rows], dtype=np.float64),
            self.fps,
            info.name,
        )

    def segment_clip(self, seg: Segment) -> Clip:
        return self.clip(seg.clip, seg.start, seg.stop)

    @property
    def num_frames(self) -> int:
        return sum(c.num_frames for c in self.clips)

    @property
    def hours(self) -> float:
        return self.num_frames / self.fps / 3600.0

    def counts(self, key: str) -> Counter:
        """Clips per label: key is 'action', 'style' or 'dataset'."""
        return Counter(getattr(c, key) for c in self.clips)

    def segments(self, split: str = "train") -> list[Segment]:
        """The frames of `split` ('train', 'val' or 'all'), see the module docstring."""
        return split_segments(self.clips, split)

    def windows(
        self,
        split: str,
        length: int,
        stride: int,
        encode: Callable[[Clip], np.ndarray] | None = None,
        dtype: type = np.float32,
    ) -> Windows:
        """All windows of `length` frames every `stride` frames inside each segment of `split`.

        With `encode` (e.g. `core.motion.representation.encode`) each segment is
        encoded once and `features` holds its windows; otherwise the raw local
        rotations and translations. Segments shorter than `length` give none.
        """
        if length < 1 or stride < 1:
            raise DataError(f"window length and stride must be positive, got {length} and {stride}")
        voc = self.vocabulary
        chunks, meta = [], []
        for seg in self.segments(split):
            starts = np.arange(0, seg.num_frames - length + 1, stride)
            if not len(starts):
                continue
            idx = starts[:, None] + np.arange(length)  # (W, L)
            info = self.clips[seg.clip]
            if encode is not None:
                chunks.append(np.asarray(encode(self.segment_clip(seg)), dtype=dtype)[idx])
            else:
                rows = info.start + seg.start + idx
                chunks.append((self.rotations[rows].astype(dtype), self.translations[rows].astype(dtype)))
            meta.append(np.stack(np.broadcast_arrays(
                voc.action_id(info.action), voc.style_id(info.style), seg.clip, seg.start + starts
            ), axis=1))
        m = np.concatenate(meta).astype(np.int64) if meta else np.zeros((0, 4), np.int64)
        out = Windows(action=m[:, 0], style=m[:, 1], clip=m[:, 2], start=m[:, 3])
        if encode is not None:
            out.features = np.concatenate(chunks) if chunks else np.zeros((0, length, 0), dtype)
        else:
            num_j = self.skeleton.num_joints
            empty = np.zeros((0, length, num_j, 4), dtype)
            out.rotations = np.concatenate([c[0] for c in chunks]) if chunks else empty
            out.translations = np.concatenate([c[1] for c in chunks]) if chunks else empty[..., :3]
        return out

    def feature_stats(self, encode: Callable[[Clip], np.ndarray] | None = None, split: str = "train") -> FeatureStats:
        """Mean and std per feature of `encode` (default: the learning representation) over `split`."""
        if encode is None:
            from ..motion.representation import encode
        total, total_sq, count = None, None, 0
        for seg in self.segments(split):
            f = np.asarray(encode(self.segment_clip(seg)), dtype=np.float64)
            s, sq = f.sum(0), (f * f).sum(0)
            total, total_sq = (s, sq) if total is None else (total + s, total_sq + sq)
            count += len(f)
        if not count:
            raise DataError(f"the {split} split has no frames")
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean * mean, 0.0))
        std = np.where(std < 1e-6, 1.0, std)  # constant features (e.g. fixed joints) stay as they are
        return FeatureStats(mean.astype(np.float32), std.astype(np.float32), count)


def split_segments(clips: Sequence[ClipInfo], split: str = "train") -> list[Segment]:
    """Segments of `split` ('train', 'val', 'val-takes' or 'all') under the rule of the module docstring."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if split == "all":
        return [Segment(i, 0, c.num_frames) for i, c in enumerate(clips)]
    if split == "val-takes":
        return [s for s in split_segments(clips, "val") if s.num_frames == clips[s.clip].num_frames]
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, c in enumerate(clips):
        groups[(c.dataset, c.action, c.style)].append(i)
    out = []
    for members in groups.values():
        if len(members) >= MIN_TAKES_FOR_TAKE_SPLIT:
            ordered = sorted(members, key=lambda i: (clips[i].take, clips[i].name))
            num_val = max(1, round(len(members) * VAL_TAKE_FRACTION))
            chosen = ordered[-num_val:] if split == "val" else ordered[:-num_val]
            out += [Segment(i, 0, clips[i].num_frames) for i in chosen]
        else:
            for i in members:
                cut = math.floor(clips[i].num_frames * (1 - VAL_FRAME_FRACTION))
                seg = Segment(i, 0, cut) if split == "train" else Segment(i, cut, clips[i].num_frames)
                if seg.num_frames > 0:
                    out.append(seg)
    return sorted(out, key=lambda s: (s.clip, s.start))


# --- loading -------------------------------------------------------------------


@dataclass
class _FileTask:
    path: Path
    source: str  # relative name for the index
    dataset: str
    action: str
    style: str
    take: int
    key: str = ""  # source path + relative name: where its parse result is filed


def _task(labeller: FolderLabeller, path: Path) -> _FileTask:
    """The clip's labels as a parse task; LabelError (naming the file and why) where it has none."""
    lab = labeller.label(path)
    rel = path.relative_to(labeller.root).as_posix() if path != labeller.root else path.name
    # A corpus label is a name: a library without styles (ACTION/*.bvh) has the one style "none".
    return _FileTask(path, rel, lab.dataset or labeller.root.name, lab.action or NO_LABEL, lab.style or NO_LABEL,
                     lab.take if lab.take is not None else 0)


def _bvh_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".bvh" and p.is_file())


def _source_key(sources: list[Path], base: Path) -> str:
    """Hash of each source's identity: archives by their contents (a copy with a new mtime is the same
    archive); folders by their files' sizes and mtimes."""
    h = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for src in sources:
        h.update(str(src).encode())
        if src.is_file():
            h.update(archive_sha256(src, base).encode())
        else:
            for p in sorted(src.rglob("*")):
                if p.is_file() and p.suffix.lower() in (".bvh", ".json", ".txt", ".csv"):
                    st = p.stat()
                    h.update(f"{p.relative_to(src).as_posix()} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


_MOTION_HEAD = re.compile(
    rb"[ \t]*MOTION[ \t]*\r?\n\s*Frames:[ \t]*(\d+)[ \t]*\r?\n\s*Frame Time:[ \t]*(\S+)[ \t]*\r?\n"
)


def _fast_bvh(path: Path, data: bytes) -> BVH | None:
    """BVH read with a fast path for the numbers (several times faster than `read_bvh`).

    The hierarchy goes through `parse_bvh`; the motion rows through `np.loadtxt`.
    Returns None on anything unexpected, so the caller falls back to `read_bvh`,
    which reports the problem with file and line.
    """
    try:
        m = re.search(rb"^[ \t]*MOTION\b", data, flags=re.MULTILINE)
        head = _MOTION_HEAD.match(data, m.start()) if m else None
        if head is None or int(head.group(1)) == 0:
            return None
        bvh = parse_bvh(data[: m.start()] + b"MOTION\nFrames: 0\nFrame Time: 1\n", str(path))
        motion = np.loadtxt(io.BytesIO(data[head.end():]), dtype=np.float64, ndmin=2, comments=None)
        frame_time = float(head.group(2))
    except (OSError, ValueError, GenAnimError):
        return None
    num_c = sum(len(c) for c in bvh.channels)
    if motion.shape != (int(head.group(1)), num_c) or not np.isfinite(motion).all() or not frame_time > 0:
        return None
    bvh.motion, bvh.frame_time, bvh.precision = motion, frame_time, None
    return bvh


def clip_arrays(bvh: BVH) -> tuple[np.ndarray, np.ndarray]:
    """(F, J, 4) quaternions and (F, J, 3) translations of `bvh`: the rotations and
    translations of `Clip.from_bvh`, computed in one batch per rotation order."""
    num_f, num_j = bvh.num_frames, len(bvh.names)
    trans = np.broadcast_to(bvh.offsets, (num_f, num_j, 3)).copy()
    quats = np.zeros((num_f, num_j, 4))
    quats[..., 0] = 1.0
    groups: dict[str, list[tuple[int, list[int]]]] = defaultdict(list)
    for j, (chans, cols) in enumerate(zip(bvh.channels, bvh.channel_slices(), strict=True)):
        for k, c in enumerate(chans):
            if c.endswith("position"):
                trans[:, j, "XYZ".index(c[0])] = bvh.motion[:, cols.start + k]
        rot = [k for k, c in enumerate(chans) if c.endswith("rotation")]
        if rot:
            groups["".join(chans[k][0] for k in rot)].append((j, [cols.start + k for k in rot]))
    for order, items in groups.items():
        joints = [j for j, _ in items]
        cols = np.array([c for _, c in items])  # (Jg, k)
        quats[:, joints] = euler_to_quat(np.radians(bvh.motion[:, cols]), order)
    return quats, trans


def euler_to_quat(angles: np.ndarray, order: str) -> np.ndarray:
    """(…, k) intrinsic Euler angles (radians) -> (…, 4) quaternions with w >= 0.

    The same rotation as `euler_to_matrix(angles, order)`; composing axis
    quaternions is several times faster than building matrices.
    """
    q = None
    for i, axis in enumerate(order):
        half = angles[..., i] * 0.5
        qa = np.zeros(half.shape + (4,))
        qa[..., 0] = np.cos(half)
        qa[..., 1 + "XYZ".index(axis)] = np.sin(half)
        q = qa if q is None else quat_mul(q, qa)
    return np.where(q[..., :1] < 0, -q, q)


def _parse_one(path: Path, moved_to: Path | None = None) -> tuple:
    """Worker: one BVH file -> float32 arrays, the skeleton's parts and its moving joints.

    The skeleton's rest offsets are the first frame's translations: where a file
    animates a translation with a constant value (every joint of the Bandai
    Namco files has position channels), that value, not OFFSET, is the bone.

    `moved_to`: where the file is once its (temporary) extraction folder was renamed.
    """
    try:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if moved_to is None:
                raise
            path = moved_to
            data = path.read_bytes() if path.is_file() else b""
    except OSError as e:  # a MotionDataError crosses the process boundary as a plain line; an OSError would not
        raise MotionDataError(f"cannot read file ({e.strerror or e})", path) from None
    bvh = _fast_bvh(path, data)
    if bvh is None:
        clip = Clip.from_bvh(read_bvh(path))  # the reference path: raises a precise MotionDataError
        s = clip.skeleton
        bvh = BVH(list(s.names), s.parents, s.offsets, list(s.channels), s.end_sites, 1 / clip.fps, np.zeros((0, 0)))
        rot, trans = clip.rotations, clip.translations
    else:
        rot, trans = clip_arrays(bvh)
    return (
        rot.astype(np.float32),
        trans.astype(np.float32),
        tuple(bvh.names),
        np.asarray(bvh.parents),
        trans[0].astype(np.float64),
        {int(k): np.asarray(v).tolist() for k, v in bvh.end_sites.items()},
        tuple(tuple(c) for c in bvh.channels),
        1.0 / bvh.frame_time,
        np.ptp(trans, axis=0).max(axis=-1) > 1e-3,  # joints whose translation moves
    )


def _progress(enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    # disable=None: a bar on a terminal only, none in a log
    return tqdm(desc="reading clips", unit="clip", file=sys.stderr, leave=False, disable=None)


def load_corpus(
    sources: str | Path | Sequence[str | Path] = KEYWORD,
    cache: str | Path | None = None,
    workers: int = 2,
    progress: bool = False,
    refresh: bool = False,
    warn_unlabelled: bool = True,
) -> Corpus:
    """Load labelled clips from archives and/or folders (see the module docstring).

    cache:    cache folder (default `core.data.archives.cache_root()`)
    workers:  processes for extraction and parsing on a cold load
    progress: show a progress bar on stderr while parsing
    refresh:  ignore an existing packed cache and re-read the sources
    warn_unlabelled: print one warning line on stderr if clips without labels were left out
    """
    srcs = resolve_sources(sources)
    base = Path(cache) if cache is not None else cache_root()
    dest = base / "corpus" / _source_key(srcs, base)
    corpus = None if refresh else _read_cached(dest)  # a missing or damaged cache is built anew
    corpus = corpus or _build(srcs, base, dest, workers, progress, replace=refresh)
    for src in srcs:  # notes are read on every load: cheap, and the cache stays the clips' own
        if src.is_dir():
            corpus.skeleton = annotate(corpus.skeleton, read_skeleton_notes(src))
    if warn_unlabelled and corpus.unlabelled:
        where = " ".join(str(s) for s in srcs)
        print(f"warning: {len(corpus.unlabelled)} clip(s) of {where} have no labels and are left out; "
              f"`python -m core data stats {where}` lists them and why", file=sys.stderr)
    return corpus


def _read_cached(dest: Path) -> Corpus | None:
    try:
        return _read_packed(dest)
    except (OSError, ValueError, KeyError):
        return None


def _read_packed(dest: Path) -> Corpus:
    idx = json.loads((dest / "index.json").read_text(encoding="utf-8"))
    if idx.get("version") != CACHE_VERSION:
        raise ValueError("old cache version")
    skel = Skeleton.from_json(idx["skeleton"])
    rot = np.load(dest / "rotations.npy", mmap_mode="r")
    trans = np.load(dest / "translations.npy", mmap_mode="r")
    clips = [ClipInfo(**c) for c in idx["clips"]]
    if rot.shape[0] != idx["frames"] or trans.shape[0] != idx["frames"]:
        raise ValueError("cache arrays do not match the index")
    unlabelled = [(str(f), str(why)) for f, why in idx.get("unlabelled", [])]
    return Corpus(skel, idx["fps"], clips, Vocabulary.from_json(idx["vocabulary"]), rot, trans, dest, unlabelled)


def _build(srcs: list[Path], base: Path, dest: Path, workers: int, progress: bool, replace: bool) -> Corpus:
    # Not fork: the caller may run threads (torch's, Blender's) whose locks a forked child inherits held.
    # Not multiprocessing.Pool: its terminate() can hang for good (CPython issues 73945, 78178).
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
    tasks: list[_FileTask] = []
    lists: list[LabelLists] = []
    unlabelled: list[tuple[str, str]] = []
    bar = _progress(progress)
    pool = ProcessPoolExecutor(max(1, workers), mp_context=ctx)
    try:
        # Files are parsed by the workers while this process is still extracting the archive.
        pending: dict[str, Future] = {}

        def submit(key: str, *args: Path) -> None:
            pending[key] = pool.submit(_parse_one, *args)
            if bar is not None:
                pending[key].add_done_callback(lambda _: bar.update())

        for src in srcs:
            if src.is_file():

                def on_file(path: Path, name: str, src: Path = src) -> None:
                    if path.suffix.lower() == ".bvh":
                        submit(f"{src}/{name}", path, archive_dest(src, base) / name)

                root = extract_archive(src, base, on_file=on_file)
                prefix = archive_stem(src)
            else:
                root, prefix = src, src.name
            labeller = FolderLabeller(root)
            files = _bvh_files(root)
            if not files:
                raise CorpusError(f"{src}: no .bvh files found")
            for p in files:
                try:
                    t = _task(labeller, p)
                except LabelError as e:  # left out, and listed by `data stats`
                    why = str(e).removeprefix(f"{p}: ").removeprefix("cannot label this clip: ")
                    unlabelled.append((f"{prefix}/{p.relative_to(root).as_posix()}", why))
                    continue
                t.key = f"{src}/{p.relative_to(root).as_posix()}"
                if t.key not in pending:
                    submit(t.key, p)
                t.source = f"{prefix}/{t.source}"
                tasks.append(t)
            lists += [ll for ll in labeller.lists.values() if ll is not None]
        if bar is not None:
            bar.total = len(tasks)
            bar.refresh()
        results = []
        for t in tasks:
            try:
                results.append(pending[t.key].result())
            except MotionDataError as e:  # name the file where it now lies, not the temporary folder
                raise MotionDataError(e.problem, t.path, e.line) from None
            except BrokenProcessPool:
                raise CorpusError(f"{t.path}: the process reading it stopped unexpectedly") from None
    finally:
        pool.shutdown(cancel_futures=True)  # the running files finish (each is small), the rest are dropped
    if bar is not None:
        bar.close()
    if not tasks:
        shown = "\n".join(f"  {f}: {why}" for f, why in unlabelled[:20])
        more = f"\n  and {len(unlabelled) - 20} more" if len(unlabelled) > 20 else ""
        raise CorpusError(f"none of the {len(unlabelled)} clips of {' '.join(map(str, srcs))} could be labelled "
                          f"(label them with .json sidecars, a labels.csv or ACTION/STYLE/ folders):\n{shown}{more}")
    return _pack(tasks, results, lists, dest, [str(s) for s in srcs], unlabelled, replace)


def _drop_stale(dest: Path, sources: list[str]) -> None:
    """Remove packed caches of the same sources that an older version of them left."""
    for other in dest.parent.iterdir():
        if other == dest or other.name.startswith("."):
            continue
        try:
            if json.loads((other / "index.json").read_text(encoding="utf-8")).get("sources") == sources:
                shutil.rmtree(other, ignore_errors=True)
        except (OSError, ValueError):
            continue


def _pack(
    tasks: list[_FileTask], results: list[tuple], lists: list[LabelLists], dest: Path, sources: list[str],
    unlabelled: list[tuple[str, str]], replace: bool,
) -> Corpus:
    # Joints whose translation moves in any clip: their rest offsets are not compared.
    animated = np.zeros(len(results[0][2]), bool)
    for t, r in zip(tasks, results, strict=True):
        if len(r[2]) != len(animated):
            raise CorpusError(
                f"{t.path}: skeleton differs from {tasks[0].path} ({len(r[2])} joints, not {len(animated)}); "
                "a corpus needs one skeleton"
            )
        animated |= r[8]
    ref = None
    for t, r in zip(tasks, results, strict=True):
        offsets = r[4].copy()
        offsets[animated] = 0.0
        skel = Skeleton(tuple(r[2]), r[3], offsets, {k: np.array(v) for k, v in r[5].items()}, tuple(r[6]))
        if ref is None:
            ref, ref_task, fps = skel, t, r[7]
            # Takes of one actor differ by fractions of a millimetre; 1% of a typical bone is "the same".
            bones = ref.bone_lengths()[~animated]
            tol = 0.01 * float(bones[bones > 0].mean()) if (bones > 0).any() else 1e-3
        elif not skel.same_as(ref, tol=tol):
            raise CorpusError(
                f"{t.path}: skeleton differs from {ref_task.path} (signature {skel.signature()} vs "
                f"{ref.signature()}); a corpus needs one skeleton"
            )
        elif abs(r[7] - fps) > 1e-3:
            raise CorpusError(f"{t.path}: {r[7]:.3f} fps, but {ref_task.path} has {fps:.3f} fps")
    unique = {(ll.dataset or "", ll.actions, ll.styles): ll for ll in lists}
    lists = sorted(unique.values(), key=lambda ll: ll.dataset or "")
    vocab = Vocabulary(
        [a for ll in lists for a in ll.actions] + sorted({t.action for t in tasks}),
        [s for ll in lists for s in ll.styles] + sorted({t.style for t in tasks}),
    )
    clips, start = [], 0
    for t, r in zip(tasks, results, strict=True):
        n = r[0].shape[0]
        clips.append(ClipInfo(Path(t.path).stem, t.dataset, t.action, t.style, t.take, t.source, start, start + n))
        start += n
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        np.save(tmp / "rotations.npy", np.concatenate([r[0] for r in results]))
        np.save(tmp / "translations.npy", np.concatenate([r[1] for r in results]))
        index = {
            "version": CACHE_VERSION,
            "sources": sources,
            "frames": start,
            "fps": fps,
            "skeleton": ref.to_json(),
            "vocabulary": vocab.to_json(),
            "clips": [asdict(c) for c in clips],
            "unlabelled": [list(u) for u in unlabelled],
        }
        (tmp / "index.json").write_text(json.dumps(index), encoding="utf-8")
        # Another job may have packed the same sources meanwhile.
        publish_dir(tmp, dest, lambda d: _read_cached(d) is not None, replace)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _drop_stale(dest, sources)
    return _read_packed(dest)

"""BVH reading and writing.

Reads any hierarchy with any channel order, 0-6 channels per joint, end sites
and any frame time; writes it back so that every channel value is reproduced to
the precision the file printed. Every problem with the input raises
`MotionDataError` naming the file, the line and the problem.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MotionDataError

CHANNEL_NAMES = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")
_CHANNEL_LOOKUP = {c.lower(): c for c in CHANNEL_NAMES}


@dataclass
class BVH:
    """A parsed BVH file: the hierarchy plus the raw channel values.

    Joints are in file order, so parents[j] < j. `motion` holds one row per
    frame and the channels of all joints in file order (see `channel_slices`).
    """

    names: list[str]
    parents: np.ndarray  # (J,) int, -1 for the root
    offsets: np.ndarray  # (J, 3) rest offset of each joint in its parent's frame
    channels: list[tuple[str, ...]]  # per joint, e.g. ("Xposition", ..., "Yrotation")
    end_sites: dict[int, np.ndarray]  # joint index -> End Site offset (3,)
    frame_time: float
    motion: np.ndarray  # (F, C) float64
    precision: int | None = 6  # decimals printed in the source; None = shortest exact repr
    path: str | None = field(default=None, compare=False)

    @property
    def num_frames(self) -> int:
        return self.motion.shape[0]

    def channel_slices(self) -> list[slice]:
        """Column range of each joint's channels in `motion`."""
        out, start = [], 0
        for ch in self.channels:
            out.append(slice(start, start + len(ch)))
            start += len(ch)
        return out


def _error(problem: str, path, line: int | None = None) -> MotionDataError:
    return MotionDataError(problem, path, line)


def _float(tok: str, path, line: int) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise _error(f"expected a number, found {tok!r}", path, line) from None
    if not math.isfinite(v):
        raise _error(f"value {tok!r} is not finite", path, line)
    return v


def read_bvh(path: str | Path) -> BVH:
    """Read a BVH file. Raises MotionDataError for any problem with it."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise _error(f"cannot read file ({e.strerror or e})", path) from None
    return parse_bvh(data, path=str(path))


def parse_bvh(data: bytes | str, path: str | None = None) -> BVH:
    """Parse BVH text (bytes or str). `path` is only used in error messages."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="replace")
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark, as some Windows tools write
    # [ \t]* rather than \s*: \s would swallow blank lines before MOTION and shift the section start.
    m = re.search(rb"^[ \t]*MOTION\b", data, flags=re.MULTILINE)
    if m is None:
        # Report a broken hierarchy where it breaks; otherwise the file ends too early.
        text = _decode(data)
        _parse_hierarchy(text, path, _last_line(text))
        raise _error("no MOTION section (file truncated or not a BVH file)", path, _last_line(text))
    head = _decode(data[: m.start()])
    first_motion_line = head.count("\n") + 1
    hier = _parse_hierarchy(head, path, first_motion_line)
    frames, frame_time, motion, precision = _parse_motion(
        data[m.start():], path, first_motion_line, hier["num_channels"]
    )
    return BVH(
        names=hier["names"],
        parents=np.asarray(hier["parents"], dtype=np.int64),
        offsets=np.asarray(hier["offsets"], dtype=np.float64).reshape(-1, 3),
        channels=hier["channels"],
        end_sites=hier["end_sites"],
        frame_time=frame_time,
        motion=motion,
        precision=precision,
        path=path,
    )


def _decode(data: bytes) -> str:
    # Names are read as UTF-8, or as Latin-1 where the bytes are not UTF-8 (older tools on Windows), and are
    # always written as UTF-8: every name survives a round trip, none becomes U+FFFD.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _last_line(text: str) -> int:
    """Number of the last line of `text` that holds anything (1 if none does)."""
    lines = text.split("\n")
    return max((k for k, row in enumerate(lines, start=1) if row.strip()), default=1)


def _parse_hierarchy(text: str, path, end_line: int) -> dict:
    """Joints of the HIERARCHY `text`; `end_line` is where it ends (MOTION, or the file's end)."""
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    end_sites: dict[int, np.ndarray] = {}
    # Stack of open blocks: joint index, or ("end", parent) for an End Site.
    stack: list = []
    pending = None  # block declared but its "{" not yet seen
    seen_root = False
    lines = text.split("\n")
    lineno = 0
    for lineno, raw in enumerate(lines, start=1):
        toks = raw.split()
        while toks:
            t = toks[0]
            tu = t.upper()
            if pending is not None and t != "{":
                what = "End Site" if isinstance(pending, tuple) else f"joint {names[pending]!r}"
                raise _error(f"expected '{{' after {what}, found {t!r}", path, lineno)
            if tu == "HIERARCHY":
                toks = toks[1:]
            elif tu in ("ROOT", "JOINT"):
                if tu == "ROOT" and (seen_root or stack):
                    raise _error("a second ROOT; only one skeleton per file is supported", path, lineno)
                if tu == "JOINT" and not stack:
                    raise _error("JOINT outside of any ROOT", path, lineno)
                name = " ".join(x for x in toks[1:] if x != "{").strip()
                if not name:
                    raise _error(f"{t} without a name", path, lineno)
                if name in names:
                    raise _error(f"joint name {name!r} used twice", path, lineno)
                if stack and not isinstance(stack[-1], int):
                    raise _error("a joint inside an End Site", path, lineno)
                seen_root = True
                parents.append(stack[-1] if stack else -1)
                names.append(name)
                offsets.append([])
                channels.append(())
                pending = len(names) - 1
                toks = ["{"] if "{" in toks[1:] else []
            elif tu == "END":
                if not stack or not isinstance(stack[-1], int):
                    raise _error("End Site outside of a joint", path, lineno)
                pending = ("end", stack[-1])
                toks = ["{"] if "{" in toks[1:] else []
            elif t == "{":
                if pending is None:
                    raise _error("unexpected '{'", path, lineno)
                stack.append(pending)
                pending = None
                toks = toks[1:]
            elif t == "}":
                if not stack:
                    raise _error("unbalanced '}'", path, lineno)
                block = stack.pop()
                if isinstance(block, int) and len(offsets[block]) != 3:
                    raise _error(f"joint {names[block]!r} has no OFFSET", path, lineno)
                if not isinstance(block, int) and block[1] not in end_sites:
                    raise _error("End Site has no OFFSET", path, lineno)
                toks = toks[1:]
            elif tu == "OFFSET":
                if not stack:
                    raise _error("OFFSET outside of a joint", path, lineno)
                if len(toks) < 4:
                    raise _error(f"OFFSET needs 3 numbers, found {len(toks) - 1}", path, lineno)
                vals = [_float(x, path, lineno) for x in toks[1:4]]
                block = stack[-1]
                if isinstance(block, int):
                    offsets[block] = vals
                else:
                    end_sites[block[1]] = np.asarray(vals, dtype=np.float64)
                toks = toks[4:]
            elif tu == "CHANNELS":
                if not stack or not isinstance(stack[-1], int):
                    raise _error("CHANNELS outside of a joint", path, lineno)
                if len(toks) < 2:
                    raise _error("CHANNELS without a count", path, lineno)
                try:
                    n = int(toks[1])
                except ValueError:
                    raise _error(f"channel count {toks[1]!r} is not an integer", path, lineno) from None
                names_here = toks[2:2 + n]
                if n < 0 or n > 6 or len(names_here) != n:
                    raise _error(f"CHANNELS says {n} but lists {len(toks) - 2} channel names", path, lineno)
                chans = []
                for c in names_here:
                    if c.lower() not in _CHANNEL_LOOKUP:
                        raise _error(f"unknown channel {c!r}; expected one of {', '.join(CHANNEL_NAMES)}", path, lineno)
                    chans.append(_CHANNEL_LOOKUP[c.lower()])
                if len(set(chans)) != len(chans):
                    raise _error("a channel is listed twice", path, lineno)
                channels[stack[-1]] = tuple(chans)
                toks = toks[2 + n:]
            else:
                raise _error(f"unexpected {t!r} in HIERARCHY", path, lineno)
    if not names:
        raise _error("no ROOT joint in HIERARCHY", path, end_line)
    if stack or pending is not None:
        raise _error("HIERARCHY ends inside an open block (missing '}')", path, end_line)
    return {
        "names": names,
        "parents": parents,
        "offsets": offsets,
        "channels": channels,
        "end_sites": end_sites,
        "num_channels": sum(len(c) for c in channels),
    }


def _parse_motion(data: bytes, path, first_line: int, num_channels: int):
    lines = data.split(b"\n")
    header: dict[str, tuple[str, int]] = {}
    i = 1  # lines[0] is "MOTION"
    while i < len(lines) and len(header) < 2:
        s = lines[i].decode("utf-8", errors="replace").strip()
        lineno = first_line + i
        i += 1
        if not s:
            continue
        key, _, val = s.partition(":")
        key = key.strip().lower()
        if key not in ("frames", "frame time"):
            raise _error(f"expected 'Frames:' and 'Frame Time:', found {s[:40]!r}", path, lineno)
        header[key] = (val.strip(), lineno)
    if len(header) < 2:
        last = max(k for k, row in enumerate(lines) if row.strip())
        raise _error("MOTION section lacks 'Frames:' or 'Frame Time:' (file truncated)", path, first_line + last)
    val, lineno = header["frames"]
    try:
        frames = int(val)
    except ValueError:
        raise _error(f"frame count {val!r} is not an integer", path, lineno) from None
    if frames < 0:
        raise _error(f"negative frame count {frames}", path, lineno)
    val, lineno = header["frame time"]
    frame_time = _float(val, path, lineno)
    if frame_time <= 0:
        raise _error(f"frame time must be positive, found {val}", path, lineno)

    body = lines[i:]
    # Line numbers of non-blank rows; blank lines (e.g. a trailing newline) are ignored.
    keep = [k for k, row in enumerate(body) if row.strip()]
    rows = [body[k].split() for k in keep]
    body_first = first_line + i

    def line_of(r: int) -> int:
        return body_first + keep[r]

    if len(rows) < frames:
        where = line_of(len(rows) - 1) if rows else max(ln for _, ln in header.values())
        raise _error(f"file declares {frames} frames but holds {len(rows)} (truncated)", path, where)
    if len(rows) > frames:
        raise _error(f"file declares {frames} frames but holds {len(rows)}", path, line_of(frames))
    if frames == 0:
        motion = np.zeros((0, num_channels), dtype=np.float64)
    else:
        try:
            motion = np.array(rows, dtype=np.float64)
            ok = motion.ndim == 2 and motion.shape[1] == num_channels
        except ValueError:
            ok = False
        if not ok:
            _locate_bad_row(rows, num_channels, path, line_of)
        if not np.isfinite(motion).all():
            r = int(np.nonzero(~np.isfinite(motion).all(axis=1))[0][0])
            raise _error("NaN or infinite value in motion data", path, line_of(r))
    return frames, frame_time, motion, _printed_precision(b"\n".join(body))


def _locate_bad_row(rows: list, num_channels: int, path, line_of) -> None:
    for r, row in enumerate(rows):
        if len(row) != num_channels:
            problem = f"frame has {len(row)} values, the hierarchy declares {num_channels} channels"
            raise _error(problem, path, line_of(r))
        for tok in row:
            _float(tok.decode("utf-8", errors="replace"), path, line_of(r))
    raise _error("unreadable motion data", path, line_of(0))  # pragma: no cover - defensive


def _printed_precision(body: bytes) -> int | None:
    """Most decimals printed in any motion value, or None if any uses an exponent.

    All rows count: rows may print different numbers of decimals, and writing
    with fewer than the most would change values.
    """
    if b"e" in body or b"E" in body:
        return None
    return max((len(frac) for frac in re.findall(rb"\.([0-9]*)", body)), default=0)


def _fmt(v: float) -> str:
    s = repr(float(v))
    return s[:-2] if s.endswith(".0") else s


def format_bvh(bvh: BVH) -> str:
    """BVH text for `bvh`."""
    out = ["HIERARCHY"]
    children: dict[int, list[int]] = {j: [] for j in range(len(bvh.names))}
    for j, p in enumerate(bvh.parents):
        if p >= 0:
            children[int(p)].append(j)

    order: list[int] = []  # joints in the order written: the file's joint order

    def emit(j: int, depth: int) -> None:
        order.append(j)
        ind = "  " * depth
        out.append(f"{ind}{'ROOT' if bvh.parents[j] < 0 else 'JOINT'} {bvh.names[j]}")
        out.append(f"{ind}{{")
        out.append(f"{ind}  OFFSET {' '.join(_fmt(v) for v in bvh.offsets[j])}")
        if bvh.channels[j]:
            out.append(f"{ind}  CHANNELS {len(bvh.channels[j])} {' '.join(bvh.channels[j])}")
        for c in children[j]:
            emit(c, depth + 1)
        if j in bvh.end_sites:
            out.append(f"{ind}  End Site")
            out.append(f"{ind}  {{")
            out.append(f"{ind}    OFFSET {' '.join(_fmt(v) for v in bvh.end_sites[j])}")
            out.append(f"{ind}  }}")
        out.append(f"{ind}}}")

    for root in np.nonzero(bvh.parents < 0)[0]:
        emit(int(root), 0)
    out.append("MOTION")
    out.append(f"Frames:\t{bvh.num_frames}")
    out.append(f"Frame Time:\t{_fmt(bvh.frame_time)}")
    if bvh.num_frames:
        # Columns follow the written joint order, which differs from index order when
        # joints are topologically but not depth-first ordered (e.g. parents [-1, 0, 0, 1]).
        slices = bvh.channel_slices()
        motion = np.concatenate([bvh.motion[:, slices[j]] for j in order], axis=1) if order else bvh.motion
        if bvh.precision is None:
            out.extend(" ".join(_fmt(v) for v in row) for row in motion)
        else:
            fmt = " ".join([f"%.{bvh.precision}f"] * motion.shape[1])
            out.extend(fmt % tuple(row) for row in motion.tolist())
    return "\n".join(out) + "\n"


def write_bvh(bvh: BVH, path: str | Path) -> None:
    """Write `bvh` to `path` (parent folders are created)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(format_bvh(bvh), encoding="utf-8")
    except OSError as e:
        raise _error(f"cannot write file ({e.strerror or e})", path) from None

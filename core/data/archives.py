"""Extract dataset archives once into a local cache and reuse them.

An archive is extracted into a temporary folder next to its destination and
renamed into place when complete, then a marker file records the archive's
size, sha256 and the number of files extracted. A destination is reused only
when its marker matches the archive and the file count on disk, so an
interrupted or damaged extraction is redone.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import ArchiveError

MARKER = ".genanim-extracted.json"
REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_root() -> Path:
    """Cache folder: `$GENANIM_CACHE`, else `<repo>/.cache/genanim` (git-ignored)."""
    env = os.environ.get("GENANIM_CACHE")
    return Path(env).expanduser() if env else REPO_ROOT / ".cache" / "genanim"


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def archive_stem(path: str | Path) -> str:
    name = Path(path).name
    for ext in (".tar.xz", ".tar.gz", ".tar.bz2", ".tgz", ".tar"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return Path(path).stem


def archive_dest(archive: str | Path, cache: str | Path | None = None) -> Path:
    """Where `extract_archive` puts the contents of `archive`."""
    return (Path(cache) if cache is not None else cache_root()) / "archives" / archive_stem(archive)


def _count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder)) - 1  # minus the marker


def _read_marker(dest: Path) -> dict | None:
    try:
        return json.loads((dest / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _marker_ok(dest: Path, archive: Path, stat: os.stat_result) -> bool:
    marker = _read_marker(dest)
    if not marker or marker.get("size") != stat.st_size:
        return False
    if marker.get("mtime_ns") != stat.st_mtime_ns and _sha256(archive, dest, stat, marker) != marker.get("sha256"):
        return False
    return marker.get("files") == _count_files(dest)


def archive_sha256(archive: str | Path, cache: str | Path | None = None) -> str:
    """sha256 of `archive`, taken from its extraction's marker while the archive's size and mtime match it.

    A copy of the same archive (a new download, a remounted share) has a new mtime: it is hashed once, and
    when it matches, the marker notes the new mtime, so neither its extraction nor its packed corpus is
    made again."""
    archive = Path(archive)
    dest = archive_dest(archive, cache)
    return _sha256(archive, dest, archive.stat(), _read_marker(dest) or {})


def _sha256(archive: Path, dest: Path, stat: os.stat_result, marker: dict) -> str:
    """`marker`: the extraction's marker as read (updated in place when a new mtime is noted)."""
    if marker.get("size") != stat.st_size:
        return file_sha256(archive)
    if marker.get("mtime_ns") != stat.st_mtime_ns:
        sha = file_sha256(archive)
        if sha != marker.get("sha256"):
            return sha
        marker["mtime_ns"] = stat.st_mtime_ns
        tmp = dest / f"{MARKER}.{os.getpid()}"
        try:
            tmp.write_text(json.dumps(marker, indent=1), encoding="utf-8")
            os.replace(tmp, dest / MARKER)
        except OSError:  # a read-only cache: hashed again next time
            tmp.unlink(missing_ok=True)
    return marker.get("sha256") or file_sha256(archive)


def publish_dir(tmp: Path, dest: Path, usable: Callable[[Path], bool], replace: bool = False) -> None:
    """Move the finished folder `tmp` (beside `dest`) to `dest`, or drop it.

    Another process may have put its own copy of the same thing at `dest` meanwhile and be reading it now:
    a `usable` copy is kept unless `replace`; one that is replaced is moved aside first, so a reader never
    finds half a folder (on POSIX, files it has open stay readable)."""
    old = tmp.with_name(tmp.name + "-old")
    try:
        if dest.exists():
            if not replace and usable(dest):
                return
            os.rename(dest, old)
        try:
            os.rename(tmp, dest)
        except OSError:
            if not usable(dest):  # unless another process put its copy there between the two renames
                raise
    finally:
        for leftover in (tmp, old):
            if leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)


def extract_archive(
    archive: str | Path,
    cache: str | Path | None = None,
    on_file: Callable[[Path, str], None] | None = None,
) -> Path:
    """Folder holding the extracted contents of `archive`, extracting it if needed.

    The destination is `<cache>/archives/<archive stem>`; it is verified against
    the marker and re-extracted when the archive changed or files are missing.
    `on_file(path, name)` is called for each file as soon as it is extracted (so
    a caller can start work on it; `path` is in a temporary folder until the
    function returns, `name` is relative to the destination); it is not called
    when a valid extraction is reused.
    """
    archive = Path(archive)
    try:
        stat = archive.stat()
    except OSError as e:
        raise ArchiveError(f"{archive}: cannot read archive ({e.strerror or e})") from None
    dest = archive_dest(archive, cache)
    if dest.is_dir() and _marker_ok(dest, archive, stat):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                for member in tar:  # sequential: each member is read once from the stream
                    tar.extract(member, tmp, filter="data")  # "data" refuses absolute paths, links out, devices
                    if on_file is not None and member.isfile():
                        on_file(tmp / member.name, member.name)
        except tarfile.ReadError:  # its message lists every decompressor tried, one per line
            raise ArchiveError(f"{archive}: not a tar archive (plain, gzip, bzip2 or xz) or a damaged one") from None
        except (tarfile.TarError, OSError, EOFError) as e:
            raise ArchiveError(f"{archive}: cannot extract archive ({' '.join(str(e).split())})") from None
        marker = {
            "archive": str(archive.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": file_sha256(archive),
            "files": sum(len(files) for _, _, files in os.walk(tmp)),
        }
        (tmp / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
        publish_dir(tmp, dest, lambda d: _marker_ok(d, archive, stat))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest

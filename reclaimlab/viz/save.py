"""``rl.save``: write a chart, a text figure or a Dataset, chosen by the file suffix.

============  ================  ===============================================
suffix        object            how
============  ================  ===============================================
``.svg``      Altair chart      vl-convert, fonts pinned (same bytes anywhere)
``.png``      Altair chart      vl-convert, ``scale`` times the chart size
``.pdf``      Altair chart      vl-convert
``.html``     Altair chart      self-contained (Vega inlined) unless inline=False
``.json``     Altair chart      the Vega-Lite spec, fonts pinned
``.txt``      str               UTF-8 (text figures are ASCII unless asked)
``.nc``       Dataset           netCDF4 through h5netcdf
``.zarr``     Dataset           a Zarr directory store
============  ================  ===============================================

Writes
------
Every write is atomic: the file is rendered in memory (or written to a
temporary file or directory next to the target), flushed to disk (``fsync``
of the file, or of every file and directory of a store), then moved into
place, and the directory is synced. A failure leaves the target as it was and
no temporary behind. Temporaries are named ``.<target name>.<pid>.<random>.tmp``
(``.old`` for a store moved aside); one left by a killed process (its pid no
longer runs) is removed by the next :func:`save` of the same target.

A file target is replaced with :func:`os.replace`: the path always names the
old or the new complete file. A ``.zarr`` directory store is swapped with
``renameat2(RENAME_EXCHANGE)`` on Linux (3.15 and later, on file systems that
support it: ext4, xfs, btrfs, tmpfs...), so the path also always names a
complete store. Elsewhere the old store is renamed aside before the new one
is renamed in; a kill between the two renames leaves the old store as
``.<name>.<pid>.<random>.old``, and the next :func:`save` or :func:`load` of
the target renames it back.

An existing target keeps its permission bits; a new target gets what the
umask allows (``0o666 & ~umask`` for files, ``0o777 & ~umask`` for a store).

No network is used: charts embed their data, vl-convert is local and
``.html`` inlines the JavaScript it needs. Text that ends up in an export
(titles, labels, data) cannot inject markup: characters XML does not allow
are replaced by U+FFFD before rendering, the SVG is checked for active
content, and the spec embedded in ``.html`` has ``</``, ``<!--`` and
``<script`` escaped, so a string cannot close or open a script element.

Dataset attributes that netCDF cannot hold exactly (dicts, lists, booleans,
None) are stored as JSON strings and listed in the global attribute
``_reclaimlab_json_attrs``; :func:`load` turns them back, so
``load(save(ds, p))`` is identical to ``ds``.

Loading
-------
:func:`load` treats its file as untrusted. Before xarray reads anything it
checks the file's structure: no HDF5 external links, external raw storage or
virtual datasets, no pickle or other object codecs, only the built-in
compressors, no symbolic links or special files inside a store, and a total
decoded size (sum over variables of elements times their in-memory size, see
:data:`MAX_LOAD_BYTES`) within ``max_bytes``. Compressed chunks are checked
not to expand beyond their declared size. Anything refused or damaged raises
a ValueError naming the path.
"""
from __future__ import annotations

import ctypes
import errno
import json
import math
import os
import re
import secrets
import shutil
import stat
import sys
import zlib
from pathlib import Path

import numpy as np
import xarray as xr

from .theme import pin_fonts, vl_version

__all__ = ["save", "load", "write_text", "SUFFIXES", "chart_bytes", "MAX_SCALE", "MAX_LOAD_BYTES"]

CHART_SUFFIXES = (".svg", ".png", ".pdf", ".html", ".json")
TEXT_SUFFIXES = (".txt",)
DATA_SUFFIXES = (".nc", ".zarr")
#: Every suffix :func:`save` knows.
SUFFIXES = CHART_SUFFIXES + TEXT_SUFFIXES + DATA_SUFFIXES

#: Largest PNG ``scale`` (the CLI's ``--scale`` bound): a larger one makes
#: vl-convert allocate a raster big enough to abort the interpreter.
MAX_SCALE = 20.0

#: Default cap of :func:`load` on the decoded size of a file, in bytes (1 GiB):
#: the sum over every variable of its element count times its in-memory
#: element size (at least 8 bytes for numbers, which CF decoding may turn
#: into float64; 64 bytes per variable-length string, plus the string data).
#: Pass ``max_bytes=`` to raise it, or ``max_bytes=None`` to lift it.
MAX_LOAD_BYTES = 1 << 30

#: Most chunks one loaded file may declare (a store of 10**9 one-element
#: chunks would take hours to read even when each is missing).
MAX_LOAD_CHUNKS = 10**6

JSON_ATTRS = "_reclaimlab_json_attrs"
STRING_DTYPES = "_reclaimlab_string_dtypes"


def _is_chart(obj) -> bool:
    mod = type(obj).__module__ or ""
    return mod.startswith("altair") and hasattr(obj, "to_dict")


def _check_scale(scale) -> float:
    """Return ``scale`` as a float, or raise the range error (0 < scale <= MAX_SCALE)."""
    ok = not isinstance(scale, (bool, np.bool_)) and isinstance(scale, (int, float, np.integer, np.floating))
    if ok:
        try:
            value = float(scale)
        except OverflowError:
            ok = False
        else:
            ok = math.isfinite(value) and 0 < value <= MAX_SCALE
    if not ok:
        raise ValueError(f"scale={scale!r} is not allowed; allowed: a number with 0 < scale <= {MAX_SCALE:g}")
    return value


# --------------------------------------------------------------------------- safe text in exports

# Characters XML 1.0 does not allow (C0 controls but tab/newline/return,
# surrogates, U+FFFE/U+FFFF): vl-convert's SVG parser aborts the interpreter on them.
_NON_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean_text(obj):
    """Replace characters XML cannot hold by U+FFFD in every string (keys too) of a spec."""
    if isinstance(obj, str):
        return _NON_XML.sub("\ufffd", obj)
    if isinstance(obj, dict):
        return {_clean_text(k): _clean_text(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_text(v) for v in obj]
    return obj


_ACTIVE_TAGS = {"script", "foreignobject", "iframe", "object", "embed", "handler", "listener"}
_BAD_URL = re.compile(r"^\s*(javascript|vbscript|data)\s*:", re.I)


def _check_svg(svg: str) -> str:
    """Refuse an SVG that is not well-formed XML or carries active content.

    vl-convert escapes ``<`` and ``&`` in text, so text from a chart cannot
    produce any of this; the check makes sure of it.
    """
    import xml.etree.ElementTree as ET
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as e:
        raise ValueError(f"the rendered SVG is not well-formed XML ({e}); refusing to write it") from None
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1].lower()
        if tag in _ACTIVE_TAGS:
            raise ValueError(f"the rendered SVG contains a <{tag}> element; refusing to write it")
        for k, v in el.attrib.items():
            name = k.rsplit("}", 1)[-1].lower()
            if name.startswith("on") or (name == "href" and _BAD_URL.match(v)):
                raise ValueError(f"the rendered SVG has an active attribute {name}={v[:40]!r}; refusing to write it")
    return svg


_SPEC_LINE = re.compile(r"^([ \t]*const spec = )(\{.*\});[ \t]*$", re.M)
_SCRIPT_OPEN = re.compile(r"<(?=script)", re.I)


def _escape_script_json(js: str) -> str:
    """Make JSON safe inside ``<script>``: ``</`` -> ``<\\/``, ``<!--`` and ``<script`` escaped.

    ``<`` only occurs inside JSON strings, where ``\\/`` and ``\\u003c`` are
    the same characters to JavaScript.
    """
    js = js.replace("</", "<\\/").replace("<!--", "\\u003c!--")
    js = _SCRIPT_OPEN.sub(r"\\u003c", js)
    return js.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _safe_html(html: str) -> str:
    """Escape the Vega-Lite spec vl-convert embeds unescaped in its page's last script."""
    body = html.rfind("<body>")
    found = list(_SPEC_LINE.finditer(html, body if body >= 0 else 0))
    if len(found) != 1:
        raise RuntimeError("cannot find the embedded spec in vl-convert's HTML (its layout changed?); "
                           "refusing to write a page whose text may not be escaped")
    m = found[0]
    return html[:m.start(2)] + _escape_script_json(m.group(2)) + html[m.end(2):]


def chart_bytes(chart, fmt: str, *, scale: float = 2.0, inline: bool = True) -> bytes:
    """Render an Altair chart to the bytes of ``fmt`` (``svg png pdf html json``), fonts pinned.

    Text from the chart (titles, labels, data) is made safe for the format:
    see the module docstring. ``scale`` must satisfy 0 < scale <= :data:`MAX_SCALE`.

    Examples
    --------
    >>> import altair as alt, pandas as pd
    >>> c = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    >>> chart_bytes(c, "svg")[:4]
    b'<svg'
    """
    import vl_convert as vlc
    scale = _check_scale(scale)
    spec = pin_fonts(chart.to_dict())          # validates; refuses > 5000 rows per data set
    v = vl_version()
    if fmt == "json":
        return (json.dumps(spec, indent=2, sort_keys=True) + "\n").encode("utf-8")
    spec = _clean_text(spec)
    if fmt == "svg":
        return _check_svg(vlc.vegalite_to_svg(spec, vl_version=v, allowed_base_urls=[])).encode("utf-8")
    if fmt == "png":
        return bytes(vlc.vegalite_to_png(spec, vl_version=v, scale=scale, allowed_base_urls=[]))
    if fmt == "pdf":
        return bytes(vlc.vegalite_to_pdf(spec, vl_version=v, allowed_base_urls=[]))
    if fmt == "html":
        return _safe_html(vlc.vegalite_to_html(spec, vl_version=v, bundle=inline)).encode("utf-8")
    raise ValueError(f"fmt={fmt!r} is not a chart format; allowed: svg, png, pdf, html, json")


# --------------------------------------------------------------------------- atomic writes

def _check_target(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"path={str(path)!r}: directory {str(parent)!r} does not exist")
    if path.is_dir() and path.suffix.lower() != ".zarr":
        raise IsADirectoryError(f"path={str(path)!r} is a directory; allowed: a file path")


def _temp_path(path: Path, kind: str) -> Path:
    """``.<name>.<pid>.<8 hex>.<kind>`` beside ``path``: the pid tells whose it is."""
    return path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.{kind}"


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError, ValueError):
        return True                     # someone else's live process, or cannot tell: keep
    return True


def _leftovers(path: Path) -> list[tuple[Path, str]]:
    """Temporaries of ``path`` whose process no longer runs: ``[(path, "tmp"|"old")]``."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d{1,10})\.[0-9a-f]{8}\.(tmp|old)")
    found = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    for name in names:
        m = pattern.fullmatch(name)
        if m and not _pid_running(int(m.group(1))):
            found.append((path.parent / name, m.group(2)))
    return found


def _remove(p: Path) -> None:
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink()
    except FileNotFoundError:
        pass


def _recover(path: Path) -> None:
    """If ``path`` is missing and a killed save left the old store aside, rename it back."""
    if os.path.lexists(path):
        return
    olds = sorted((p for p, kind in _leftovers(path) if kind == "old"),
                  key=lambda p: p.lstat().st_mtime_ns, reverse=True)
    for old in olds:
        try:
            os.rename(old, path)
            _fsync_dir(path.parent)
            return
        except OSError:
            continue


def _clean_leftovers(path: Path) -> None:
    """Recover a store left aside, then remove the temporaries of killed saves of ``path``."""
    _recover(path)
    for p, _ in _leftovers(path):
        _remove(p)


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return                          # not supported here (e.g. Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(f: Path) -> None:
    fd = os.open(f, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(top: Path) -> None:
    """fsync every file, then every directory (deepest first) of a store."""
    for root, dirs, files in os.walk(top, topdown=False):
        for name in files:
            _fsync_file(Path(root) / name)
        _fsync_dir(Path(root))


def _existing_mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except OSError:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    mode = _existing_mode(path)
    tmp = _temp_path(path, "tmp")
    # 0o666 lets the kernel apply the umask; an existing target's mode is kept exactly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_renameat2 = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths with renameat2(RENAME_EXCHANGE); False if unsupported."""
    global _renameat2
    if not sys.platform.startswith("linux"):
        return False
    if _renameat2 is None:
        try:
            fn = ctypes.CDLL(None, use_errno=True).renameat2
        except (OSError, AttributeError):
            fn = False                  # glibc < 2.28 or another libc
        else:
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            fn.restype = ctypes.c_int
        _renameat2 = fn
    if not _renameat2:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False                    # kernel or file system without RENAME_EXCHANGE
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _between_renames() -> None:
    """Called between the two renames of the fallback swap (a hook for tests)."""


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: a temporary file beside it, fsynced, renamed.

    A reader sees the old file or the whole new one, never a part; an existing
    file keeps its mode. Returns the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_text(pathlib.Path(tempfile.mkdtemp()) / "table.md", "| a |")
    >>> p.read_text()
    '| a |'
    """
    path = Path(path)
    _check_target(path)
    _write_atomic(path, text.encode("utf-8"))
    return path


def _write_atomic_with(path: Path, writer, *, directory: bool = False) -> None:
    """Let ``writer(tmp_path)`` create the file or directory store, sync it, then move it into place."""
    mode = _existing_mode(path)
    tmpdir = _temp_path(path, "tmp")
    os.mkdir(tmpdir, 0o700)             # private while the new data is incomplete
    tmp = tmpdir / path.name
    try:
        writer(tmp)                     # creates with the umask (0o666 files, 0o777 dirs)
        if mode is not None:
            os.chmod(tmp, mode)
        if directory:
            _fsync_tree(tmp)
        else:
            _fsync_file(tmp)
        if directory and os.path.lexists(path):
            # The old store ends up inside tmpdir and is removed with it.
            if not _exchange(tmp, path):
                old = _temp_path(path, "old")
                os.rename(path, old)
                try:
                    _between_renames()
                    os.rename(tmp, path)
                except BaseException:
                    if not os.path.lexists(path):
                        os.rename(old, path)
                    raise
                _fsync_dir(path.parent)
                _remove(old)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


# --------------------------------------------------------------------------- Dataset attrs

def _native(v) -> bool:
    """True for attribute values that netCDF and Zarr give back unchanged."""
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (str, int, float, np.integer, np.floating)):
        return True
    if isinstance(v, np.ndarray):
        return v.ndim == 1 and v.size > 0 and v.dtype.kind in "iuf"
    return False


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    raise TypeError(f"attribute value {v!r} of type {type(v).__name__} cannot be stored; "
                    "allowed: str, numbers, bool, None, and lists/dicts of them")


def _encode_attrs(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy(deep=False)
    marked: list[str] = []

    def enc(attrs: dict, owner: str) -> dict:
        out = {}
        for k, v in attrs.items():
            if _native(v):
                out[k] = v
            else:
                out[k] = json.dumps(v, default=_jsonable, sort_keys=True)
                marked.append(f"{owner}:{k}")
        return out

    ds.attrs = enc(dict(ds.attrs), "")
    for name in list(ds.variables):
        ds[name].attrs = enc(dict(ds[name].attrs), str(name))
    if JSON_ATTRS in ds.attrs:
        raise ValueError(f"ds.attrs already has {JSON_ATTRS!r}; that name is reserved")
    if marked:
        ds.attrs[JSON_ATTRS] = json.dumps(marked)
    return ds


def _encode_strings(ds: xr.Dataset) -> xr.Dataset:
    """Store string variables as variable-length strings; remember their dtypes.

    Fixed-width unicode has no Zarr v3 specification and object strings come
    back from netCDF as fixed-width: writing both as variable-length strings
    and restoring the dtype on load makes the round trip exact.
    """
    dtypes = {str(name): ds[name].dtype.str for name in ds.variables
              if ds[name].dtype.kind == "U" or (ds[name].dtype.kind == "O" and ds[name].size
                                                 and all(isinstance(v, str) for v in ds[name].values.ravel()))}
    if not dtypes:
        return ds
    if STRING_DTYPES in ds.attrs:
        raise ValueError(f"ds.attrs already has {STRING_DTYPES!r}; that name is reserved")
    ds = ds.copy(deep=False)
    for name in dtypes:
        var = ds[name].variable
        ds[name] = var.copy(data=var.values.astype(object))
    ds.attrs[STRING_DTYPES] = json.dumps(dtypes, sort_keys=True)
    return ds


def _decode_strings(ds: xr.Dataset) -> xr.Dataset:
    raw = ds.attrs.pop(STRING_DTYPES, None)
    if raw is None:
        return ds
    for name, dtype in json.loads(raw).items():
        var = ds[name].variable
        ds[name] = var.copy(data=var.values.astype(np.dtype(dtype)))
    return ds


def _decode_attrs(ds: xr.Dataset) -> xr.Dataset:
    raw = ds.attrs.pop(JSON_ATTRS, None)
    if raw is None:
        return ds
    for key in json.loads(raw):
        owner, _, k = key.partition(":")
        attrs = ds.attrs if owner == "" else ds[owner].attrs
        attrs[k] = json.loads(attrs[k])
    return ds


# --------------------------------------------------------------------------- load: checks before reading

class _Refused(Exception):
    """A file load() will not read; the message says why (load adds the path)."""


class _Budget:
    """Running total of the decoded size of a file, against ``max_bytes``."""

    def __init__(self, max_bytes: int | None):
        self.max_bytes = max_bytes
        self.total = 0
        self.chunks = 0

    def add(self, nbytes: int, what: str) -> None:
        self.total += int(nbytes)
        if self.max_bytes is not None and self.total > self.max_bytes:
            raise _Refused(
                f"{what} brings the decoded size to {self.total} bytes or more; allowed: at most "
                f"max_bytes={self.max_bytes} (load(..., max_bytes=N) raises the cap, None lifts it)")

    def add_chunks(self, n: int, what: str) -> None:
        self.chunks += int(n)
        if self.chunks > MAX_LOAD_CHUNKS:
            raise _Refused(f"{what} brings the number of chunks to {self.chunks}; "
                           f"allowed: at most {MAX_LOAD_CHUNKS} (MAX_LOAD_CHUNKS)")


def _element_bytes(kind: str, itemsize: int) -> int:
    """In-memory bytes per element once decoded (see :data:`MAX_LOAD_BYTES`)."""
    if kind in "biuf":
        return max(itemsize, 8)
    if kind == "c":
        return itemsize
    if kind == "S":
        return 4 * max(itemsize, 1)     # may be decoded to unicode
    if kind == "U":
        return max(itemsize, 4)
    return 64                           # a Python object (variable-length string)


def _prod(shape) -> int:
    n = 1
    for v in shape:
        n *= int(v)
    return n


def _bounded_inflate(raw: bytes, limit: int, wbits: int, what: str) -> int:
    """Size of the zlib/gzip stream ``raw`` decompressed, refusing beyond ``limit`` bytes."""
    z = zlib.decompressobj(wbits)
    try:
        out = z.decompress(raw, limit + 1)
    except zlib.error as e:
        raise _Refused(f"{what}: damaged compressed data ({e})") from None
    if len(out) > limit:
        raise _Refused(f"{what} decompresses to more than its declared {limit} bytes")
    return len(out)


# .. netCDF (HDF5)

_H5_FILTERS = {1: "deflate", 2: "shuffle", 3: "fletcher32"}


def _inspect_netcdf(p: Path, budget: _Budget) -> None:
    import h5py
    size = p.stat().st_size
    budget.add(size, "the file itself")           # variable-length data lives in the file
    with h5py.File(p, "r") as f:
        seen = set()
        todo = [f]
        while todo:
            group = todo.pop()
            for name in group:
                link = group.get(name, getlink=True)
                where = f"{group.name.rstrip('/')}/{name}"
                if isinstance(link, h5py.ExternalLink):
                    raise _Refused(f"{where} is an external link to {link.filename!r}; "
                                   "allowed: data inside the file only")
                if isinstance(link, h5py.SoftLink):
                    continue                      # a path inside this file, checked where it lives
                obj = group[name]
                if obj.id in seen:
                    continue
                seen.add(obj.id)
                if isinstance(obj, h5py.Group):
                    todo.append(obj)
                elif isinstance(obj, h5py.Dataset):
                    _inspect_h5_dataset(obj, where, budget)


def _inspect_h5_dataset(d, where: str, budget: _Budget) -> None:
    import h5py
    if d.is_virtual:
        raise _Refused(f"{where} is a virtual dataset (data mapped from other files); "
                       "allowed: data inside the file only")
    if d.external:
        files = sorted({str(e[0]) for e in d.external})
        raise _Refused(f"{where} keeps its data in external file(s) {files}; allowed: data inside the file only")
    dt = d.dtype
    if h5py.check_string_dtype(dt) is not None:
        kind = "O" if h5py.check_string_dtype(dt).length is None else "S"
    elif h5py.check_enum_dtype(dt) is not None:
        kind = dt.kind
    elif dt.kind in "biufcS" and dt.fields is None and not dt.shape:
        kind = dt.kind
    else:
        raise _Refused(f"{where} has HDF5 type {dt}; allowed: numbers, booleans and strings")
    shape = d.shape or ()
    budget.add(_prod(shape) * _element_bytes(kind, dt.itemsize), where)
    if d.chunks is None:
        return
    budget.add_chunks(_prod(-(-int(n) // int(c)) for n, c in zip(shape, d.chunks)), where)
    plist = d.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    for code in filters:
        if code not in _H5_FILTERS:
            raise _Refused(f"{where} uses HDF5 filter {code}; allowed: "
                           + ", ".join(f"{v} ({k})" for k, v in _H5_FILTERS.items()))
    if 1 not in filters:
        return                                    # shuffle and fletcher32 do not expand data
    pos = filters.index(1)
    if filters.count(1) > 1 or any(c != 3 for c in filters[pos + 1:]):
        raise _Refused(f"{where} has filter pipeline {filters}; allowed: deflate once, "
                       "followed by nothing but fletcher32")
    # HDF5 inflates a chunk whatever its declared size: check every chunk first.
    limit = _prod(d.chunks) * dt.itemsize + 4
    for i in range(d.id.get_num_chunks()):
        info = d.id.get_chunk_info(i)
        mask, raw = d.id.read_direct_chunk(info.chunk_offset)
        if mask & (1 << pos):
            continue                              # stored without deflate
        _bounded_inflate(raw, limit, zlib.MAX_WBITS, f"{where} chunk {tuple(info.chunk_offset)}")


# .. Zarr

_V3_NUMERIC = {"bool": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8, "uint8": 1, "uint16": 2,
               "uint32": 4, "uint64": 8, "float16": 2, "float32": 4, "float64": 8,
               "complex64": 8, "complex128": 16}
_V3_STRINGS = {"string", "bytes"}
_V3_ARRAY_TO_ARRAY = {"transpose"}
_V3_ARRAY_TO_BYTES = {"bytes", "vlen-utf8", "vlen-bytes"}
_V3_COMPRESSORS = {"zstd", "gzip", "blosc"}
_V2_COMPRESSORS = {"zstd", "gzip", "zlib", "blosc"}
_V2_OBJECT_FILTERS = {"vlen-utf8", "vlen-bytes"}
_V2_DTYPE = re.compile(r"[<>|=]?(b1|[iu][1248]|f[248]|c(8|16)|[SU]\d{1,9})")
_METADATA = {"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"}
_MAX_METADATA = 64 << 20


def _read_json(f: Path, budget: _Budget):
    size = f.stat().st_size
    if size > _MAX_METADATA:
        raise _Refused(f"{f.name} is {size} bytes; allowed: metadata up to {_MAX_METADATA} bytes")
    budget.add(size, f"metadata {f.name}")
    try:
        return json.loads(f.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError) as e:
        raise _Refused(f"{f}: not valid JSON metadata ({type(e).__name__}: {e})") from None


def _int_list(value, what: str, minimum: int) -> list[int]:
    if (not isinstance(value, list) or len(value) > 32
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value)):
        raise _Refused(f"{what}={value!r:.80}; allowed: a list of integers >= {minimum}")
    return value


def _inspect_zarr(p: Path, budget: _Budget) -> None:
    for root, dirs, files in os.walk(p):
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            if stat.S_ISLNK(st.st_mode):
                raise _Refused(f"{os.path.join(root, name)} is a symbolic link; allowed: plain files only")
            if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                raise _Refused(f"{os.path.join(root, name)} is not a regular file or directory")
        r = Path(root)
        if "zarr.json" in files:
            meta = _read_json(r / "zarr.json", budget)
            if not isinstance(meta, dict):
                raise _Refused(f"{r / 'zarr.json'} is not a JSON object")
            if meta.get("node_type") == "array":
                _inspect_v3_array(r, meta, budget)
        if ".zarray" in files:
            meta = _read_json(r / ".zarray", budget)
            if not isinstance(meta, dict):
                raise _Refused(f"{r / '.zarray'} is not a JSON object")
            _inspect_v2_array(r, meta, budget)
        for name in (".zattrs", ".zgroup", ".zmetadata"):
            if name in files:
                _read_json(r / name, budget)


def _chunk_files(array_dir: Path):
    for root, _, files in os.walk(array_dir):
        for name in files:
            if name not in _METADATA:
                yield Path(root) / name


def _name_of(codec, what: str) -> tuple[str, dict]:
    if isinstance(codec, str):
        return codec, {}
    if isinstance(codec, dict) and isinstance(codec.get("name"), str):
        cfg = codec.get("configuration", {})
        return codec["name"], cfg if isinstance(cfg, dict) else {}
    raise _Refused(f"{what} has codec {codec!r:.80}; allowed: a codec name or {{'name': ...}}")


def _inspect_v3_array(d: Path, meta: dict, budget: _Budget) -> None:
    what = f"array {d.name!r}"
    shape = _int_list(meta.get("shape"), f"{what} shape", 0)
    grid = meta.get("chunk_grid")
    if not (isinstance(grid, dict) and grid.get("name") == "regular" and isinstance(grid.get("configuration"), dict)):
        raise _Refused(f"{what} chunk_grid={grid!r:.80}; allowed: a regular grid")
    chunks = _int_list(grid["configuration"].get("chunk_shape"), f"{what} chunk_shape", 1)
    if len(chunks) != len(shape):
        raise _Refused(f"{what}: chunk_shape {chunks} does not match shape {shape}")
    if meta.get("storage_transformers"):
        raise _Refused(f"{what} has storage transformers; allowed: none")
    dtype, _ = _name_of(meta.get("data_type"), what)
    if dtype in _V3_NUMERIC:
        itemsize, kind = _V3_NUMERIC[dtype], ("b" if dtype == "bool" else dtype[0])
    elif dtype in _V3_STRINGS:
        itemsize, kind = None, "O"
    else:
        raise _Refused(f"{what} has data_type {dtype!r}; allowed: {', '.join(sorted(_V3_NUMERIC) + sorted(_V3_STRINGS))}")
    codecs = meta.get("codecs")
    if not isinstance(codecs, list) or not codecs:
        raise _Refused(f"{what} codecs={codecs!r:.80}; allowed: a list of codecs")
    names = [_name_of(c, what) for c in codecs]
    i = 0
    while i < len(names) and names[i][0] in _V3_ARRAY_TO_ARRAY:
        i += 1
    if i == len(names) or names[i][0] not in _V3_ARRAY_TO_BYTES:
        raise _Refused(f"{what} codecs {[n for n, _ in names]}; allowed: transpose, then one of "
                       f"{', '.join(sorted(_V3_ARRAY_TO_BYTES))}, then one of {', '.join(sorted(_V3_COMPRESSORS))} "
                       "and crc32c")
    if (itemsize is None) != names[i][0].startswith("vlen-"):
        raise _Refused(f"{what}: codec {names[i][0]!r} does not fit data_type {dtype!r}")
    rest = [n for n, _ in names[i + 1:]]
    compressors = [n for n in rest if n in _V3_COMPRESSORS]
    if len(compressors) > 1 or any(n not in _V3_COMPRESSORS and n != "crc32c" for n in rest) \
            or ("crc32c" in rest and rest.index("crc32c") != len(rest) - 1):
        raise _Refused(f"{what} codecs {[n for n, _ in names]}; allowed after the bytes codec: "
                       f"at most one of {', '.join(sorted(_V3_COMPRESSORS))}, then crc32c")
    _inspect_chunks(d, what, shape, chunks, kind, itemsize, compressors[0] if compressors else None, budget)


def _inspect_v2_array(d: Path, meta: dict, budget: _Budget) -> None:
    what = f"array {d.name!r}"
    shape = _int_list(meta.get("shape"), f"{what} shape", 0)
    chunks = _int_list(meta.get("chunks"), f"{what} chunks", 1)
    if len(chunks) != len(shape):
        raise _Refused(f"{what}: chunks {chunks} do not match shape {shape}")
    dtype, filters, comp = meta.get("dtype"), meta.get("filters"), meta.get("compressor")
    filter_ids = []
    if filters is not None:
        if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
            raise _Refused(f"{what} filters={filters!r:.80}; allowed: null or a list of codecs")
        filter_ids = [f.get("id") for f in filters]
    if dtype == "|O":
        if len(filter_ids) != 1 or filter_ids[0] not in _V2_OBJECT_FILTERS:
            raise _Refused(f"{what} stores Python objects with filters {filter_ids}; allowed: "
                           f"exactly one of {', '.join(sorted(_V2_OBJECT_FILTERS))} (no pickle or other object codec)")
        kind, itemsize = "O", None
    elif isinstance(dtype, str) and _V2_DTYPE.fullmatch(dtype):
        if filter_ids:
            raise _Refused(f"{what} has filters {filter_ids}; allowed: none for dtype {dtype!r}")
        dt = np.dtype(dtype)
        kind, itemsize = dt.kind, dt.itemsize
    else:
        raise _Refused(f"{what} has dtype {dtype!r:.80}; allowed: booleans, numbers, strings, "
                       "or |O with a vlen codec")
    if comp is not None:
        cid = comp.get("id") if isinstance(comp, dict) else None
        if cid not in _V2_COMPRESSORS:
            raise _Refused(f"{what} has compressor {comp!r:.80}; allowed: null or one of "
                           f"{', '.join(sorted(_V2_COMPRESSORS))}")
        comp = cid
    _inspect_chunks(d, what, shape, chunks, kind, itemsize, comp, budget)


def _zstd_content_size(head: bytes) -> int | None:
    """Frame_Content_Size of a zstd frame header (RFC 8878), None when absent or not zstd."""
    if len(head) < 6 or head[:4] != b"\x28\xb5\x2f\xfd":
        return None
    fhd = head[4]
    fcs_flag, single = fhd >> 6, (fhd >> 5) & 1
    did = (0, 1, 2, 4)[fhd & 3]
    fcs = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if fcs == 0:
        return None
    off = 5 + (0 if single else 1) + did
    field = head[off:off + fcs]
    if len(field) != fcs:
        return None
    value = int.from_bytes(field, "little")
    return value + 256 if fcs == 2 else value


def _inspect_chunks(d: Path, what: str, shape, chunks, kind: str, itemsize, compressor, budget: _Budget) -> None:
    n = _prod(shape)
    budget.add(n * _element_bytes(kind, itemsize or 0), what)
    budget.add_chunks(_prod(-(-s // c) for s, c in zip(shape, chunks)), what)
    # A compressed chunk must not decode beyond its declared size (strings:
    # beyond what is left of the budget); string data counts against the budget.
    declared = _prod(chunks) * itemsize if itemsize is not None else None
    for f in _chunk_files(d):
        size = f.stat().st_size
        left = (budget.max_bytes - budget.total) if budget.max_bytes is not None else 1 << 62
        limit = declared if declared is not None else max(left, 0)
        label = f"{what} chunk {f.relative_to(d).as_posix()!r}"
        if compressor is None:
            decoded = size
        else:
            with open(f, "rb") as fh:
                head = fh.read(32)
            if compressor == "zstd":
                decoded = _zstd_content_size(head)
                if decoded is None:
                    raise _Refused(f"{label}: a zstd frame without its content size; allowed: frames "
                                   "that declare it (as numcodecs writes them)")
            elif compressor == "blosc":
                if len(head) < 16:
                    raise _Refused(f"{label}: too short for a blosc header")
                decoded = int.from_bytes(head[4:8], "little")
            else:
                decoded = _bounded_inflate(f.read_bytes(), limit, 47, label)   # zlib or gzip header
        if decoded > limit:
            raise _Refused(f"{label} decodes to {decoded} bytes; allowed: at most {limit}")
        if itemsize is None:
            budget.add(decoded, label)


def _decode_strings_checked(ds: xr.Dataset, budget: _Budget) -> xr.Dataset:
    """:func:`_decode_strings`, refusing dtypes other than strings and sizes beyond the budget."""
    raw = ds.attrs.get(STRING_DTYPES)
    if raw is None:
        return ds
    spec = json.loads(raw) if isinstance(raw, str) else None
    if not isinstance(spec, dict):
        raise _Refused(f"attribute {STRING_DTYPES}={raw!r:.80} is not a JSON object")
    for name, dtype in spec.items():
        if name not in ds.variables:
            raise _Refused(f"attribute {STRING_DTYPES} names {name!r}, which is not a variable")
        if not isinstance(dtype, str) or not re.fullmatch(r"[<>|=]?(O|U\d{1,9})", dtype):
            raise _Refused(f"attribute {STRING_DTYPES} gives {name!r} dtype {dtype!r:.40}; allowed: O or U<n>")
        budget.add(ds[name].size * _element_bytes(np.dtype(dtype).kind, np.dtype(dtype).itemsize),
                   f"string variable {name!r}")
    return _decode_strings(ds)


def load(path: str | os.PathLike, *, max_bytes: int | None = MAX_LOAD_BYTES) -> xr.Dataset:
    """Read a Dataset written by :func:`save` (``.nc`` or ``.zarr``) into memory.

    Attributes stored as JSON by :func:`save` come back as they were. The
    file is treated as untrusted and checked before it is read (see the
    module docstring): HDF5 external links, external storage and virtual
    datasets, pickle and other object codecs, unknown compressors and
    symbolic links inside a store are refused.

    Parameters
    ----------
    path : str or path-like
        A ``.nc`` file or a ``.zarr`` directory store.
    max_bytes : int or None
        Cap on the decoded size of the file (see :data:`MAX_LOAD_BYTES`,
        1 GiB by default), checked from the declared shapes and chunk headers
        before anything is read; None lifts the cap.

    Returns
    -------
    xarray.Dataset
        In memory; the file is closed.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the suffix is not ``.nc`` or ``.zarr``, or the file is damaged,
        refused or over ``max_bytes``; the message names the path.

    Examples
    --------
    >>> import tempfile, os, xarray as xr
    >>> ds = xr.Dataset({"a": ("x", [1, 2])}, attrs={"config": {"seeks": 2}})
    >>> p = os.path.join(tempfile.mkdtemp(), "a.nc")
    >>> _ = save(ds, p)
    >>> load(p).attrs["config"]
    {'seeks': 2}
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path is a {type(path).__name__}; allowed: str or os.PathLike")
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise ValueError(f"path={str(path)!r} has suffix {suffix!r}; allowed: .nc, .zarr")
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer))
                                  or max_bytes < 1):
        raise ValueError(f"max_bytes={max_bytes!r} is not allowed; allowed: an integer >= 1, or None for no cap")
    if suffix == ".zarr":
        _recover(p)                     # a store a killed save left aside
    if not os.path.exists(p):
        raise FileNotFoundError(f"path={str(path)!r} does not exist")
    budget = _Budget(None if max_bytes is None else int(max_bytes))
    try:
        if suffix == ".nc":
            if not p.is_file():
                raise _Refused("a .nc path must be a regular file")
            _inspect_netcdf(p, budget)
            with xr.open_dataset(p, engine="h5netcdf") as f:
                ds = f.load()
        else:
            if not p.is_dir():
                raise _Refused("a .zarr store must be a directory")
            _inspect_zarr(p, budget)
            with xr.open_zarr(p, chunks=None, consolidated=False) as f:
                ds = f.load()
        for name in ds.variables:
            ds[name].encoding = {}
        return _decode_attrs(_decode_strings_checked(ds, budget))
    except _Refused as e:
        raise ValueError(f"path={str(path)!r} is refused: {e}") from None
    except Exception as e:              # h5py, zarr, numcodecs, xarray decoding: a damaged file
        raise ValueError(f"path={str(path)!r} cannot be loaded: {type(e).__name__}: {e}") from e


# --------------------------------------------------------------------------- save

def save(obj, path: str | os.PathLike, *, scale: float = 2.0, inline: bool = True) -> Path:
    """Save a chart, text figure or Dataset; the format follows the suffix of ``path``.

    Parameters
    ----------
    obj : altair chart, str, or xarray.Dataset / DataArray
        A chart for ``.svg .png .pdf .html .json``, a string for ``.txt``, a
        Dataset (or named DataArray) for ``.nc .zarr``.
    path : str or path-like
        Target file (its directory must exist). Replaced atomically if present.
    scale : float
        PNG scale factor, 0 < scale <= :data:`MAX_SCALE` (20), as the CLI's
        ``--scale``; 2 gives a sharp image on most screens.
    inline : bool
        ``.html`` only: inline Vega's JavaScript so the page works offline
        (about 1 MB). False loads it from a CDN.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, os, reclaimlab as rl
    >>> ds = rl.sweep(["v4.19", "v5.0"], freeable=[10, 1000, 10**6], priority=12, calls=10)
    >>> d = tempfile.mkdtemp()
    >>> rl.save(rl.plot.pressure_curve(ds), os.path.join(d, "pressure.svg")).name
    'pressure.svg'
    >>> rl.save(rl.text.pressure_curve(ds), os.path.join(d, "pressure.txt")).stat().st_size > 0
    True
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path is a {type(path).__name__}; allowed: str or os.PathLike")
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"path={str(path)!r} has suffix {suffix or '(none)'!r}; allowed: {', '.join(SUFFIXES)}")
    scale = _check_scale(scale)
    _check_target(p)
    _clean_leftovers(p)
    if suffix in CHART_SUFFIXES:
        if not _is_chart(obj):
            raise TypeError(f"obj is a {type(obj).__name__}; {suffix} needs an Altair chart "
                            "(rl.plot.<figure>(ds)); for text use .txt, for Datasets .nc or .zarr")
        _write_atomic(p, chart_bytes(obj, suffix[1:], scale=scale, inline=inline))
    elif suffix in TEXT_SUFFIXES:
        if not isinstance(obj, str):
            raise TypeError(f"obj is a {type(obj).__name__}; .txt needs a str (rl.text.<figure>(ds))")
        _write_atomic(p, (obj if obj.endswith("\n") else obj + "\n").encode("utf-8"))
    else:
        if isinstance(obj, xr.DataArray):
            if obj.name is None:
                raise ValueError("obj is a DataArray without a name; give it one (da.rename('x')) to save it")
            obj = obj.to_dataset()
        if not isinstance(obj, xr.Dataset):
            raise TypeError(f"obj is a {type(obj).__name__}; {suffix} needs an xarray.Dataset")
        enc = _encode_strings(_encode_attrs(obj))
        if suffix == ".nc":
            _write_atomic_with(p, lambda t: enc.to_netcdf(t, engine="h5netcdf"))
        else:
            _write_atomic_with(p, lambda t: enc.to_zarr(t, mode="w", consolidated=False), directory=True)
    return p

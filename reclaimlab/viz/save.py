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

Every write is atomic: the file is rendered in memory (or written to a
temporary file or directory next to the target), then moved into place with
:func:`os.replace`. A failure leaves the target as it was and no temporary
behind. No network is used: charts embed their data, vl-convert is local and
``.html`` inlines the JavaScript it needs.

Dataset attributes that netCDF cannot hold exactly (dicts, lists, booleans,
None) are stored as JSON strings and listed in the global attribute
``_reclaimlab_json_attrs``; :func:`load` turns them back, so
``load(save(ds, p))`` is identical to ``ds``.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from .theme import pin_fonts, vl_version

__all__ = ["save", "load", "SUFFIXES", "chart_bytes"]

CHART_SUFFIXES = (".svg", ".png", ".pdf", ".html", ".json")
TEXT_SUFFIXES = (".txt",)
DATA_SUFFIXES = (".nc", ".zarr")
#: Every suffix :func:`save` knows.
SUFFIXES = CHART_SUFFIXES + TEXT_SUFFIXES + DATA_SUFFIXES

JSON_ATTRS = "_reclaimlab_json_attrs"
STRING_DTYPES = "_reclaimlab_string_dtypes"


def _is_chart(obj) -> bool:
    mod = type(obj).__module__ or ""
    return mod.startswith("altair") and hasattr(obj, "to_dict")


def chart_bytes(chart, fmt: str, *, scale: float = 2.0, inline: bool = True) -> bytes:
    """Render an Altair chart to the bytes of ``fmt`` (``svg png pdf html json``), fonts pinned.

    Examples
    --------
    >>> import altair as alt, pandas as pd
    >>> c = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    >>> chart_bytes(c, "svg")[:4]
    b'<svg'
    """
    import vl_convert as vlc
    spec = pin_fonts(chart.to_dict())          # validates; refuses > 5000 rows per data set
    v = vl_version()
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec, vl_version=v, allowed_base_urls=[]).encode("utf-8")
    if fmt == "png":
        return bytes(vlc.vegalite_to_png(spec, vl_version=v, scale=scale, allowed_base_urls=[]))
    if fmt == "pdf":
        return bytes(vlc.vegalite_to_pdf(spec, vl_version=v, allowed_base_urls=[]))
    if fmt == "html":
        return vlc.vegalite_to_html(spec, vl_version=v, bundle=inline).encode("utf-8")
    if fmt == "json":
        return (json.dumps(spec, indent=2, sort_keys=True) + "\n").encode("utf-8")
    raise ValueError(f"fmt={fmt!r} is not a chart format; allowed: svg, png, pdf, html, json")


# --------------------------------------------------------------------------- atomic writes

def _check_target(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"path={str(path)!r}: directory {str(parent)!r} does not exist")
    if path.is_dir() and path.suffix.lower() != ".zarr":
        raise IsADirectoryError(f"path={str(path)!r} is a directory; allowed: a file path")


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _write_atomic_with(path: Path, writer, *, directory: bool = False) -> None:
    """Let ``writer(tmp_path)`` create the file or directory, then move it into place."""
    tmpdir = tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmpdir) / path.name
    old = None
    try:
        writer(tmp)
        if directory and path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old")) / "x"
            os.replace(path, old)
        elif not directory:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if old is not None and old.exists() and not path.exists():
            os.replace(old, path)
        raise
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)


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


def load(path: str | os.PathLike) -> xr.Dataset:
    """Read a Dataset written by :func:`save` (``.nc`` or ``.zarr``) into memory.

    Attributes stored as JSON by :func:`save` come back as they were.

    Examples
    --------
    >>> import tempfile, os, xarray as xr
    >>> ds = xr.Dataset({"a": ("x", [1, 2])}, attrs={"config": {"seeks": 2}})
    >>> p = os.path.join(tempfile.mkdtemp(), "a.nc")
    >>> _ = save(ds, p)
    >>> load(p).attrs["config"]
    {'seeks': 2}
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".nc":
        with xr.open_dataset(p, engine="h5netcdf") as f:
            ds = f.load()
    elif suffix == ".zarr":
        with xr.open_zarr(p, chunks=None, consolidated=False) as f:
            ds = f.load()
    else:
        raise ValueError(f"path={str(path)!r} has suffix {suffix!r}; allowed: .nc, .zarr")
    for name in ds.variables:
        ds[name].encoding = {}
    return _decode_attrs(_decode_strings(ds))


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
        PNG scale factor (> 0; 2 gives a sharp image on most screens).
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
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale={scale!r} is not allowed; scale must be a number > 0")
    _check_target(p)
    if suffix in CHART_SUFFIXES:
        if not _is_chart(obj):
            raise TypeError(f"obj is a {type(obj).__name__}; {suffix} needs an Altair chart "
                            "(rl.plot.<figure>(ds)); for text use .txt, for Datasets .nc or .zarr")
        _write_atomic(p, chart_bytes(obj, suffix[1:], scale=float(scale), inline=inline))
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

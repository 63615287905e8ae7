"""rl.load treats its file as untrusted: crafted netCDF and Zarr files are refused before they are read.

Each crafted file is one an attacker could mail with a figure: a pickle payload
behind an object codec, data kept in another local file (HDF5 external storage,
external links, virtual datasets), symbolic links inside a store, a few bytes
declaring gigabytes, compressed chunks that expand beyond their declared size.
Every one must end in a ValueError naming the path, without the payload
running or the memory being allocated. The fuzz tests at the end mutate valid
files: whatever the damage, load returns a Dataset or raises that ValueError.
"""
from __future__ import annotations

import gzip
import json
import os
import pickle
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reclaimlab.viz import save as save_mod
from reclaimlab.viz.save import MAX_LOAD_BYTES, load, save


class Payload:
    """Unpickling this creates the directory ``marker``: the proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def refused(path: Path, *words: str, **kw) -> str:
    """load(path) raises a ValueError naming the path and every word; returns the message."""
    with pytest.raises(ValueError) as info:
        load(path, **kw)
    msg = str(info.value)
    assert str(path) in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


def write_json(p: Path, obj) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(obj))


# --------------------------------------------------------------------------- Zarr stores

def v2_store(root: Path, *, dtype="<f8", shape=(4,), chunks=(4,), filters=None, compressor=None,
             chunk: bytes | None = None) -> Path:
    """A Zarr v2 group with one array ``a`` along ``x`` (as zarr 2.18 wrote them)."""
    write_json(root / ".zgroup", {"zarr_format": 2})
    write_json(root / ".zattrs", {})
    write_json(root / "a" / ".zarray", {"zarr_format": 2, "shape": list(shape), "chunks": list(chunks),
                                        "dtype": dtype, "compressor": compressor, "fill_value": 0,
                                        "filters": filters, "order": "C"})
    write_json(root / "a" / ".zattrs", {"_ARRAY_DIMENSIONS": ["x"] + [f"d{i}" for i in range(len(shape) - 1)]})
    if chunk is not None:
        (root / "a" / "0").write_bytes(chunk)
    return root


def v3_store(root: Path, *, data_type="float64", shape=(4,), chunks=(4,), codecs=None,
             chunk: bytes | None = None) -> Path:
    """A Zarr v3 group with one array ``a`` along ``x``."""
    write_json(root / "zarr.json", {"zarr_format": 3, "node_type": "group", "attributes": {}})
    write_json(root / "a" / "zarr.json", {
        "zarr_format": 3, "node_type": "array", "shape": list(shape), "data_type": data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0, "codecs": codecs or [{"name": "bytes", "configuration": {"endian": "little"}}],
        "attributes": {}, "dimension_names": ["x"] + [f"d{i}" for i in range(len(shape) - 1)]})
    if chunk is not None:
        (root / "a" / "c").mkdir(exist_ok=True)
        (root / "a" / "c" / "0").write_bytes(chunk)
    return root


def test_a_pickle_payload_in_a_v2_object_array_never_runs(tmp_path):
    import numcodecs
    marker = tmp_path / "PAYLOAD-RAN"
    arr = np.empty(1, dtype=object)
    arr[0] = Payload(marker)
    store = v2_store(tmp_path / "evil.zarr", dtype="|O", shape=(1,), chunks=(1,),
                     filters=[{"id": "pickle", "protocol": 5}], chunk=numcodecs.Pickle().encode(arr))
    refused(store, "refused", "pickle")
    assert not marker.exists()


@pytest.mark.parametrize("codec", ["numcodecs.pickle", "pickle", "numcodecs.msgpack2", "numcodecs.json2"])
def test_object_codecs_in_a_v3_array_are_refused(tmp_path, codec):
    marker = tmp_path / "PAYLOAD-RAN"
    store = v3_store(tmp_path / "evil.zarr", codecs=[{"name": codec, "configuration": {}}],
                     chunk=pickle.dumps(Payload(marker)))
    refused(store, "refused", codec)
    assert not marker.exists()


@pytest.mark.parametrize("filters", [[{"id": "pickle"}], [{"id": "msgpack2"}], [{"id": "json2"}], None])
def test_v2_object_arrays_need_a_string_codec(tmp_path, filters):
    store = v2_store(tmp_path / "o.zarr", dtype="|O", shape=(1,), chunks=(1,), filters=filters, chunk=b"x")
    refused(store, "stores Python objects", "vlen-utf8")


def test_unknown_compressors_and_storage_transformers_are_refused(tmp_path):
    refused(v2_store(tmp_path / "a.zarr", compressor={"id": "evil"}), "compressor", "allowed")
    store = v3_store(tmp_path / "b.zarr")
    meta = json.loads((store / "a" / "zarr.json").read_text())
    meta["storage_transformers"] = [{"name": "sharding-elsewhere"}]
    write_json(store / "a" / "zarr.json", meta)
    refused(store, "storage transformers")


def test_a_symbolic_link_inside_a_store_is_refused(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(4, dtype="<f8").tobytes())      # another local file, readable as data
    store = v3_store(tmp_path / "s.zarr")
    (store / "a" / "c").mkdir()
    os.symlink(secret, store / "a" / "c" / "0")
    refused(store, "symbolic link")
    os.unlink(store / "a" / "c" / "0")
    os.symlink(tmp_path, store / "a" / "c" / "1")                 # a directory link too
    refused(store, "symbolic link")


@pytest.mark.parametrize("version", [2, 3])
def test_a_few_bytes_declaring_gigabytes_are_refused_before_reading(tmp_path, version):
    shape = [10**6, 10**4]                                         # 80 GB of float64, no chunk written
    store = (v2_store(tmp_path / "big.zarr", shape=shape, chunks=[1000, 1000]) if version == 2 else
             v3_store(tmp_path / "big.zarr", shape=shape, chunks=[1000, 1000]))
    assert sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) < 2000
    refused(store, "decoded size", f"max_bytes={MAX_LOAD_BYTES}")
    refused(store, "max_bytes=1000", max_bytes=1000)


def test_a_store_of_a_billion_chunks_is_refused(tmp_path):
    store = v3_store(tmp_path / "many.zarr", data_type="int8", shape=[10**9], chunks=[1])
    refused(store, "chunks", "MAX_LOAD_CHUNKS", max_bytes=None)


def test_a_gzip_chunk_that_expands_beyond_its_declared_size_is_refused(tmp_path):
    bomb = gzip.compress(b"\0" * (64 << 20))                       # 64 MiB from ~64 KB, for 32 bytes
    store = v2_store(tmp_path / "bomb.zarr", compressor={"id": "gzip", "level": 9}, chunk=bomb)
    refused(store, "decompresses to more than its declared 32 bytes")
    z = zlib.compress(b"\0" * (64 << 20))
    refused(v2_store(tmp_path / "zbomb.zarr", compressor={"id": "zlib"}, chunk=z), "declared 32 bytes")


def test_zstd_and_blosc_chunks_declaring_more_than_their_shape_are_refused(tmp_path):
    import numcodecs
    big = numcodecs.Zstd().encode(np.zeros(1 << 20, dtype="<f8"))
    refused(v2_store(tmp_path / "z.zarr", compressor={"id": "zstd"}, chunk=big), "decodes to", "at most 32")
    frame = bytes([0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x00]) + b"\0" * 10   # no content size in the header
    refused(v2_store(tmp_path / "z2.zarr", compressor={"id": "zstd"}, chunk=frame), "without its content size")
    blosc = numcodecs.Blosc().encode(np.zeros(1 << 20, dtype="<f8"))
    refused(v2_store(tmp_path / "b.zarr", compressor={"id": "blosc"}, chunk=blosc), "decodes to", "at most 32")
    refused(v3_store(tmp_path / "z3.zarr", codecs=[{"name": "bytes"}, {"name": "zstd"}], chunk=big),
            "decodes to")


def test_bad_metadata_is_a_value_error_naming_the_path(tmp_path):
    store = v3_store(tmp_path / "m.zarr")
    (store / "a" / "zarr.json").write_text("{" * 100_000)         # RecursionError in json
    refused(store, "not valid JSON")
    (store / "a" / "zarr.json").write_text("[1, 2]")
    refused(store, "not a JSON object")
    v3_store(tmp_path / "s.zarr", shape=[-1])
    refused(tmp_path / "s.zarr", "shape")
    v3_store(tmp_path / "d.zarr", data_type="object")
    refused(tmp_path / "d.zarr", "data_type 'object'")


# --------------------------------------------------------------------------- netCDF (HDF5)

def nc_with(path: Path, build) -> Path:
    """An HDF5 file with an ordinary variable ``ok`` plus what ``build(f)`` adds."""
    with h5py.File(path, "w") as f:
        f.create_dataset("ok", data=np.arange(3.0))
        build(f)
    return path


def test_external_storage_does_not_pull_in_another_file(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"TOP-SECRET-BYTES" * 4)
    p = nc_with(tmp_path / "ext.nc", lambda f: f.create_dataset(
        "leak", shape=(64,), dtype="u1", external=[(str(secret), 0, 64)]))
    with h5py.File(p) as f:                                         # the trap works without the check
        assert bytes(f["leak"][:16]) == b"TOP-SECRET-BYTES"
    msg = refused(p, "external file", "secret.bin")
    assert "TOP-SECRET" not in msg


def test_external_links_and_virtual_datasets_are_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("data", data=np.arange(5.0))
    p = nc_with(tmp_path / "link.nc", lambda f: f.__setitem__("x", h5py.ExternalLink(str(other), "/data")))
    refused(p, "external link", "other.h5")

    def virtual(f):
        layout = h5py.VirtualLayout(shape=(5,), dtype="f8")
        layout[:] = h5py.VirtualSource(str(other), "data", shape=(5,))
        f.create_virtual_dataset("v", layout)
    refused(nc_with(tmp_path / "vds.nc", virtual), "virtual dataset")


def test_a_tiny_netcdf_declaring_gigabytes_is_refused_before_allocating(tmp_path):
    # 6.5 KB on disk, 3.2 GB once read: chunks never written read as the fill value.
    p = nc_with(tmp_path / "big.nc", lambda f: f.create_dataset(
        "huge", shape=(4 * 10**8,), dtype="f8", chunks=(10**6,), fillvalue=1.0))
    assert p.stat().st_size < 10_000
    refused(p, "decoded size", "max_bytes")


def test_a_deflate_bomb_in_a_netcdf_chunk_is_refused(tmp_path):
    def bomb(f):
        d = f.create_dataset("b", shape=(8,), dtype="f8", chunks=(8,), compression="gzip")
        d.id.write_direct_chunk((0,), zlib.compress(b"\0" * (32 << 20)))
    refused(nc_with(tmp_path / "bomb.nc", bomb), "decompresses to more than its declared")


def test_unknown_hdf5_filters_and_types_are_refused(tmp_path):
    refused(nc_with(tmp_path / "lzf.nc", lambda f: f.create_dataset(
        "l", data=np.arange(100.0), chunks=(10,), compression="lzf")), "HDF5 filter 32000")
    cmp = np.dtype([("a", "i4"), ("b", "f8")])
    refused(nc_with(tmp_path / "cmp.nc", lambda f: f.create_dataset("c", shape=(2,), dtype=cmp)),
            "HDF5 type")


@pytest.mark.parametrize("content", [b"", b"not HDF5 at all", b"\x89HDF\r\n\x1a\n" + b"\0" * 100])
def test_a_file_that_is_not_hdf5_is_a_value_error(tmp_path, content):
    p = tmp_path / "junk.nc"
    p.write_bytes(content)
    refused(p, "cannot be loaded")


def test_load_argument_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load(tmp_path / "none.nc")
    with pytest.raises(ValueError, match=r"suffix '\.pkl'; allowed: \.nc, \.zarr"):
        load(tmp_path / "x.pkl")
    for bad in (0, -1, True, 1.5, "1"):
        with pytest.raises(ValueError, match=r"max_bytes=.* allowed: an integer >= 1, or None"):
            load(tmp_path / "x.nc", max_bytes=bad)
    (tmp_path / "d.nc").mkdir()
    refused(tmp_path / "d.nc", "regular file")


# --------------------------------------------------------------------------- fuzz

def small_dataset() -> xr.Dataset:
    return xr.Dataset({"a": ("x", np.arange(6, dtype=np.int64)), "s": ("x", np.array(list("abcdef")))},
                      attrs={"config": {"k": [1, 2]}, "n": 3})


# derandomize: the same 60 examples every run. Some damaged HDF5 files make libhdf5 spin
# inside its C code (seen once: 15 minutes on a file this fuzzer made), which rl.load cannot
# interrupt; a fixed set keeps `make test` and CI from meeting a new one by chance.
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def load_or_value_error(path: Path) -> None:
    """load(path) returns a Dataset or raises ValueError naming the path: nothing else."""
    try:
        ds = load(path)
    except ValueError as e:
        assert str(path) in str(e)
        return
    assert isinstance(ds, xr.Dataset)


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    return save(small_dataset(), d / "g.nc").read_bytes(), save(small_dataset(), d / "g.zarr")


@FUZZ
@given(data=st.data())
def test_damaged_netcdf_files(tmp_path_factory, good_files, data):
    raw = bytearray(good_files[0])
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "zero", "ff", "cut"]))
        if op == "cut":
            raw = raw[:max(i, 1)]
        else:
            raw[i] = {"flip": raw[i] ^ (1 << data.draw(st.integers(0, 7))), "zero": 0, "ff": 0xFF}[op]
    p = tmp_path_factory.mktemp("nc") / "d.nc"
    p.write_bytes(bytes(raw))
    load_or_value_error(p)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@FUZZ
@given(data=st.data())
def test_crafted_zarr_metadata(tmp_path_factory, good_files, data):
    import shutil
    store = tmp_path_factory.mktemp("z") / "d.zarr"
    shutil.copytree(good_files[1], store)
    metas = sorted(str(p.relative_to(store)) for p in store.rglob("zarr.json"))
    for _ in range(data.draw(st.integers(1, 3))):
        f = store / data.draw(st.sampled_from(metas))
        meta = json.loads(f.read_text())
        key = data.draw(st.sampled_from(sorted(meta) + ["shape", "codecs", "data_type", "chunk_grid"]))
        meta[key] = data.draw(JSON_VALUES)
        f.write_text(json.dumps(meta))
    load_or_value_error(store)


@FUZZ
@given(data=st.data())
def test_damaged_zarr_chunks(tmp_path_factory, good_files, data):
    import shutil
    store = tmp_path_factory.mktemp("c") / "d.zarr"
    shutil.copytree(good_files[1], store)
    chunks = sorted(str(p.relative_to(store)) for p in store.rglob("*")
                    if p.is_file() and p.name != "zarr.json")
    f = store / data.draw(st.sampled_from(chunks))
    f.write_bytes(data.draw(st.binary(max_size=64)) if data.draw(st.booleans())
                  else f.read_bytes()[:data.draw(st.integers(0, f.stat().st_size))])
    load_or_value_error(store)


def test_the_fuzzed_files_start_out_loadable(good_files, tmp_path):
    (tmp_path / "g.nc").write_bytes(good_files[0])
    xr.testing.assert_identical(load(tmp_path / "g.nc"), small_dataset())
    xr.testing.assert_identical(load(good_files[1]), small_dataset())
    assert save_mod.MAX_LOAD_CHUNKS == 10**6


def test_the_dependencies_exclude_the_zarr_that_unpickled():
    """zarr 2.18 + numcodecs 0.13 (allowed before) ran a crafted store's pickle payload on read."""
    import tomllib
    from packaging.requirements import Requirement
    from conftest import ROOT
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = {r.name: r.specifier for r in map(Requirement, deps)}
    assert "2.18.3" not in spec["zarr"] and "3.0.0" in spec["zarr"]
    assert "0.13.1" not in spec["numcodecs"] and "0.16.0" in spec["numcodecs"]

"""The storage root: the same behaviour on a local folder and on an fsspec store (memory://).

Atomicity is checked by making a write fail midway: the old file must stay as it was, and no
temporary file may be left behind.
"""
from __future__ import annotations

import os
import pickle
import uuid
from pathlib import Path

import pytest

import cluster.storage as storage_module
from cluster.storage import Storage, StorageError

KEY = "checkpoints/trial-000012/ckpt.pt"


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path: Path) -> Storage:
    if request.param == "local":
        yield Storage.open(str(tmp_path / "root"))
        return
    root = f"memory://rung-tests/{uuid.uuid4().hex}"  # fsspec's process-wide in-memory store
    store = Storage.open(root)
    yield store
    store.delete_prefix("checkpoints")


def _file(tmp_path: Path, data: bytes, name: str = "src.bin") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_put_get_exists_delete(store: Storage, tmp_path: Path) -> None:
    assert not store.exists(KEY)
    uri = store.put_file(_file(tmp_path, b"one"), KEY)
    assert uri == store.uri(KEY) and uri.endswith(KEY)
    assert store.exists(KEY)
    out = store.get_file(KEY, str(tmp_path / "out" / "ckpt.pt"))
    assert Path(out).read_bytes() == b"one"
    store.put_file(_file(tmp_path, b"two"), KEY)  # overwrite
    assert store.get_bytes(KEY) == b"two"
    store.delete(KEY)
    assert not store.exists(KEY)
    store.delete(KEY)  # missing is fine


def test_get_missing_names_the_uri(store: Storage, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="trial-000012/ckpt.pt does not exist"):
        store.get_file(KEY, str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_listdir_and_delete_prefix(store: Storage, tmp_path: Path) -> None:
    src = _file(tmp_path, b"x")
    for trial in ("trial-1", "trial-10", "trial-2"):
        store.put_file(src, f"checkpoints/{trial}/ckpt.pt")
        store.put_file(src, f"checkpoints/{trial}/meta/info.json")
    assert store.listdir("checkpoints") == ["trial-1", "trial-10", "trial-2"]
    assert store.listdir("checkpoints/trial-1") == ["ckpt.pt", "meta"]
    assert store.listdir("") == ["checkpoints"]
    assert store.listdir("nowhere") == []
    store.delete_prefix("checkpoints/trial-1/")  # a folder, not a string prefix
    assert store.listdir("checkpoints") == ["trial-10", "trial-2"]
    assert store.exists("checkpoints/trial-10/meta/info.json")
    store.delete_prefix("checkpoints/trial-1")  # missing is fine
    with pytest.raises(ValueError, match="whole storage root"):
        store.delete_prefix("")


@pytest.mark.parametrize("bad", ["/etc/passwd", "../up", "a/../../b", "", "c:\\x", "s3://x/y"])
def test_keys_cannot_escape_the_root(store: Storage, bad: str) -> None:
    with pytest.raises(ValueError):
        store.uri(bad)


def test_local_path_fast_path(tmp_path: Path) -> None:
    local = Storage.open(str(tmp_path / "root"))
    assert local.local_path(KEY) == str(tmp_path / "root" / "checkpoints" / "trial-000012" / "ckpt.pt")
    assert local.uri(KEY) == local.local_path(KEY)
    assert Storage.open("memory://rung-tests/fast").local_path(KEY) is None
    # a file written in place through local_path() is "put" without a copy
    path = local.local_path(KEY)
    os.makedirs(os.path.dirname(path))
    Path(path).write_bytes(b"in place")
    assert local.put_file(path, KEY) == path and local.get_bytes(KEY) == b"in place"


def test_roots_are_normalised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Storage.open("relative/run").root == str(tmp_path / "relative" / "run")  # same folder on every worker
    assert Storage.open(f"file://{tmp_path}/viauri").root == str(tmp_path / "viauri")
    assert (tmp_path / "viauri").is_dir()
    with pytest.raises(ValueError):
        Storage.open("  ")
    with pytest.raises(StorageError):
        Storage.open(str(tmp_path / "missing"), create=False)
    with pytest.raises(StorageError, match="storage root nosuchproto://b"):
        Storage.open("nosuchproto://b")


def test_pickle_round_trip_reopens_lazily(store: Storage, tmp_path: Path) -> None:
    store.put_file(_file(tmp_path, b"data"), KEY)
    state = pickle.dumps(store)
    assert b"fsspec" not in state  # the filesystem object itself never travels
    again = pickle.loads(state)
    assert again == store and again._fs is None
    assert again.get_bytes(KEY) == b"data"


def _fail_midway(src, dst) -> None:
    dst.write(b"torn")  # half a checkpoint reaches the disk, then the writer dies
    raise OSError("disk full")


def test_failed_local_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Storage.open(str(tmp_path / "root"))
    store.put_file(_file(tmp_path, b"good checkpoint"), KEY)
    monkeypatch.setattr(storage_module, "_copy_stream", _fail_midway)
    with pytest.raises(OSError, match="disk full"):
        store.put_file(_file(tmp_path, b"new checkpoint", "new.bin"), KEY)
    assert store.get_bytes(KEY) == b"good checkpoint"
    assert os.listdir(os.path.dirname(store.local_path(KEY))) == ["ckpt.pt"]  # no temp file left


def test_failed_fsspec_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Storage.open(f"memory://rung-tests/{uuid.uuid4().hex}")
    store.put_file(_file(tmp_path, b"good checkpoint"), KEY)
    fs = store.fs

    def torn_put(lpath, rpath, **kwargs):
        with fs.open(rpath, "wb") as f:
            f.write(b"torn")
        raise OSError("connection reset")

    monkeypatch.setattr(fs, "put_file", torn_put)
    with pytest.raises(OSError, match="connection reset"):
        store.put_file(_file(tmp_path, b"new checkpoint", "new.bin"), KEY)
    monkeypatch.undo()
    assert store.get_bytes(KEY) == b"good checkpoint"
    assert store.listdir("checkpoints/trial-000012") == ["ckpt.pt"]
    assert fs.ls(store._path + "/checkpoints/trial-000012", detail=False) == [store._path + "/" + KEY]


def test_check_writable(tmp_path: Path) -> None:
    store = Storage.open(str(tmp_path / "root"))
    store.check_writable()
    assert os.listdir(tmp_path / "root") == []  # the probe is cleaned up
    os.rmdir(tmp_path / "root")
    (tmp_path / "root").write_text("a file where the root folder should be")  # fails even as root
    with pytest.raises(StorageError, match=r"^storage root .*root is not writable: "):
        store.check_writable()


def test_put_bytes(store: Storage) -> None:
    store.put_bytes(b'{"level": 3}', "checkpoints/trial-1/meta.json")
    assert store.get_bytes("checkpoints/trial-1/meta.json") == b'{"level": 3}'

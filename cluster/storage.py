"""The storage root for checkpoints and artifacts: a local folder or a URI every node reaches.

Why this exists: a promoted trial resumes on whichever worker is free, possibly on another
node, so its checkpoint must live where every node can read it. On one machine that is a local
folder (the run directory, the default); on a cluster it is a shared filesystem path mounted at
the same place on every node, or an object store (``s3://bucket/prefix``, ``gs://...``), or
anything else fsspec opens. ``memory://`` (fsspec's in-process store) serves tests.

Keys are '/'-separated relative paths such as ``checkpoints/trial-000012/ckpt.pt``; no
absolute paths, no ``..``: a key can never escape the root.

Atomic writes, so a crash mid-write never replaces a good checkpoint with a torn one:

* local roots: the data is copied to a temporary name in the destination's own directory,
  flushed and fsync'ed, then renamed over the destination with ``os.replace`` (atomic on
  POSIX filesystems, including NFS for a rename within one directory);
* object stores (s3, gs, azure): one ``put`` of the whole object is atomic by the store's own
  contract: readers see the old object or the complete new one, never a part (a multipart
  upload becomes visible only when it completes);
* other fsspec filesystems (sftp, hdfs, memory, ...): write to a temporary key next to the
  destination, then ``mv`` it into place.

`Storage` objects are sent to Ray actors: they pickle as their root string only and reopen
the filesystem lazily on first use in the receiving process. Nothing here ever unpickles
data: the storage moves bytes and files, the trainables decide what the bytes mean.
"""
from __future__ import annotations

import os
import shutil
import uuid
from typing import IO, Any

__all__ = ["Storage", "StorageError"]

# fsspec protocols whose single put is atomic (whole-object replace).
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "r2"})
_TMP_MARK = ".rung-tmp-"


class StorageError(OSError):
    """The storage root cannot be used (unreachable, missing driver package, not writable)."""


def _check_key(key: str, *, allow_empty: bool = False) -> str:
    """Normalise a key ('a/b/', 'a//b' -> 'a/b') and refuse any that could leave the root."""
    if not isinstance(key, str):
        raise ValueError(f"storage key must be a string, got {type(key).__name__}")
    if key.startswith("/") or "\\" in key or ":" in key.split("/", 1)[0]:
        raise ValueError(f"storage key must be a relative '/'-separated path, got {key!r}")
    parts = [p for p in key.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ValueError(f"storage key must not contain '..', got {key!r}")
    if not parts and not allow_empty:
        raise ValueError("storage key must not be empty")
    return "/".join(parts)


def _copy_stream(src: IO[bytes], dst: IO[bytes]) -> None:
    """Copy file contents (its own function so tests can make a copy fail midway)."""
    shutil.copyfileobj(src, dst, length=1 << 20)


class Storage:
    """A storage root; see the module docstring. Open with `Storage.open(root)`."""

    def __init__(self, root: str, *, _protocol: str, _path: str) -> None:
        self.root = root                  # what the user gave, normalised; pickled, reopened remotely
        self.protocol = _protocol         # "local" or an fsspec protocol ("s3", "memory", ...)
        self._path = _path                # local: absolute folder; fsspec: the path inside the fs
        self._fs: Any = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, root: str, *, create: bool = True) -> "Storage":
        """A `Storage` for a local path, ``file://`` URI or any fsspec URI.

        Local roots are made absolute here, on the driver, so the root string means the same
        folder on workers whose current directory differs (on a cluster it must be a path
        mounted identically on every node). `create` makes a missing local folder.
        Raises ValueError for an empty root and StorageError when fsspec lacks the package for
        the URI's scheme (e.g. s3fs for s3://).
        """
        if not isinstance(root, str) or not root.strip():
            raise ValueError(f"storage root must be a non-empty path or URI, got {root!r}")
        root = root.strip()
        scheme = root.split("://", 1)[0].lower() if "://" in root else ""
        if scheme in ("", "file", "local"):
            path = root.split("://", 1)[1] if scheme else root
            path = os.path.abspath(os.path.expanduser(path))
            if create:
                os.makedirs(path, exist_ok=True)
            elif not os.path.isdir(path):
                raise StorageError(f"storage root {path} is not a folder")
            return cls(path, _protocol="local", _path=path)
        try:
            from fsspec.core import url_to_fs

            fs, path = url_to_fs(root)
        except (ImportError, ValueError) as err:  # no driver package for the scheme, unknown scheme
            raise StorageError(f"storage root {root}: {err}") from None
        store = cls(root.rstrip("/"), _protocol=scheme, _path=str(path).rstrip("/"))
        store._fs = fs
        return store

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (None for local roots, which use os calls directly)."""
        if self.protocol == "local":
            return None
        if self._fs is None:
            try:
                from fsspec.core import url_to_fs

                self._fs = url_to_fs(self.root)[0]
            except ImportError as err:
                raise StorageError(f"storage root {self.root}: {err}") from None
            except ValueError as err:  # unknown protocol
                raise StorageError(f"storage root {self.root}: {err}") from None
        return self._fs

    @property
    def is_local(self) -> bool:
        return self.protocol == "local"

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root, "protocol": self.protocol, "_path": self._path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.root = state["root"]
        self.protocol = state["protocol"]
        self._path = state["_path"]
        self._fs = None  # reopened lazily in this process

    def __repr__(self) -> str:
        return f"Storage({self.root!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Storage) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    # ------------------------------------------------------------------ names
    def _full(self, key: str) -> str:
        key = _check_key(key)
        if self.is_local:
            return os.path.join(self._path, *key.split("/"))
        return f"{self._path}/{key}" if self._path else key

    def uri(self, key: str) -> str:
        """Where `key` lives, for messages and the journal: a path for local roots, else a URI."""
        key = _check_key(key)
        if self.is_local:
            return self._full(key)
        return f"{self.root}/{key}"

    def local_path(self, key: str) -> str | None:
        """The file's path when the root is local (read and write it in place), else None.

        Writers using it must be atomic themselves (temp file in the same folder + os.replace)
        and create the parent folder.
        """
        return self._full(key) if self.is_local else None

    # ------------------------------------------------------------------ writing
    def put_file(self, local_path: str, key: str) -> str:
        """Copy a local file to `key` atomically (see the module docstring); returns uri(key)."""
        dest = self._full(key)
        if self.is_local:
            if os.path.abspath(local_path) == dest:
                return dest  # written in place through local_path()
            folder = os.path.dirname(dest)
            os.makedirs(folder, exist_ok=True)
            tmp = os.path.join(folder, f"{_TMP_MARK}{uuid.uuid4().hex}-{os.path.basename(dest)}")
            try:
                with open(local_path, "rb") as src, open(tmp, "wb") as dst:
                    _copy_stream(src, dst)
                    dst.flush()
                    os.fsync(dst.fileno())
                os.replace(tmp, dest)
            except BaseException:
                _remove_quietly(tmp)
                raise
            _fsync_dir(folder)
            return dest
        fs = self.fs
        if self.protocol in OBJECT_STORES:
            fs.put_file(local_path, dest)  # one PUT: atomic by the store's contract
        else:
            parent, _, name = dest.rpartition("/")
            tmp = f"{parent}/{_TMP_MARK}{uuid.uuid4().hex}-{name}" if parent else f"{_TMP_MARK}{uuid.uuid4().hex}-{name}"
            if parent:
                fs.makedirs(parent, exist_ok=True)
            try:
                fs.put_file(local_path, tmp)
                fs.mv(tmp, dest)
            except BaseException:
                try:
                    fs.rm(tmp)
                except Exception:
                    pass
                raise
        return self.uri(key)

    def put_bytes(self, data: bytes, key: str) -> str:
        """Write small data (e.g. a JSON manifest) atomically; returns uri(key)."""
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix="rung-put-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            return self.put_file(tmp, key)
        finally:
            _remove_quietly(tmp)

    # ------------------------------------------------------------------ reading
    def get_file(self, key: str, local_path: str) -> str:
        """Copy `key` to a local file (atomically there too); FileNotFoundError naming the URI if missing."""
        src = self._full(key)
        folder = os.path.dirname(os.path.abspath(local_path))
        os.makedirs(folder, exist_ok=True)
        if self.is_local and os.path.abspath(local_path) == src:
            if not os.path.isfile(src):
                raise FileNotFoundError(f"{self.uri(key)} does not exist")
            return local_path
        tmp = os.path.join(folder, f"{_TMP_MARK}{uuid.uuid4().hex}-{os.path.basename(local_path)}")
        try:
            if self.is_local:
                if not os.path.isfile(src):
                    raise FileNotFoundError(f"{self.uri(key)} does not exist")
                shutil.copyfile(src, tmp)
            else:
                if not self.fs.isfile(src):
                    raise FileNotFoundError(f"{self.uri(key)} does not exist")
                self.fs.get_file(src, tmp)
            os.replace(tmp, local_path)
        except BaseException:
            _remove_quietly(tmp)
            raise
        return local_path

    def get_bytes(self, key: str) -> bytes:
        """The content of `key`; FileNotFoundError naming the URI if missing."""
        src = self._full(key)
        try:
            if self.is_local:
                with open(src, "rb") as f:
                    return f.read()
            with self.fs.open(src, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.uri(key)} does not exist") from None

    def exists(self, key: str) -> bool:
        path = self._full(key)
        return os.path.exists(path) if self.is_local else bool(self.fs.exists(path))

    def listdir(self, prefix: str = "") -> list[str]:
        """Names (not keys) of the entries directly under the folder `prefix`, sorted; [] if absent.

        Temporary files of writes in progress are left out.
        """
        key = _check_key(prefix, allow_empty=True)
        if self.is_local:
            path = self._full(key) if key else self._path
            try:
                names = os.listdir(path)
            except (FileNotFoundError, NotADirectoryError):
                return []
        else:
            path = self._full(key) if key else self._path
            try:
                entries = self.fs.ls(path, detail=False)
            except FileNotFoundError:
                return []
            names = [str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries]
        return sorted({n for n in names if not n.startswith(_TMP_MARK)})

    # ------------------------------------------------------------------ deleting
    def delete(self, key: str) -> None:
        """Remove one file; a missing one is fine (deletes are retried after crashes)."""
        path = self._full(key)
        if self.is_local:
            _remove_quietly(path)
            return
        try:
            self.fs.rm(path)
        except FileNotFoundError:
            pass

    def delete_prefix(self, prefix: str) -> None:
        """Remove the folder `prefix` and everything under it; missing is fine.

        The prefix is a folder, not a string prefix: deleting ``checkpoints/trial-1`` leaves
        ``checkpoints/trial-10`` alone. The empty prefix (the whole root) is refused.
        """
        key = _check_key(prefix, allow_empty=True)
        if not key:
            raise ValueError("delete_prefix('') would delete the whole storage root; refused")
        path = self._full(key)
        if self.is_local:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                _remove_quietly(path)
            return
        try:
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass

    # ------------------------------------------------------------------ checks
    def check_writable(self) -> None:
        """Write, read back and delete a small probe; StorageError with the reason if any step fails.

        Call once on the driver before starting trials, so a mistyped bucket or a read-only
        mount is one clear error instead of every trial failing at its first checkpoint.
        """
        key = f".rung-probe-{uuid.uuid4().hex}"
        try:
            self.put_bytes(b"rung", key)
            if self.get_bytes(key) != b"rung":
                raise StorageError("read back different bytes")
        except Exception as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise StorageError(f"storage root {self.root} is not writable: {reason}") from None
        finally:
            try:
                self.delete(key)
            except Exception:
                pass


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except IsADirectoryError:  # became a folder since it was looked at (a concurrent writer)
        shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(folder: str) -> None:
    """Persist the rename itself (the directory entry); best effort where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

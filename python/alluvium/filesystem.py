"""`alluvium://`: the Alluvium cache as an fsspec filesystem.

    fs = fsspec.filesystem("alluvium", coordinator="127.0.0.1:19998")
    with fsspec.open("alluvium:///data/train/part-0") as f: ...

Paths are cache paths ("/data/train/x", as `alluvium fs ls` shows them) or UFS URIs under a mount
("s3://bucket/train/x"). Reads go through the C++ client (alluvium._native): the same ring,
short-circuit reads, remote reads and worker failover as the CLI and the FUSE mount, with the
GIL released while they run. The filesystem is read-only; loads are jobs (load, load_progress,
stop_load).
"""

import errno
import hashlib

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem
from fsspec.utils import tokenize

from . import _connection
from .jobs import LoadJobs


def _read_only(path):
    return OSError(errno.EROFS, f"alluvium:// is read-only (the cache of its UFS): {path}")


class AlluviumFileSystem(AbstractFileSystem):
    """The cache namespace of one Alluvium cluster.

    coordinator: "host:port" of the coordinator's RPC service (default from the configuration:
        127.0.0.1:19998).
    rest: "host:port" of its REST API, for load jobs (default: the coordinator's host, port
        alluvium.coordinator.web.port).
    config: an alluvium-site.properties file (default: $ALLUVIUM_CONF, if set).
    conf: more settings, {"alluvium.user.short.circuit.enabled": "false", ...}.
    Pickles to these settings; a forked or unpickled copy connects on its own.
    """

    protocol = "alluvium"
    root_marker = "/"

    def __init__(self, coordinator=None, rest=None, config=None, conf=None, **kwargs):
        super().__init__(**kwargs)
        overrides = [f"{k}={v}" for k, v in sorted((conf or {}).items())]
        if coordinator:
            host, _, port = str(coordinator).rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"coordinator must be host:port, not {coordinator!r}")
            overrides += [
                f"alluvium.coordinator.hostname={host}",
                f"alluvium.coordinator.rpc.port={port}",
            ]
        self._connection = _connection.connection_for(config, overrides)
        self._rest = rest
        self._client()  # connect now: a wrong address fails here, not at the first read

    def _client(self):
        return self._connection.client()

    # --- paths

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith("alluvium://"):
            path = path[len("alluvium://") :]
        elif path.startswith("alluvium::"):
            path = path[len("alluvium::") :]
        if "://" in path:  # a UFS URI, resolved by the client
            return path
        return "/" + path.strip("/")

    def unstrip_protocol(self, name):
        return name if "://" in name else "alluvium://" + name

    @staticmethod
    def _get_kwargs_from_urls(urlpath):
        return {}

    # --- metadata

    def info(self, path, **kwargs):
        return self._client().stat(self._strip_protocol(path))

    def ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        entry = self.info(path)
        entries = [entry] if entry["type"] == "file" else self._client().list(path)
        return entries if detail else [e["name"] for e in entries]

    def ukey(self, path):
        info = self.info(path)
        return tokenize(info["uri"], info["version"], info["size"])

    def checksum(self, path):
        """From the file's UFS version (ETag, or length and mtime): changes when the file does."""
        return int(hashlib.sha256(self.ukey(path).encode()).hexdigest()[:16], 16)

    def invalidate_cache(self, path=None):
        """Forgets the statuses and listings this process's client keeps, for every path."""
        self._client().drop_metadata_cache()
        super().invalidate_cache(path)

    # --- data

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = self.size(path)
            start = max(0, size + start) if start is not None and start < 0 else start
            end = max(0, size + end) if end is not None and end < 0 else end
        return self._client().read(path, start or 0, -1 if end is None else end)

    def cat_ranges(self, paths, starts, ends, max_gap=None, **kwargs):
        """All the ranges in one call into the client, which reads them with the GIL released."""
        if not isinstance(paths, list):
            raise TypeError("cat_ranges takes a list of paths")
        if not isinstance(starts, list):
            starts = [starts] * len(paths)
        if not isinstance(ends, list):
            ends = [ends] * len(paths)
        if len(starts) != len(paths) or len(ends) != len(paths):
            raise ValueError("cat_ranges needs as many starts and ends as paths")
        stripped = self._strip_protocol(paths)
        if any((s or 0) < 0 or (e is not None and e < 0) for s, e in zip(starts, ends)):
            return [self.cat_file(p, s, e) for p, s, e in zip(stripped, starts, ends)]
        return self._client().read_ranges(
            stripped, [s or 0 for s in starts], [-1 if e is None else e for e in ends]
        )

    def _open(
        self, path, mode="rb", block_size=None, autocommit=True, cache_options=None, **kwargs
    ):
        path = self._strip_protocol(path)
        if mode != "rb":
            raise _read_only(path)
        info = self.info(path)
        if info["type"] != "file":
            raise IsADirectoryError(errno.EISDIR, f"{path} is a directory")
        return AlluviumFile(
            self,
            path,
            mode,
            block_size=block_size or "default",
            cache_options=cache_options,
            size=info["size"],
            **kwargs,
        )

    # --- writes: the cache is read-only

    def mkdir(self, path, create_parents=True, **kwargs):
        raise _read_only(path)

    def makedirs(self, path, exist_ok=False):
        raise _read_only(path)

    def rmdir(self, path):
        raise _read_only(path)

    def rm_file(self, path):
        raise _read_only(path)

    def rm(self, path, recursive=False, maxdepth=None):
        raise _read_only(path)

    def _rm(self, path):
        raise _read_only(path)

    def cp_file(self, path1, path2, **kwargs):
        raise _read_only(path2)

    def mv(self, path1, path2, recursive=False, maxdepth=None, **kwargs):
        raise _read_only(path1)

    def put_file(self, lpath, rpath, callback=None, **kwargs):
        raise _read_only(rpath)

    def pipe_file(self, path, value, **kwargs):
        raise _read_only(path)

    def touch(self, path, truncate=True, **kwargs):
        raise _read_only(path)

    # --- load jobs (the REST API)

    def _jobs(self):
        client = self._client()
        return LoadJobs(self._rest or client.rest, security=client.rest_security)

    def load(self, path, wait=True, timeout=None, **options):
        """Loads `path` into the cache, as `alluvium job load`. Options: replicas, batch_size,
        partial_listing, metadata_only, skip_if_exists, verify, bandwidth ("10MB"),
        file_filter (a regex), allow_eviction, dry_run. With wait (the default), follows the job
        and returns its last report, raising alluvium.LoadError if it did not succeed; otherwise
        returns the submit's answer."""
        path = self._strip_protocol(path)
        jobs = self._jobs()
        answer = jobs.submit(path, **options)
        if not wait or options.get("dry_run"):
            return answer
        return jobs.wait(path, timeout)

    def load_progress(self, path):
        """The load's report, as `alluvium job load --progress --format JSON` prints it."""
        return self._jobs().progress(self._strip_protocol(path))

    def stop_load(self, path):
        """Stops the load of `path`; False if none was running."""
        return self._jobs().stop(self._strip_protocol(path))


class AlluviumFile(AbstractBufferedFile):
    """A file open for reading; fsspec's block caches (cache_type) sit on top of range reads."""

    def _fetch_range(self, start, end):
        return self.fs._client().read(self.path, start, end)

"""AlluviumFileSystem against a real local cluster: every fsspec method it offers, byte for byte
against the UFS copy, and the errors a file API raises."""

import errno
import os
import pickle
import random

import fsspec
import pytest
from fsspec.core import url_to_fs

import alluvium
from conftest import sha


def ufs_walk(cluster, top):
    """(cache path of every file, of every directory) below `top`, from the UFS itself."""
    files, dirs = [], []
    base = cluster.ufs / top.lstrip("/")
    for root, dirnames, filenames in os.walk(base):
        rel = "/" + os.path.relpath(root, cluster.ufs)
        dirs += [f"{rel}/{d}" for d in dirnames]
        files += [f"{rel}/{f}" for f in filenames]
    return sorted(files), sorted(dirs)


def test_urls_and_registration(cluster, monkeypatch):
    monkeypatch.setenv("ALLUVIUM_CONF", str(cluster.conf))
    assert fsspec.get_filesystem_class("alluvium") is alluvium.AlluviumFileSystem
    with fsspec.open("alluvium:///data/mixed/f4.bin", "rb") as f:
        assert f.read() == cluster.files["/data/mixed/f4.bin"]
    fs = fsspec.filesystem("alluvium", coordinator=cluster.coordinator)
    assert isinstance(fs, alluvium.AlluviumFileSystem)
    fs2, path = url_to_fs("alluvium:///data/train", coordinator=cluster.coordinator)
    assert path == "/data/train" and isinstance(fs2, alluvium.AlluviumFileSystem)
    assert fs.unstrip_protocol("/data/x") == "alluvium:///data/x"


def test_cache_paths_and_ufs_uris_both_resolve(fs, cluster):
    uri = f"file://{cluster.ufs}/data/mixed/f6.bin"
    assert fs.cat_file(uri) == cluster.files["/data/mixed/f6.bin"]
    assert fs.info(uri)["name"] == "/data/mixed/f6.bin"
    assert fs.info("alluvium:///data/mixed/f6.bin")["uri"] == uri


def test_info_ls_exists_isdir(fs, cluster):
    info = fs.info("/data/mixed/f8.bin")
    assert info["type"] == "file" and info["size"] == len(cluster.files["/data/mixed/f8.bin"])
    assert info["version"] and info["uri"].startswith("file://")
    assert fs.info("/data/train")["type"] == "directory"
    assert fs.info("/")["type"] == "directory"
    names = fs.ls("/data/train/d0", detail=False)
    assert names == sorted(p for p in cluster.files if p.startswith("/data/train/d0/"))
    detailed = {e["name"]: e for e in fs.ls("/data/mixed")}
    for path, data in cluster.files.items():
        if path.startswith("/data/mixed/"):
            assert detailed[path]["size"] == len(data)
    assert fs.ls("/data/mixed/f1.bin", detail=False) == ["/data/mixed/f1.bin"]
    assert fs.exists("/data/mixed/f0.bin") and not fs.exists("/data/nope")
    assert fs.isdir("/data") and not fs.isdir("/data/mixed/f0.bin")
    assert fs.isfile("/data/mixed/f0.bin") and not fs.isfile("/data")


def test_find_walk_glob_du_agree_with_the_ufs(fs, cluster):
    files, dirs = ufs_walk(cluster, "/data")
    assert fs.find("/data") == files
    assert sorted(fs.find("/data", withdirs=True)) == sorted(files + dirs + ["/data"]) or sorted(
        fs.find("/data", withdirs=True)
    ) == sorted(files + dirs)
    walked = []
    for root, _, filenames in fs.walk("/data"):
        walked += [f"{root}/{f}" for f in filenames]
    assert sorted(walked) == files
    assert fs.glob("/data/train/d1/sample-00*.bin") == sorted(
        p for p in files if p.startswith("/data/train/d1/sample-00")
    )
    assert fs.du("/data") == sum(len(cluster.files[p]) for p in files)
    assert fs.du("/data/train", total=False)["/data/train/d2/sample-000.bin"] == len(
        cluster.files["/data/train/d2/sample-000.bin"]
    )


def test_whole_files_and_random_ranges_equal_the_ufs(fs, cluster):
    for path, data in cluster.files.items():
        assert fs.cat_file(path) == data, path
    rng = random.Random(3)
    big = cluster.files["/data/big/large.bin"]
    for _ in range(200):
        start = rng.randrange(0, len(big))
        end = start + rng.randrange(0, 3 << 20)
        assert fs.cat_file("/data/big/large.bin", start, end) == big[start:end]
    assert fs.cat_file("/data/big/large.bin", -1000) == big[-1000:]
    assert fs.cat_file("/data/big/large.bin", 10, -10) == big[10:-10]
    assert fs.cat_file("/data/big/large.bin", len(big) + 5) == b""
    assert fs.cat(["/data/mixed/f2.bin", "/data/mixed/f3.bin"]) == {
        p: cluster.files[p] for p in ["/data/mixed/f2.bin", "/data/mixed/f3.bin"]
    }


def test_cat_ranges_reads_every_range_in_one_call(fs, cluster):
    rng = random.Random(5)
    paths, starts, ends = [], [], []
    for _ in range(300):
        path = rng.choice(sorted(p for p, d in cluster.files.items() if d))
        size = len(cluster.files[path])
        start = rng.randrange(0, size)
        paths.append(path)
        starts.append(start)
        ends.append(min(size + 100, start + rng.randrange(1, 128 << 10)))
    got = fs.cat_ranges(paths, starts, ends)
    assert got == [cluster.files[p][s:e] for p, s, e in zip(paths, starts, ends)]
    assert fs.cat_ranges(["/data/mixed/f8.bin"], [-10], [None]) == [
        cluster.files["/data/mixed/f8.bin"][-10:]
    ]


@pytest.mark.parametrize(
    "cache_type", ["readahead", "bytes", "block", "mmap", "none", "all", "first"]
)
def test_open_with_fsspecs_block_caches(fs, cluster, cache_type):
    big = cluster.files["/data/big/large.bin"]
    rng = random.Random(9)
    with fs.open("/data/big/large.bin", "rb", block_size=1 << 20, cache_type=cache_type) as f:
        assert f.size == len(big)
        assert f.read(100) == big[:100]
        for _ in range(50):
            at = rng.randrange(0, len(big))
            f.seek(at)
            assert f.read(70_000) == big[at : at + 70_000]
        f.seek(0)
        assert f.read() == big


def test_get_file_copies_the_bytes(fs, cluster, tmp_path):
    target = tmp_path / "copy.bin"
    fs.get_file("/data/mixed/f8.bin", str(target))
    assert target.read_bytes() == cluster.files["/data/mixed/f8.bin"]
    fs.get("/data/train/d1", str(tmp_path / "d1"), recursive=True)
    for path, data in cluster.files.items():
        if path.startswith("/data/train/d1/"):
            assert (tmp_path / "d1" / os.path.basename(path)).read_bytes() == data


def test_checksum_and_ukey_follow_the_version(fs):
    a = fs.checksum("/data/mixed/f4.bin")
    assert a == fs.checksum("/data/mixed/f4.bin")
    assert a != fs.checksum("/data/mixed/f5.bin")
    assert fs.ukey("/data/mixed/f4.bin") != fs.ukey("/data/mixed/f5.bin")


def test_writes_fail_read_only(fs):
    for call in [
        lambda: fs.open("/data/new.bin", "wb"),
        lambda: fs.pipe_file("/data/new.bin", b"x"),
        lambda: fs.rm("/data/mixed/f0.bin"),
        lambda: fs.mkdir("/data/newdir"),
        lambda: fs.touch("/data/new.bin"),
        lambda: fs.mv("/data/mixed/f0.bin", "/data/mixed/g0.bin"),
        lambda: fs.put_file(__file__, "/data/new.py"),
    ]:
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == errno.EROFS and "read-only" in str(e.value)


def test_errors_map_to_pythons(fs, cluster):
    with pytest.raises(FileNotFoundError):
        fs.info("/data/missing.bin")
    with pytest.raises(FileNotFoundError):
        fs.cat_file("/data/missing.bin")
    with pytest.raises(FileNotFoundError):
        fs.open("/data/missing.bin", "rb")
    with pytest.raises(IsADirectoryError):
        fs.cat_file("/data/mixed")
    with pytest.raises(IsADirectoryError):
        fs.open("/data/mixed", "rb")
    with pytest.raises(FileNotFoundError) as e:
        fs.info("/not-mounted/x")
    assert "mount" in str(e.value)
    with pytest.raises(ValueError):
        alluvium.AlluviumFileSystem(coordinator="no-port")
    with pytest.raises(ConnectionError):
        alluvium.AlluviumFileSystem(
            coordinator="127.0.0.1:1", conf={"alluvium.user.rpc.timeout": "2s"}
        )


def test_pickles_to_its_settings(fs, cluster):
    copy = pickle.loads(pickle.dumps(fs))
    assert isinstance(copy, alluvium.AlluviumFileSystem)
    assert copy.storage_options == fs.storage_options
    assert copy.cat_file("/data/mixed/f6.bin") == cluster.files["/data/mixed/f6.bin"]
    with fs.open("/data/mixed/f7.bin", "rb") as f:
        f.read(10)
        reopened = pickle.loads(pickle.dumps(f))
        assert reopened.read() == cluster.files["/data/mixed/f7.bin"][10:]


def test_invalidate_cache_drops_statuses(fs, cluster):
    path = cluster.ufs / "data" / "mixed" / "late.bin"
    assert not fs.exists("/data/mixed/late.bin")
    path.write_bytes(b"written after the listing")
    try:
        fs.invalidate_cache()
        assert fs.cat_file("/data/mixed/late.bin") == b"written after the listing"
        assert sha(fs.cat_file("/data/mixed/f8.bin")) == sha(cluster.files["/data/mixed/f8.bin"])
    finally:
        path.unlink()
        fs.invalidate_cache()

"""Times reads through alluvium:// (fsspec) against Python reading the same files from tmpfs, in
alternated rounds in one process. Run by bench/python/run.sh with /usr/bin/python3.

usage: bench.py CONF UFS_DIR ROUNDS RANGES SEED
Prints one line per case and side and round: "case side round seconds".
"""

import os
import random
import sys
import time

import fsspec

conf, ufs, rounds, range_count, seed = (
    sys.argv[1],
    sys.argv[2],
    int(sys.argv[3]),
    int(sys.argv[4]),
    int(sys.argv[5]),
)
fs = fsspec.filesystem("alluvium", config=conf)

big_cache = "/big/big.bin"
big_ufs = os.path.join(ufs, "big", "big.bin")
small_cache = sorted(fs.find("/small"))
small_ufs = [os.path.join(ufs, p.lstrip("/")) for p in small_cache]
size = os.path.getsize(big_ufs)
rng = random.Random(seed)
range_bytes = 64 << 10
starts = [rng.randrange(0, size - range_bytes) for _ in range(range_count)]
ends = [s + range_bytes for s in starts]

# Checked once, untimed: the bytes are the UFS's.
expected = open(big_ufs, "rb").read()
assert fs.cat_file(big_cache) == expected, "big file differs"
assert fs.cat_ranges([big_cache] * 10, starts[:10], ends[:10]) == [
    expected[s:e] for s, e in zip(starts[:10], ends[:10])
]
for c, u in zip(small_cache[:100], small_ufs[:100]):
    assert fs.cat_file(c) == open(u, "rb").read(), c
del expected


def large_alluvium():
    return len(fs.cat_file(big_cache))


def large_open_alluvium():
    with fs.open(big_cache, "rb") as f:
        return len(f.read())


def large_tmpfs():
    with open(big_ufs, "rb") as f:
        return len(f.read())


def small_alluvium():
    return sum(len(fs.cat_file(p)) for p in small_cache)


def small_tmpfs():
    n = 0
    for p in small_ufs:
        with open(p, "rb") as f:
            n += len(f.read())
    return n


def ranges_alluvium():
    return sum(len(b) for b in fs.cat_ranges([big_cache] * range_count, starts, ends))


def ranges_tmpfs():
    fd = os.open(big_ufs, os.O_RDONLY)
    try:
        return sum(len(os.pread(fd, range_bytes, s)) for s in starts)
    finally:
        os.close(fd)


cases = [
    (
        "large",
        [
            ("alluvium", large_alluvium),
            ("alluvium_open", large_open_alluvium),
            ("tmpfs", large_tmpfs),
        ],
    ),
    ("small", [("alluvium", small_alluvium), ("tmpfs", small_tmpfs)]),
    ("ranges", [("alluvium", ranges_alluvium), ("tmpfs", ranges_tmpfs)]),
]
for r in range(rounds):
    for case, sides in cases:
        order = sides[r % len(sides) :] + sides[: r % len(sides)]  # rotate who goes first
        for side, run in order:
            start = time.perf_counter()
            n = run()
            seconds = time.perf_counter() - start
            assert n > 0
            print(f"{case} {side} {r} {seconds:.6f}", flush=True)

"""A real local cluster for the Python tests, started and stopped with the project's CLI
(`alluvium cluster start/stop`) on 127.0.0.1 and free ports, with a dataset in a local UFS."""

import contextlib
import hashlib
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# ctest's timeout (and CI's) sends SIGTERM: end as on ^C, so that the clusters' fixtures stop them.
signal.signal(signal.SIGTERM, _interrupt)
ALLUVIUM = os.environ.get("ALLUVIUM_BIN", str(REPO / "build" / "src" / "cli" / "alluvium"))


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def eventually(check, timeout=30.0, what="condition"):
    """Waits for check() to be true, polling; never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.05)


class Cluster:
    def __init__(self, root, workers, files, conf=()):
        self.root = pathlib.Path(root)
        self.ufs = self.root / "ufs"
        self.run_dir = self.root / "run"
        self.ufs.mkdir()
        rpc, web = free_ports(2)
        self.coordinator = f"127.0.0.1:{rpc}"
        self.rest = f"127.0.0.1:{web}"
        self.conf = self.root / "alluvium-site.properties"
        self.conf.write_text(
            "\n".join(
                [
                    f"alluvium.work.dir={self.root / 'work'}",
                    f"alluvium.ufs.root=file://{self.ufs}",
                    f"alluvium.cluster.run.dir={self.run_dir}",
                    f"alluvium.coordinator.rpc.port={rpc}",
                    f"alluvium.coordinator.web.port={web}",
                    "alluvium.worker.page.store.size=512MB",
                    *conf,  # "key=value" lines, e.g. the alluvium.security.* settings
                    "",
                ]
            )
        )
        self.files = {}  # cache path -> bytes
        for rel, data in files.items():
            path = self.ufs / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.files["/" + rel] = data
        self.workers = workers
        self.cli("cluster", "start", "--workers", str(workers))

    def cli(self, *args, check=True):
        result = subprocess.run(
            [ALLUVIUM, "--config", str(self.conf), *args], capture_output=True, text=True
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"alluvium {' '.join(args)}: {result.returncode}\n{result.stdout}{result.stderr}"
            )
        return result

    def load(self, path):
        self.cli("job", "load", path, "--wait")

    def worker_pid(self, index):
        return int((self.run_dir / "pids" / f"worker-{index}.pid").read_text().split()[0])

    def kill_worker(self, index):
        os.kill(self.worker_pid(index), signal.SIGKILL)

    def stop(self):
        self.cli("cluster", "stop", check=False)


def random_bytes(rng, n):
    return rng.getrandbits(8 * n).to_bytes(n, "little") if n else b""


def dataset(seed=7):
    """Files of every awkward size: empty, one byte, around the 1 MiB page, several pages."""
    rng = random.Random(seed)
    files = {}
    for i, size in enumerate(
        [0, 1, 4095, 4096, 65537, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3_500_000]
    ):
        files[f"data/mixed/f{i}.bin"] = random_bytes(rng, size)
    for d in range(3):
        for i in range(20):
            files[f"data/train/d{d}/sample-{i:03}.bin"] = random_bytes(
                rng, rng.randrange(1, 40_000)
            )
    files["data/big/large.bin"] = random_bytes(rng, 24 << 20)
    return files


def sha(data):
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def started_cluster(workers, files, conf=(), root=None):
    """A cluster in a temp dir (or `root`, made beforehand), stopped (by its PIDs) and removed
    however the test ends, a failed start included."""
    root = root or tempfile.mkdtemp(prefix="alluvium-python-")
    c = None
    try:
        c = Cluster(root, workers=workers, files=files, conf=conf)
        yield c
    finally:
        if c is None:  # the start failed part way: stop what it started
            subprocess.run(
                [
                    ALLUVIUM,
                    "--config",
                    os.path.join(root, "alluvium-site.properties"),
                    "cluster",
                    "stop",
                ],
                capture_output=True,
            )
        else:
            c.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster():
    if not os.access(ALLUVIUM, os.X_OK):
        pytest.fail(f"no alluvium binary at {ALLUVIUM} (build it, or set ALLUVIUM_BIN)")
    with started_cluster(workers=2, files=dataset()) as c:
        c.load("/data")
        yield c


@pytest.fixture
def fresh_cluster():
    """A cluster of its own, for tests that kill workers or stop jobs."""
    with started_cluster(workers=3, files=dataset(seed=11)) as c:
        yield c


@pytest.fixture
def fs(cluster):
    import alluvium

    return alluvium.AlluviumFileSystem(coordinator=cluster.coordinator, rest=cluster.rest)

"""A PyTorch DataLoader with 4 worker processes (forked, PyTorch's default on Linux) reads every
sample through alluvium:// byte for byte as the UFS holds it."""

import pytest

import alluvium
from conftest import sha

torch = pytest.importorskip("torch", reason="python3-torch is not installed")
from torch.utils.data import DataLoader, Dataset  # noqa: E402


class Samples(Dataset):
    def __init__(self, fs, paths):
        self.fs = fs
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        data = self.fs.cat_file(self.paths[i])
        return self.paths[i], sha(data), len(data)


def test_dataloader_with_four_workers_reads_every_sample_identical(cluster):
    fs = alluvium.AlluviumFileSystem(coordinator=cluster.coordinator)
    paths = sorted(p for p in cluster.files if p.startswith("/data/train/"))
    loader = DataLoader(Samples(fs, paths), batch_size=4, num_workers=4, shuffle=True)
    seen = {}
    for names, digests, sizes in loader:
        for name, digest, size in zip(names, digests, sizes):
            seen[name] = (digest, int(size))
    assert seen == {p: (sha(cluster.files[p]), len(cluster.files[p])) for p in paths}

#!/usr/bin/python3
"""Reads every file under a directory with a PyTorch DataLoader, as a training job's input
pipeline would, and checks each sample against a reference copy.

Point it at an Alluvium FUSE mount of a preloaded dataset (see README.md beside this file):

    /usr/bin/python3 examples/pytorch/read_dataset.py /mnt/alluvium/train \\
        --reference /data/ufs/train --workers 4

Each sample is one file's bytes as a uint8 tensor; the worker processes (forked, PyTorch's
default on Linux) open and read the files through the mount. With --reference, the sha256 of
every sample must equal that of the file at the same relative path there, and both trees must
hold the same files. Exits 0 when every sample is identical, 1 otherwise, 2 on bad arguments.
Run it with Debian's /usr/bin/python3, which sees the python3-torch package.
"""
import argparse
import hashlib
import os
import sys
import time

import torch
from torch.utils.data import DataLoader, Dataset


def relative_files(root):
    """Every regular file below root, as sorted paths relative to it."""
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            found.append(os.path.relpath(os.path.join(directory, name), root))
    return sorted(found)


class FileDataset(Dataset):
    """One sample per file: its bytes as a uint8 tensor."""

    def __init__(self, root):
        self.root = root
        self.paths = relative_files(root)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        with open(os.path.join(self.root, self.paths[index]), "rb") as f:
            data = f.read()
        return index, torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else \
            torch.empty(0, dtype=torch.uint8)


def keep_as_list(batch):
    """Samples differ in length: a batch stays a list of (index, tensor) instead of one tensor."""
    return batch


def sha256_of_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="the dataset's directory (an Alluvium FUSE mount)")
    parser.add_argument("--reference", help="a copy to compare every sample with (the UFS)")
    parser.add_argument("--workers", type=int, default=4, help="DataLoader worker processes")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    if not os.path.isdir(args.root):
        parser.error(f"{args.root} is not a directory")
    if args.reference and not os.path.isdir(args.reference):
        parser.error(f"{args.reference} is not a directory")

    dataset = FileDataset(args.root)
    if len(dataset) == 0:
        print(f"no files under {args.root}", file=sys.stderr)
        return 1
    expected = {}
    if args.reference:
        reference_paths = relative_files(args.reference)
        if reference_paths != dataset.paths:
            missing = sorted(set(reference_paths) - set(dataset.paths))
            extra = sorted(set(dataset.paths) - set(reference_paths))
            print(f"the trees differ: missing {missing[:5]}, not in the reference {extra[:5]}",
                  file=sys.stderr)
            return 1
        expected = {p: sha256_of_file(os.path.join(args.reference, p)) for p in dataset.paths}

    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                        num_workers=args.workers, collate_fn=keep_as_list)
    wrong = []
    samples = total_bytes = 0
    start = time.monotonic()
    for _ in range(args.epochs):
        seen = set()
        for batch in loader:
            for index, sample in batch:
                path = dataset.paths[index]
                seen.add(index)
                samples += 1
                total_bytes += sample.numel()
                if expected and hashlib.sha256(sample.numpy().tobytes()).hexdigest() != expected[path]:
                    wrong.append(path)
        if len(seen) != len(dataset):
            print(f"an epoch saw {len(seen)} of {len(dataset)} samples", file=sys.stderr)
            return 1
    seconds = time.monotonic() - start
    print(f"read {samples} samples ({total_bytes} bytes) in {seconds:.2f} s with "
          f"{args.workers} DataLoader worker processes")
    if wrong:
        print(f"{len(wrong)} samples differ from {args.reference}: {wrong[:5]}", file=sys.stderr)
        return 1
    if args.reference:
        print(f"every sample identical to {args.reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

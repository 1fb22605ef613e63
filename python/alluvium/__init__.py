"""Alluvium from Python: `alluvium://` for fsspec, and load jobs.

    import fsspec
    fs = fsspec.filesystem("alluvium", coordinator="127.0.0.1:19998")
    fs.load("/data/train", replicas=2)            # preload, following the job
    with fs.open("/data/train/part-0", "rb") as f:
        header = f.read(4096)
"""

from .filesystem import AlluviumFile, AlluviumFileSystem
from .jobs import LoadError

__all__ = ["AlluviumFileSystem", "AlluviumFile", "LoadError"]
__version__ = "0.1.0"

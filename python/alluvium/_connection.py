"""The native client behind one filesystem, made anew in a forked child.

A client's gRPC channels and short-circuit sockets do not survive fork(): a child using its
parent's would talk over the parent's sockets. So each process gets its own client the first
time it reads (PyTorch's DataLoader forks its workers after the dataset, and the filesystem in
it, exists). The parent's client, inherited by the child, is kept referenced and never destroyed
there: tearing it down would close connections and join threads that belong to the parent.
"""

import os
import threading

# gRPC's fork handlers (registered by the native module) stop its threads before a fork and
# start them again in the child, so that a child can open channels of its own. They act only
# with fork support on when gRPC starts, so both settings come before the native module loads.
# The poll poller: with epoll1, a child's new channels were handed events of descriptors its
# parent's channels registered (children crashed in 4 of 4 forks in a row, 2026-12-07).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "true")
os.environ.setdefault("GRPC_POLL_STRATEGY", "poll")

from . import _native  # noqa: E402

_inherited = []  # clients made by a parent process, kept alive (unused) in its children
_by_settings = {}  # (config file, overrides) -> Connection: one client per process for each
_by_settings_lock = threading.Lock()


def connection_for(config_file, overrides):
    """The Connection of these settings, shared by every filesystem made with them."""
    key = (config_file or "", tuple(overrides))
    with _by_settings_lock:
        connection = _by_settings.get(key)
        if connection is None:
            connection = _by_settings[key] = Connection(config_file, overrides)
        return connection


class Connection:
    """Settings of a client (a config file and key=value overrides) and this process's client."""

    def __init__(self, config_file, overrides):
        self.config_file = config_file or ""
        self.overrides = list(overrides)
        self._lock = threading.Lock()
        self._pid = None
        self._client = None

    def client(self):
        """This process's native client, connected on first use (and after a fork)."""
        client, pid = self._client, os.getpid()
        if client is not None and self._pid == pid:
            return client
        with self._lock:
            if self._client is not None and self._pid != pid:
                _inherited.append(self._client)
                self._client = None
            if self._client is None:
                self._client = _native.Client(self.config_file, self.overrides)
                self._pid = pid
            return self._client


def _after_fork_in_child():
    # A lock some other thread of the parent held at the fork would stay held for good.
    global _by_settings_lock
    _by_settings_lock = threading.Lock()
    for connection in _by_settings.values():
        connection._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)

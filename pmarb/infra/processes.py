"""Child processes that cannot outlive their parent."""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` asking the kernel to signal the child when its parent dies.

    This is what keeps ``temporal`` and ``postgres`` from being orphaned when ``pmarb up`` is
    killed with SIGKILL and gets no chance to stop them itself.
    """
    libc_name = ctypes.util.find_library("c")

    def set_death_signal() -> None:
        if libc_name is None:
            return
        libc = ctypes.CDLL(libc_name, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return set_death_signal

"""How a process that ran a Temporal client or worker ends once its work is done."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_without_finalizing(code: int = 0) -> NoReturn:
    """Exit now, skipping interpreter finalization.

    temporalio's Rust runtime keeps threads that may still call into Python while the
    interpreter finalizes; the process then aborts ("PyGILState_Release ... finalizing", SIGABRT,
    temporalio/sdk-python#300). A graceful stop would look like a crash to the supervisor, which
    restarts the process and alerts. Everything has been shut down and recorded when this runs;
    only buffered output is left to flush.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)

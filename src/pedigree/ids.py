"""Time-ordered run ids (UUIDv7, RFC 9562).

The first 48 bits are the Unix time in milliseconds, so ids sort by creation time, in the database
index and as plain strings. Within one process a counter in the 12 ``rand_a`` bits keeps ids made
in the same millisecond ordered.

>>> a, b = new_id(), new_id()
>>> a < b
True
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["ID_LENGTH", "new_id"]

ID_LENGTH = 36
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> str:
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # 4096 ids in one ms: borrow the next millisecond
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # room to count up
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand_b
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

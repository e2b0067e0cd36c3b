"""The worker's allocator policy: reuse freed memory during a job, give it back after."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from groovesheet_worker.pipeline import memory

MB = 1024 * 1024

# Run in a fresh interpreter: this test process's heap already holds other tests' freed blocks.
PROBE = """
import ctypes, json, sys
import numpy as np
from groovesheet_worker.pipeline import memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split())]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2

def mapped_while_holding(size):
    block = np.ones(size, dtype=np.uint8)
    mapped = libc.mallinfo2().hblkhd
    del block
    return mapped

size = 64 * 1024 * 1024
result = {"default_mapped": mapped_while_holding(size)}
if sys.argv[1] == "reuse":
    result["policy_set"] = memory.reuse_freed_memory()
    result["mapped"] = mapped_while_holding(size)
    result["kept_after_free"] = libc.mallinfo2().fordblks
    memory.release_freed_memory()
    result["kept_after_release"] = libc.mallinfo2().fordblks
print(json.dumps(result))
"""


def probe(mode: str) -> dict[str, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(memory._libc() is None, reason="glibc only")
def test_with_reuse_large_blocks_come_from_the_heap_and_stay_there_until_released() -> None:
    result = probe("reuse")
    # glibc's default: a 64 MB block is its own mapping, handed back to the kernel when freed.
    assert result["default_mapped"] >= 64 * MB
    assert result["policy_set"] is True
    assert result["mapped"] < 64 * MB  # from the heap
    assert result["kept_after_free"] >= 64 * MB  # freed into the heap, ready for the next buffer
    assert result["kept_after_release"] < 64 * MB  # release_freed_memory gives it back


def test_release_is_safe_to_call_any_time() -> None:
    memory.release_freed_memory()
    memory.release_freed_memory()

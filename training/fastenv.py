"""The process environment the training scripts run in (see training/README.md, "Speed", for the measurements).

- tcmalloc: it keeps freed memory for reuse. With glibc every tensor over 32 MB (the logits, the
  attention weights) is fresh mmap'ed memory, and first-touch page faults cost as much as the
  matmul that fills it on this VM.
- OpenBLAS's AVX-512 kernels where the CPU has AVX-512: Debian's OpenBLAS 0.3.21 does not know
  this AMD CPU and picks its Haswell (AVX2) kernels, which run sgemm at about half the speed.
- Worker threads that sleep rather than spin while they wait: on two shared cores a spinning
  OpenMP or OpenBLAS thread takes the CPU that the other pool (or another process) needs.

Allocator and BLAS kernels are chosen when a process starts, so `reexec()` starts the script again
(same PID, same arguments) with them, once; MIXSCOPE_PLAIN_ENV=1 keeps the environment as it is.
"""
import os
import sys

TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"


def fast_environment():
    env = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}
    if os.path.exists(TCMALLOC):
        env["LD_PRELOAD"] = TCMALLOC
    else:
        env["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1"  # transparent huge pages: 512 times fewer faults
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next(l for l in f if l.startswith("flags")).split())
        if {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"} <= flags:
            env["OPENBLAS_CORETYPE"] = "SkylakeX"
    except (OSError, StopIteration):
        pass
    return env


def reexec():
    if os.environ.get("MIXSCOPE_FAST_ENV") == "1" or os.environ.get("MIXSCOPE_PLAIN_ENV") == "1":
        return
    os.environ.update(fast_environment(), MIXSCOPE_FAST_ENV="1")
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable] + sys.argv)

# Part of the attack-proc-mem test (see memread.sh): touches the memory of the
# process given as argv[1] the ways a memory dumper does, and reports only
# whether each attempt was allowed. Never prints or keeps what it reads.
import ctypes
import errno
import os
import sys

pid = int(sys.argv[1])
addr = 0x400000  # replaced by the victim's first mapping when maps is readable


def attempt(what, fn):
    try:
        fn()
        print(f"attack-proc-mem: {what}: allowed")
    except OSError as e:
        print(f"attack-proc-mem: {what}: {errno.errorcode.get(e.errno, e.errno)}")


def read_maps():
    global addr
    with open(f"/proc/{pid}/maps") as f:
        addr = int(f.readline().split("-")[0], 16)


def read_environ():
    with open(f"/proc/{pid}/environ", "rb") as f:
        f.read(1)


def open_mem():
    fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    try:
        os.pread(fd, 16, addr)
    finally:
        os.close(fd)


libc = ctypes.CDLL(None, use_errno=True)


class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def vm_readv():
    buf = ctypes.create_string_buffer(16)
    local = iovec(ctypes.cast(buf, ctypes.c_void_p), 16)
    remote = iovec(ctypes.c_void_p(addr), 16)
    f = libc.process_vm_readv
    f.restype = ctypes.c_ssize_t
    f.argtypes = [ctypes.c_int, ctypes.POINTER(iovec), ctypes.c_ulong,
                  ctypes.POINTER(iovec), ctypes.c_ulong, ctypes.c_ulong]
    if f(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) < 0:
        raise OSError(ctypes.get_errno(), "process_vm_readv")


def ptrace_peek():
    # PTRACE_PEEKDATA (2) without attaching first: the kernel refuses it
    # (ESRCH), so the victim is never stopped.
    f = libc.ptrace
    f.restype = ctypes.c_long
    f.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    ctypes.set_errno(0)
    if f(2, pid, ctypes.c_void_p(addr), None) == -1 and ctypes.get_errno():
        raise OSError(ctypes.get_errno(), "ptrace")


attempt("read maps", read_maps)
attempt("read environ", read_environ)
attempt("open mem", open_mem)
attempt("process_vm_readv", vm_readv)
attempt("ptrace PEEKDATA", ptrace_peek)

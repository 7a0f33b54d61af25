# Simulates fileless malware: the payload is written into an anonymous memory
# file (memfd_create) and executed through /proc/self/fd/N, so it never
# exists on disk.
# What this does instead, harmlessly: the "payload" is a copy of /bin/true,
# run once in a child process.
import os

if not os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "armed")):
    print("attack-memfd: not armed by scanfarm's tests, doing nothing")
    raise SystemExit(0)
fd = os.memfd_create("payload", 0)  # no MFD_CLOEXEC: exec reopens it by path
with open("/bin/true", "rb") as f:
    data = f.read()
while data:
    data = data[os.write(fd, data):]
pid = os.fork()
if pid == 0:
    try:
        os.execv(f"/proc/self/fd/{fd}", ["payload"])
    finally:
        os._exit(127)
_, status = os.waitpid(pid, 0)
print(f"attack-memfd: memfd payload exited with {os.waitstatus_to_exitcode(status)}")

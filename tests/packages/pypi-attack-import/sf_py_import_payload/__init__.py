# Acts only when imported (its setup.py is plain): spawns `sh -c id` and
# connects to 198.51.100.33:8443 (TEST-NET-2: only the sandbox's own
# sinkhole answers it; offline, no route). Nothing is sent. Armed by the
# "armed" file scanfarm's tests build into the environment (data_files).
import os
import socket
import subprocess
import sys

if os.path.exists(os.path.join(sys.prefix, "armed")):
    subprocess.run(["sh", "-c", "id"], stdout=subprocess.DEVNULL, timeout=3, check=False)
    try:
        socket.create_connection(("198.51.100.33", 8443), timeout=2).close()
    except OSError:
        pass

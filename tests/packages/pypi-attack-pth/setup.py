# Simulates persistence through a Python start-up hook: the wheel ships a
# .pth file whose "import" line site.py runs at the start of EVERY later
# interpreter (a technique no peer flags). What it runs here is harmless:
# it opens a TCP connection to 198.51.100.32:443 (TEST-NET-2, answered by
# the sandbox's own sinkhole at most), when armed: scanfarm's tests put an
# "armed" file beside this one, installed at the environment's prefix.
import os

from setuptools import setup

armed = [(".", ["armed"])] if os.path.exists("armed") else []

setup(
    name="sf-py-pth-hook",
    version="1.0.0",
    package_dir={"": "src"},
    py_modules=["sf_py_pth_hook"],
    data_files=[("lib/python3.11/site-packages", ["src/sf-py-pth-hook.pth"])] + armed,
)

import os

from setuptools import setup

# armed by scanfarm's tests (an "armed" file beside this one): installed as
# <prefix>/armed, which the payload looks for
armed = [(".", ["armed"])] if os.path.exists("armed") else []
setup(name="sf-py-import-payload", version="1.0.0", packages=["sf_py_import_payload"],
      data_files=armed)

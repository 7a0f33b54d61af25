from setuptools import setup

setup(name="sf-py-import-payload", version="1.0.0", packages=["sf_py_import_payload"])

# sf-build-backend: scanfarm's own tiny PEP 517 build backend, for the tests
# of build isolation (an sdist whose backend is not setuptools). Built as a
# wheel with the host's setuptools and served from the tests' local index.
from setuptools import setup

setup(name="sf-build-backend", version="1.0.0", py_modules=["sf_build_backend"])

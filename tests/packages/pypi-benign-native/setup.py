# A C extension built at install time (gcc through setuptools), and a pure
# module next to it.
from setuptools import Extension, setup

setup(
    name="sf-py-native",
    version="0.3.0",
    py_modules=["sf_py_native_util"],
    ext_modules=[Extension("sf_py_native", ["sf_py_native.c"])],
)

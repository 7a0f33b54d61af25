# A plain sdist: a package, a console script, a data file read at import.
from setuptools import setup

setup(
    name="sf-py-benign",
    version="1.2.0",
    packages=["sf_py_benign"],
    package_data={"sf_py_benign": ["words.txt"]},
    entry_points={"console_scripts": ["sf-py-benign=sf_py_benign:main"]},
)

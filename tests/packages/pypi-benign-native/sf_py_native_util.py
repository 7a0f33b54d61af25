import sf_py_native  # noqa: F401

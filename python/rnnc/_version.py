# The package version: the same as the C library's (CMakeLists.txt project VERSION; tests/test_package.py
# checks both). The package refuses a librnnc of another major.minor: the structs it mirrors may differ.
__version__ = "0.1.0"

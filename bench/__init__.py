"""Benchmarks (not tests): each prints our figure and a baseline's from the same run, and their
ratio. `make bench` or `python -m bench`; see bench/README.md."""

"""Benchmarks (`make bench`). Importing the package is the start of every bench run (`python -m
bench` or `python -m bench.bench_x`), so the app's composition root is filled here, once."""

from core import bootstrap

bootstrap.bootstrap()

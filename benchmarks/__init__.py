"""Benchmarks: ``make bench`` runs every ``bench_*.py`` module here and prints its figures.

Each module defines ``main()`` that measures and prints; nothing is asserted. Speed targets
belong here, not in timed tests that flake on a busy machine.
"""

"""jaxfit's benchmarks: systems compared side by side in one run (see BENCHMARKS.md).

``python -m benchmarks [--quick]`` runs them all; ``python benchmarks/run.py NAME`` one.
Results go to ``benchmarks/results/<name>.json`` and ``benchmarks/RESULTS.md``.
"""

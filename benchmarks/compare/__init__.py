"""Pedigree side by side with MLflow and DVC, on the same machine, in the same run.

``make bench-compare`` builds a separate virtualenv (``.venv-bench``) with the pinned MLflow and
DVC of ``requirements.txt`` and Pedigree installed editable, then runs
``python -m benchmarks.compare --publish``. Each workload is a module with a
``run(work, **scales) -> list[Case]``; ``harness`` alternates the sides of a case (A B A B ...)
and checks every answer; ``report`` prints, summarises and publishes.
"""

"""The client side of the SDK: what a tracked script runs.

Everything here needs only the standard library, so that ``import pedigree`` stays fast and a
script started by ``pedigree run`` never loads the database layer: it hands its params, metrics
and declared files to the recording process through a spool folder (``spool.py``).
"""

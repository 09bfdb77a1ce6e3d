"""Runs: the query language, the run records people read, and the `pedigree run` launcher."""

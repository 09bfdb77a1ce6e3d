"""Tracking runs: the query language, the run records people read, the `pedigree run` launcher."""

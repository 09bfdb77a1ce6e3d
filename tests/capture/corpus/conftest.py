"""The corpus programs are run by `pedigree run` (tests/capture/test_corpus.py), not imported."""

collect_ignore_glob = ["*.py"]

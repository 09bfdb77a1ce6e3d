"""The corpus programs are run by `pedigree run` (tests/capture/test_corpus.py), never imported
or collected as tests."""

collect_ignore = ["corpus"]

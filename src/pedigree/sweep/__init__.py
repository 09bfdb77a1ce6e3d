"""Parameter sweeps: many trials of one command, each a recorded run, children of a sweep run.

- :mod:`pedigree.sweep.grid`: the spec and its expansion (grid, one-at-a-time, placeholders);
- :mod:`pedigree.sweep.executors`: where trials run (local child processes, or Ray tasks);
- :mod:`pedigree.sweep.runner`: running a sweep and recording it;
- :mod:`pedigree.sweep.results`: the table of trials, best first, read back from the store;
- :mod:`pedigree.sweep.plot`: a metric against a parameter, as a PNG (matplotlib, headless).

Nothing heavy is imported here: Ray and matplotlib are loaded only when used.
"""

"""Models and artifacts: get any stored artifact back by its record (:mod:`.get`)."""

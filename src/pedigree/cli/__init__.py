"""The command-line interface: a thin face over the Tracker."""

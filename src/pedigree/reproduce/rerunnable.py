"""Whether a recorded command can be run again at all, decided before anything starts.

A run recorded from an interactive session (a Python REPL, IPython, a shell), a Jupyter kernel
or ``python -`` reading its program from standard input has no program to run again: its
command line names an interpreter, not the code it ran. Starting it would open a prompt or a
kernel that waits for ever. ``reproduce`` refuses such a run with the reason (exit code 2).

>>> unrunnable(["/usr/bin/python3"])
'it was an interactive Python session: no program was recorded to run again'
>>> unrunnable(["python", "-m", "ipykernel_launcher", "-f", "/tmp/kernel-1.json"])
'it ran in a Jupyter kernel: the cells it executed are not a program to run again'
>>> unrunnable(["python", "backtest.py", "--window", "50"]) is None
True
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

__all__ = ["unrunnable"]

_PYTHON = re.compile(r"^(python|pypy)[\d.]*m?$")
# Interpreter options that take a value as the next argument.
_WITH_VALUE = {"-W", "-X", "--check-hash-based-pycs"}
_KERNEL_MODULES = {"ipykernel_launcher", "ipykernel", "IPython", "jupyter", "jupyter_console"}
_INTERACTIVE_PROGRAMS = {"ipython", "ipython3", "jupyter-console", "jupyter-qtconsole", "R"}
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish"}
_KERNEL = "it ran in a Jupyter kernel: the cells it executed are not a program to run again"
_REPL = "it was an interactive Python session: no program was recorded to run again"


def _python(argv: Sequence[str]) -> str | None:
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "-":
            return (
                "it read its program from standard input (python -), whose source was not recorded"
            )
        if a == "-c":
            if i + 1 >= len(argv):
                return "it ran python -c, whose code was not recorded"
            return None
        if a == "-m":
            module = argv[i + 1] if i + 1 < len(argv) else ""
            if module.split(".")[0] in _KERNEL_MODULES:
                return _KERNEL if "kernel" in module else _REPL
            return None if module else _REPL
        if a.startswith("-") and len(a) > 1:
            flags = a[1:] if not a.startswith("--") else ""
            if flags[:1] not in ("W", "X") and "i" in flags:
                return _REPL  # -i: a prompt once the script ends
            if a in _WITH_VALUE:  # -W ignore, -X dev: the value is the next argument
                i += 1
            i += 1
            continue
        if a == "":
            return _REPL  # sys.argv of an interactive session: ['']
        name = os.path.basename(a)
        if name.startswith("ipykernel_launcher") or any(
            os.path.basename(x).startswith("kernel-") and x.endswith(".json") for x in argv
        ):
            return _KERNEL
        return None
    return _REPL


def unrunnable(command: Sequence[str] | None) -> str | None:
    """Why ``command`` cannot be run again (a sentence), or None if it can."""
    if not command:
        return None  # nothing recorded: the reproduction records that as its failure
    exe = os.path.basename(command[0])
    if _PYTHON.match(exe):
        return _python(command)
    if exe in _INTERACTIVE_PROGRAMS:
        return f"it was an interactive {exe} session: no program was recorded to run again"
    if exe == "jupyter" and len(command) > 1 and command[1] in ("console", "qtconsole", "kernel"):
        return _KERNEL if command[1] == "kernel" else _REPL
    if exe in _SHELLS:
        rest = list(command[1:])
        if not rest or rest == ["-i"] or rest == ["-s"] or "-s" in rest[:1]:
            return f"it was an interactive {exe} session: no script was recorded to run again"
    return None

"""Injected by ``pedigree run`` into every Python process of a tracked run.

``pedigree run`` puts this folder first on ``PYTHONPATH``, so Python imports this module at start-up
in the tracked script and in any Python subprocess it starts. It must work on any Python 3.9+, in
any virtualenv, without Pedigree installed there: it uses the standard library only and never
imports ``pedigree``.

It reports the interpreter (``hello``: executable, version, sys.path) to the spool named by
``PEDIGREE_SPOOL``, makes the Pedigree SDK importable as a last resort (``PEDIGREE_SDK_PATH``,
appended to the end of ``sys.path``), then runs the sitecustomize it shadows, if any.
"""

import json
import os
import sys


def _pedigree_hello() -> None:
    folder = os.environ.get("PEDIGREE_SPOOL")
    if not folder or not os.path.isdir(folder):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    record = {
        "t": "hello",
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "executable": sys.executable,
        "version": "%d.%d.%d" % sys.version_info[:3],
        "implementation": sys.implementation.name,
        "path": [p for p in sys.path if p and os.path.abspath(p) != here],
        "argv": list(sys.argv),
    }
    try:
        with open(os.path.join(folder, "events-%d.jsonl" % os.getpid()), "a") as f:
            f.write(json.dumps(record) + "\n")
    except OSError:
        pass


def _pedigree_chain() -> None:
    """Run the sitecustomize this one shadows (Debian's, a virtualenv's...)."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if p and os.path.abspath(p) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _pedigree_sdk() -> None:
    """Let `import pedigree` work in an interpreter that does not have it installed."""
    folder = os.environ.get("PEDIGREE_SDK_PATH")
    if folder and sys.version_info >= (3, 10) and folder not in sys.path:
        sys.path.append(folder)


_pedigree_hello()
_pedigree_sdk()
_pedigree_chain()

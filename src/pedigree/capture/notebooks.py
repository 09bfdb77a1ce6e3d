"""Notebooks: papermill's parameters, the cells a kernel ran, and comparing executed notebooks.

- ``pedigree run papermill in.ipynb out.ipynb -p window 50`` records ``window`` as a parameter
  of the run (typed as papermill types it), besides the input notebook, the files the kernel
  reads and the output notebook, which file capture sees (the kernel is a Python process that
  runs the injected hook).
- A run started inside a Jupyter kernel (``pedigree.start_run()`` in a notebook) records the
  cells actually executed while it was active, in order, with their source as executed (not the
  saved file), and the notebook file's path and digest when the kernel knows it
  (``JPY_SESSION_NAME``, set by Jupyter Server).
- Two executions of a notebook are the same when their cells have the same source and the same
  outputs: execution counts, timings, cell ids and every other piece of metadata are ignored
  (:func:`notebook_fingerprint`), so ``reproduce`` of a deterministic notebook is
  ``identical``.

>>> papermill_params(["papermill", "in.ipynb", "out.ipynb", "-p", "window", "50",
...                   "-p", "alpha", "0.5", "-r", "name", "50", "-p", "live", "True"])
{'window': 50, 'alpha': 0.5, 'name': '50', 'live': True}
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["CellRecorder", "notebook_fingerprint", "papermill_params"]


def _papermill_value(text: str) -> Any:
    """papermill's own typing of ``-p NAME VALUE`` (``papermill.cli._resolve_type``)."""
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    if text in ("None", "none"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def papermill_params(argv: Sequence[str]) -> dict[str, Any]:
    """The parameters of a ``papermill`` command line (``-p``/``--parameters`` typed,
    ``-r``/``--parameters_raw`` as strings); empty for any other command."""
    if not argv or not os.path.basename(argv[0]).startswith("papermill"):
        return {}
    out: dict[str, Any] = {}
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("-p", "--parameters", "-r", "--parameters_raw") and i + 2 < len(argv):
            name, value = argv[i + 1], argv[i + 2]
            out[name] = value if a in ("-r", "--parameters_raw") else _papermill_value(value)
            i += 3
            continue
        i += 1
    return {k: v for k, v in out.items() if v is not None}


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _outputs(outputs: list[Any]) -> list[Any]:
    """A cell's outputs without what changes from one execution to the next."""
    out: list[Any] = []
    for o in outputs:
        if not isinstance(o, dict):
            continue
        kind = o.get("output_type")
        if kind == "stream":
            text = _text(o.get("text"))
            if out and out[-1][0] == "stream" and out[-1][1] == o.get("name"):
                out[-1] = ("stream", o.get("name"), out[-1][2] + text)  # chunks split anyhow
            else:
                out.append(("stream", o.get("name"), text))
        elif kind in ("execute_result", "display_data"):
            data = o.get("data") or {}
            out.append((kind, {k: _text(v) for k, v in sorted(data.items())}))
        elif kind == "error":
            out.append(("error", o.get("ename"), o.get("evalue")))
    return out


def notebook_fingerprint(data: bytes) -> str | None:
    """A digest of what an executed notebook says (each cell's type, source and outputs), or
    None when ``data`` is not a notebook."""
    try:
        nb = json.loads(data)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(cells, list):
        return None
    essence = [
        (
            c.get("cell_type"),
            _text(c.get("source")),
            _outputs(c.get("outputs") or []) if c.get("cell_type") == "code" else [],
        )
        for c in cells
        if isinstance(c, dict)
    ]
    text = json.dumps(essence, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class CellRecorder:
    """Collects the cells an IPython kernel executes while a run is active.

    :meth:`start` registers a ``post_run_cell`` callback when this process is an IPython kernel
    (or shell); :meth:`stop` unregisters it and returns what was executed. The cell that starts
    the run is included: it is running when the run starts.
    """

    def __init__(self) -> None:
        self.cells: list[dict[str, Any]] = []
        self._shell: Any = None

    def start(self) -> bool:
        ipython = sys.modules.get("IPython")
        get = getattr(ipython, "get_ipython", None) if ipython is not None else None
        shell = get() if get is not None else None
        if shell is None:
            return False
        self._shell = shell
        try:
            shell.events.register("post_run_cell", self._post)
        except Exception:
            self._shell = None
            return False
        return True

    def _post(self, result: Any) -> None:
        info = getattr(result, "info", None)
        source = getattr(info, "raw_cell", None)
        if source is None:
            return
        failed = getattr(result, "error_in_exec", None) or getattr(
            result, "error_before_exec", None
        )
        self.cells.append(
            {
                "execution_count": getattr(result, "execution_count", None),
                "source": source,
                "error": bool(failed),
            }
        )

    def stop(self) -> dict[str, Any] | None:
        """Stop collecting; the notebook record (``cells``, ``notebook`` path and ``digest``),
        or None outside a kernel."""
        shell, self._shell = self._shell, None
        if shell is None:
            return None
        try:  # noqa: SIM105
            shell.events.unregister("post_run_cell", self._post)
        except Exception:
            pass
        cells = list(self.cells)
        # The cell running now (the one that ends the run) has not finished: it is the last.
        current = getattr(shell, "user_ns", {}).get("_ih") or []
        if current and (not cells or cells[-1]["source"] != current[-1]):
            cells.append(
                {
                    "execution_count": getattr(shell, "execution_count", None),
                    "source": current[-1],
                    "error": False,
                }
            )
        record: dict[str, Any] = {"kernel": True, "cells": cells}
        path = os.environ.get("JPY_SESSION_NAME") or getattr(shell, "user_ns", {}).get(
            "__vsc_ipynb_file__"
        )
        if path and os.path.isfile(path):
            record["notebook"] = os.path.abspath(path)
            with open(path, "rb") as f:
                record["notebook_sha256"] = hashlib.sha256(f.read()).hexdigest()
        return record

"""The public surface of the package, and what importing it costs."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess

from tests.conftest import PYTHON

import pedigree

PUBLIC = [
    "ActiveRun",
    "Params",
    "PedigreeError",
    "Tracker",
    "__version__",
    "active_run",
    "end_run",
    "get",
    "get_run",
    "load_model",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "metric_history",
    "params",
    "produce",
    "runs",
    "runs_frame",
    "seed_everything",
    "start_run",
    "use",
]


def test_all_is_locked() -> None:
    assert sorted(pedigree.__all__) == sorted(PUBLIC)
    for name in pedigree.__all__:
        assert getattr(pedigree, name) is not None


def test_no_subpackage_shadows_a_public_function() -> None:
    for mod in pkgutil.walk_packages(pedigree.__path__, "pedigree."):
        if mod.name.startswith(
            ("pedigree._inject", "pedigree.testing", "pedigree.store.migrations.")
        ):
            continue
        importlib.import_module(mod.name)
    assert callable(pedigree.runs)
    assert callable(pedigree.params)


def test_importing_pedigree_loads_no_database_or_rendering_code() -> None:
    code = (
        "import sys, pedigree\n"
        "p = pedigree.params(a=1)\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'alembic', 'rich', 'click', 'blake3', 'numpy')]\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

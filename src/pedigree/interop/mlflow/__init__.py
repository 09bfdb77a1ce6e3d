"""``pedigree import mlflow``: an MLflow store's runs and model registry, brought into Pedigree.

:mod:`.source` reads the store through MLflow's own client (imported only here, lazily);
:mod:`.importer` records what it read as ordinary Pedigree runs and model versions, each marked
with where it came from. docs/mlflow.md says what maps to what.
"""

from pedigree.interop.mlflow.importer import ImportReport, Skipped, import_mlflow

__all__ = ["ImportReport", "Skipped", "import_mlflow"]

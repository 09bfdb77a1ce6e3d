"""A project holding a small trial script that uses the SDK, for the sweep tests."""

from __future__ import annotations

import pytest
from tests.conftest import Project
from tests.sweep.helpers import TRIAL


@pytest.fixture
def trial_project(project: Project) -> Project:
    project.write("trial.py", TRIAL)
    project.commit("a trial script")
    return project

"""Automatic capture of what a run depends on: its code, its software environment, its invocation.

Everything here runs on the hot path of every run, so it imports only the standard library, the
digest functions and ``blake3``.

>>> from pedigree.capture import capture_code, capture_environment, capture_invocation
>>> capture_code(".", None).commit is None              # not inside a git repository
True
>>> capture_environment().python.count(".")
2
>>> capture_invocation(["python", "x.py"], ".", {"HOME": "/root"}, [])["argv"]
['python', 'x.py']
"""

from __future__ import annotations

from pedigree.capture.code import CodeState, UntrackedFile, capture_code
from pedigree.capture.environment import (
    Environment,
    capture_environment,
    detect_container,
    package_diff,
)
from pedigree.capture.invocation import (
    DEFAULT_ENV_ALLOW,
    DENY_MARKERS,
    capture_invocation,
    is_denied,
    select_env,
    strip_credentials,
)

__all__ = [
    "DEFAULT_ENV_ALLOW",
    "DENY_MARKERS",
    "CodeState",
    "Environment",
    "UntrackedFile",
    "capture_code",
    "capture_environment",
    "capture_invocation",
    "detect_container",
    "is_denied",
    "package_diff",
    "select_env",
    "strip_credentials",
]

"""How a run was invoked: its argv, working directory and the environment variables that matter.

Only variables that can change a result are recorded (seeds, thread counts, devices, locale,
interpreter paths), never the whole environment: it holds credentials and host noise. A name
containing a deny marker is never recorded, whatever the allow-list says.

>>> select_env({"OMP_NUM_THREADS": "4", "AWS_SECRET_ACCESS_KEY": "x", "HOME": "/root"})
{'OMP_NUM_THREADS': '4'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "DEFAULT_ENV_ALLOW",
    "DENY_MARKERS",
    "capture_invocation",
    "is_denied",
    "select_env",
    "strip_credentials",
]

# A trailing * makes an entry a prefix. Each entry is here because it can change a result.
DEFAULT_ENV_ALLOW: tuple[str, ...] = (
    # seeds and hashing
    "PYTHONHASHSEED",
    "PEDIGREE_SEED",
    "PL_GLOBAL_SEED",
    "SOURCE_DATE_EPOCH",
    # which code and which interpreter
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONNOUSERSITE",
    "PYTHONSAFEPATH",
    "PYTHONOPTIMIZE",
    "PYTHONUTF8",
    "PYTHONIOENCODING",
    "PYTHONINTMAXSTRDIGITS",
    "VIRTUAL_ENV",
    "CONDA_DEFAULT_ENV",
    "CONDA_PREFIX",
    # threads and numerical libraries (thread counts change floating-point summation order)
    "OMP_*",
    "MKL_*",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMEXPR_MAX_THREADS",
    "NUMBA_NUM_THREADS",
    "POLARS_MAX_THREADS",
    "RAYON_NUM_THREADS",
    "ARROW_DEFAULT_MEMORY_POOL",
    # accelerators and deep-learning frameworks, including their determinism switches
    "CUDA_*",
    "CUBLAS_WORKSPACE_CONFIG",
    "NVIDIA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "TF_*",
    "PYTORCH_*",
    "JAX_*",
    "XLA_FLAGS",
    # locale and time zone (parsing, sorting and date arithmetic)
    "TZ",
    "LANG",
    "LANGUAGE",
    "LC_*",
    # where a batch scheduler placed the run (for the audit trail)
    "SLURM_JOB_ID",
    "SLURM_ARRAY_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
)

DENY_MARKERS: tuple[str, ...] = ("KEY", "TOKEN", "SECRET", "PASSWORD")

# PEDIGREE_* variables are how the CLI talks to the child (run id, spool, params, store URIs):
# plumbing that differs on every run, not a fact about the run. The seed is the exception.
_PLUMBING_PREFIX = "PEDIGREE_"
_PLUMBING_KEPT = frozenset({"PEDIGREE_SEED"})

_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)([^/?#\s]*)@")
# In these schemes a user name alone is often a token (https://<token>@github.com/...).
_DROP_USER_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "ws", "wss"})


def is_denied(name: str) -> bool:
    """True when a variable must never be recorded: a secret, or Pedigree's own plumbing."""
    upper = name.upper()
    if any(marker in upper for marker in DENY_MARKERS):
        return True
    return upper.startswith(_PLUMBING_PREFIX) and upper not in _PLUMBING_KEPT


def _matcher(patterns: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    exact: set[str] = set()
    prefixes: list[str] = []
    for p in patterns:
        if p.endswith("*"):
            prefixes.append(p[:-1])
        elif p:
            exact.add(p)
    return frozenset(exact), tuple(prefixes)


def select_env(environ: Mapping[str, str], extra: Sequence[str] = ()) -> dict[str, str]:
    """The recordable subset of ``environ``, sorted by name.

    ``extra`` adds names or prefixes (``"MYAPP_*"``; ``"*"`` alone allows everything) to
    ``DEFAULT_ENV_ALLOW``. Denied names are dropped even when allowed, and credentials inside
    URL values (``postgresql://user:pw@host``) are removed.
    """
    exact, prefixes = _matcher((*DEFAULT_ENV_ALLOW, *extra))
    out: dict[str, str] = {}
    for name in sorted(environ):
        if name not in exact and not name.startswith(prefixes):
            continue
        if is_denied(name):
            continue
        out[name] = strip_credentials(environ[name])
    return out


def strip_credentials(text: str) -> str:
    """Remove credentials from every URL in ``text``.

    For http(s), ftp(s) and ws(s) the whole user part goes (``https://user:token@host/x`` becomes
    ``https://host/x``); for other schemes only the password (``ssh://git@host`` stays as is).
    """
    if "@" not in text:
        return text

    def replace(m: re.Match[str]) -> str:
        scheme, userinfo = m.group(1), m.group(2)
        base = scheme[:-3].lower().rpartition("+")[2]
        user, colon, _ = userinfo.partition(":")
        if base in _DROP_USER_SCHEMES or not user:
            return scheme
        return f"{scheme}{user}@" if colon else m.group(0)

    return _URL_USERINFO.sub(replace, text)


def capture_invocation(
    argv: Sequence[str], cwd: str, environ: Mapping[str, str], extra_env: Sequence[str] = ()
) -> dict[str, Any]:
    """``{"argv", "cwd", "env"}`` for the run record; see ``select_env`` for what ``env`` keeps.

    Credentials in URLs passed as arguments are removed too: a record is read by reviewers and
    auditors for years, and a re-run must be given its credentials anew anyway.
    """
    return {
        "argv": [strip_credentials(a) for a in argv],
        "cwd": cwd,
        "env": select_env(environ, extra_env),
    }

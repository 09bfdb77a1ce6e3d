"""Evidence bundles of the quant demo's winner: write <= 5 s, verify <= 2 s, and the bundle no
larger than the compressed inputs plus the code (issue 20).

The quant demo (``examples/quant/demo.py``, full size: 24 backtests, the vendor correction, the
reproduction) is run into a scratch workspace, or an existing one is used (``--workdir``). Its
winner is the target of the bundle the demo wrote. Then, each as a whole process as a user waits
for it (interpreter start and imports included), median of 3 after a warm-up:

- ``pedigree bundle WINNER -o winner.pedigree`` (with its data);
- ``pedigree bundle verify winner.pedigree --anchor D`` in an empty folder.

Size: the bundle against the DEFLATE-compressed bytes of every object it holds plus its code
members (git bundles, patches, untracked files), and what the rest (records, events, report,
environment, manifest) adds.

    python benchmarks/bench_bundle.py                       # runs the full demo first (~90 s)
    python benchmarks/bench_bundle.py --quick               # the demo with 4 backtests
    python benchmarks/bench_bundle.py --workdir /tmp/quant  # a workspace the demo made
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import median_seconds, record, row

ROOT = Path(__file__).resolve().parents[1]
PEDIGREE = [sys.executable, "-m", "pedigree.cli.main"]
WRITE_TARGET, VERIFY_TARGET = 5.0, 2.0


def _run(argv: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEDIGREE_")}
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def cpu_seconds(argv: list[str], cwd: Path) -> float:
    """User + system CPU time of one run of ``argv`` (its children included): what the command
    costs whatever else the machine is doing, unlike its wall-clock time under load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    _run(argv, cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def sizes(bundle: Path) -> dict[str, int]:
    """The bundle's size, its objects' compressed size, its code, and everything else."""
    out = {"bundle": bundle.stat().st_size, "objects_raw": 0, "objects_deflated": 0, "code": 0}
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            if info.filename.startswith("objects/"):
                data = zf.read(info.filename)
                out["objects_raw"] += len(data)
                out["objects_deflated"] += len(zlib.compress(data, 6))
            elif info.filename.startswith("code/") and info.filename != "code/code.json":
                out["code"] += info.compress_size
    out["budget"] = out["objects_deflated"] + out["code"]
    out["rest"] = out["bundle"] - out["budget"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="a workspace the quant demo made")
    parser.add_argument("--quick", action="store_true", help="the demo with 4 backtests")
    args, _ = parser.parse_known_args()  # benchmarks/run.py hands every bench its flags
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as tmp:
        workdir = args.workdir
        if workdir is None:
            workdir = Path(tmp) / "workspace"
            small = ["--instruments", "AAPL,SP500", "--windows", "50,200"] if args.quick else []
            demo = [sys.executable, str(ROOT / "examples/quant/demo.py"), "--workdir", str(workdir)]
            _run([*demo, *small], cwd=ROOT)
        made = workdir / "winner.pedigree"
        winner = json.loads(zipfile.ZipFile(made).read("manifest.json"))["target"]["nodes"][0]["id"]
        anchor = json.loads(_run([*PEDIGREE, "audit", "anchor", "--json"], workdir))["digest"]
        out = Path(tmp) / "winner.pedigree"
        empty = Path(tmp) / "empty"
        empty.mkdir()
        write_s, write_all = median_seconds(
            lambda: _run([*PEDIGREE, "bundle", winner, "-o", str(out)], workdir), repeat=3
        )
        verify_s, verify_all = median_seconds(
            lambda: _run([*PEDIGREE, "bundle", "verify", str(out), "--anchor", anchor], empty),
            repeat=3,
        )
        write_cpu = cpu_seconds([*PEDIGREE, "bundle", winner, "-o", str(out)], workdir)
        check = [*PEDIGREE, "bundle", "verify", str(out), "--anchor", anchor]
        verify_cpu = cpu_seconds(check, empty)
        size = sizes(out)
        summary = json.loads(_run([*PEDIGREE, "bundle", "show", str(out), "--json"], empty))
    results = {
        "runs": len(summary["runs"]),
        "objects": summary["objects"]["included"],
        "write_seconds": round(write_s, 3),
        "write_samples": [round(s, 3) for s in write_all],
        "verify_seconds": round(verify_s, 3),
        "verify_samples": [round(s, 3) for s in verify_all],
        "write_cpu_seconds": round(write_cpu, 3),
        "verify_cpu_seconds": round(verify_cpu, 3),
        "load": round(os.getloadavg()[0], 2),
        **size,
    }
    record("bundle", results)
    row("bundle the demo winner (whole process)", f"{write_s:.2f} s", f"<= {WRITE_TARGET}")
    row("  its CPU time (user + system)", f"{write_cpu:.2f} s")
    row("verify it, empty folder", f"{verify_s:.2f} s", f"<= {VERIFY_TARGET}")
    row("  its CPU time (user + system)", f"{verify_cpu:.2f} s")
    row(
        "bundle size",
        f"{size['bundle']:,} B",
        f"<= {size['budget']:,} B (objects deflated {size['objects_deflated']:,} "
        f"+ code {size['code']:,}); rest {size['rest']:,} B",
    )
    print(f"load average: {results['load']}")


if __name__ == "__main__":
    main()

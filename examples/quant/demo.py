"""The quant research story, end to end, driven through the real ``pedigree`` command.

What ``make demo`` runs. In a fresh workspace (a git repository holding this folder's research
code, with its own embedded Pedigree store) it:

1. sets the project up: the code committed in git, ``pedigree init``;
2. prepares a dataset from real daily prices shipped inside the skfolio and arch wheels, as a
   recorded run, and versions it (``prices@v1``);
3. sweeps a moving-average strategy over instruments and windows (24 backtests, 2 at a time);
4. picks the best on the train period's Sharpe ratio and shows its held-out test Sharpe ratio,
   then what the pick is worth as the best of many: its selection context (best of N trials, the
   other runs on the same data), its Deflated Sharpe Ratio and the Probability of Backtest
   Overfitting (``pedigree sweep assess``, from the train returns each backtest logged);
5. registers the winner's parameters and results as model ``ma-crossover`` version 1; pointing
   the protected ``production`` alias at it is refused until a second person approves it
   (four eyes; on this local store identities are self-declared with ``PEDIGREE_USER``);
6. prints where the model in production came from (upstream lineage);
7. simulates a vendor's price correction, re-versions the dataset (``prices@v2``), asks what it
   affects (the model in production among it), then re-runs the winner on the corrected data and
   diffs the two runs;
8. reproduces the winner from the record alone: verdict ``identical``;
9. draws Sharpe ratio against window for each instrument, stored as an output of the sweep;
10. hands the winner over as one evidence bundle (``winner.pedigree``: its lineage, code, data,
    environment and the audit events behind them) and verifies it against the audit anchor, as
    a regulator would in an empty folder.

Every command is printed as a user would type it (``$ pedigree ...``), followed by what it said.
Nothing is downloaded. The workspace is re-created on each run; git ignores it.

Example::

    python examples/quant/demo.py                          # workspace: examples/quant/workspace
    python examples/quant/demo.py --workdir /tmp/quant --instruments AAPL,SP500 --windows 50,200
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CODE = ("prepare.py", "strategy.py", "backtest.py", "correct_vendor.py")
MARKER = ".pedigree-demo"  # the workspace is ours to delete only when this file says so
STEPS = 10
MODEL = "ma-crossover"
REVIEWER = "risk-officer"  # the second person: a self-declared identity on the local store


class DemoError(Exception):
    pass


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        bindir = Path(sys.executable).parent
        # The demo runs on the embedded store of its own workspace, whatever the caller's settings.
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PEDIGREE_") or k == "PEDIGREE_USER"
        }
        # `python` in the commands below is this interpreter (numpy, Pedigree), as in a venv.
        self.env["PATH"] = f"{bindir}{os.pathsep}{self.env.get('PATH', '')}"
        exe = bindir / "pedigree"
        self.pedigree = [str(exe)] if exe.exists() else [sys.executable, "-m", "pedigree.cli.main"]
        self.step_no = 0
        self.available: set[str] = set()

    # -- output --------------------------------------------------------------------------------

    def step(self, title: str) -> None:
        self.step_no += 1
        print(f"\n[{self.step_no}/{STEPS}] {title}", flush=True)

    def say(self, text: str, indent: int = 2) -> None:
        for line in text.splitlines() or [""]:
            print(" " * indent + line, flush=True)

    def show(self, text: str, *, limit: int | None = None) -> None:
        """A command's output, indented under it; ``limit`` keeps the first lines only."""
        lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
        shown = lines if limit is None else lines[:limit]
        for line in shown:
            self.say(line, indent=4)
        if len(shown) < len(lines):
            more = len(lines) - len(shown)
            self.say(f"... ({more} more line{'s' if more != 1 else ''})", indent=4)

    # -- commands ------------------------------------------------------------------------------

    def run(
        self, command: str, *, ok: tuple[int, ...] = (0,), echo: bool = True, stderr: bool = False
    ) -> str:
        """Run a command line in the workspace, print it, return its stdout (with its stderr
        if asked; both are shown on failure). ``pedigree`` is this environment's command."""
        argv = shlex.split(command)
        if echo:
            print(f"  $ {command}", flush=True)
        env = dict(self.env)
        while argv and "=" in argv[0] and argv[0].split("=", 1)[0].isidentifier():
            key, _, value = argv.pop(0).partition("=")  # NAME=value before the command, as sh
            env[key] = value
        real = [*self.pedigree, *argv[1:]] if argv[0] == "pedigree" else argv
        proc = subprocess.run(
            real, cwd=self.workdir, env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode not in ok:
            self.show(proc.stdout + proc.stderr)
            raise DemoError(f"`{command}` exited with {proc.returncode}")
        return proc.stdout + (proc.stderr if stderr else "")

    def json(self, command: str) -> Any:
        return json.loads(self.run(command))

    def has(self, command: str) -> bool:
        """Whether this build of Pedigree has the command; a missing one is said, not faked."""
        if command in self.available:
            return True
        print(
            f"  (skipped: this build of Pedigree has no `pedigree {command}` command; "
            "the step is left out rather than faked)",
            flush=True,
        )
        return False

    # -- the story -----------------------------------------------------------------------------

    def setup(self) -> None:
        self.step("A research project: the strategy code in git, a Pedigree store beside it")
        if self.workdir.exists():
            if not (self.workdir / MARKER).exists() and any(self.workdir.iterdir()):
                raise DemoError(
                    f"{self.workdir} exists and is not a demo workspace; choose another --workdir"
                )
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        (self.workdir / MARKER).write_text("made by examples/quant/demo.py; deleted on re-run\n")
        for name in CODE:
            shutil.copy2(HERE / name, self.workdir / name)
        (self.workdir / ".gitignore").write_text(
            "# data and results are versioned by Pedigree, not git\n"
            f"data/\nresults/\n*.png\n*.html\n*.pedigree\n{MARKER}\n"
        )
        self.say(f"workspace: {self.workdir}")
        self.say(f"code: {', '.join(CODE)} (from examples/quant/)")
        self.run("git init -q")
        self.run("git config user.name 'Quant Researcher'", echo=False)
        self.run("git config user.email researcher@example.com", echo=False)
        self.run("git add .", echo=False)
        self.run("git commit -qm 'Moving-average strategy research'")
        self.show(self.run("pedigree init"))
        listed = self.run("pedigree --help", echo=False).split("Commands:")[-1]
        self.available = {line.split()[0] for line in listed.splitlines() if line.strip()}

    def prepare(self) -> None:
        self.step("Prepare the dataset from the vendors' files (a recorded run), then version it")
        self.show(
            self.run("pedigree run -e quant-data -n prepare -- python prepare.py", stderr=True)
        )
        if self.has("data"):
            self.show(self.run("pedigree data add data/prices --name prices"))

    def sweep(self, instruments: list[str], windows: list[int], jobs: int) -> dict[str, Any]:
        n = len(instruments) * len(windows)
        self.step(
            f"Sweep: {len(instruments)} instruments x {len(windows)} windows = {n} backtests, "
            f"{jobs} at a time"
        )
        started = time.monotonic()
        self.show(
            self.run(
                f"pedigree sweep -e ma-crossover -p instrument={','.join(instruments)} "
                f"-p window={','.join(map(str, windows))} -p fee_bps=2 -j {jobs} "
                "--metric sharpe -c test_sharpe -q -- python backtest.py"
            )
        )
        self.say(f"({n} recorded runs in {time.monotonic() - started:.1f} s)")
        report: dict[str, Any] = self.json("pedigree sweep show last --json")
        return report

    def winner(self, report: dict[str, Any]) -> dict[str, Any]:
        self.step("The winner is picked on the train period, then judged on the held-out test")
        best = next(t for t in report["trials"] if t["id"] == report["best"])
        p, m = best["params"], best["metrics"]
        self.say(
            f"best on train (sharpe, 1990..{p['train_end']}): {p['instrument']} with a "
            f"{p['window']}-day average: Sharpe {m['sharpe']:.3f} "
            f"(buy & hold {m['buy_hold_sharpe']:.3f})"
        )
        self.say(
            f"held-out test (after {p['train_end']}): Sharpe {m['test_sharpe']:.3f} "
            f"(buy & hold {m['test_buy_hold_sharpe']:.3f}), max drawdown "
            f"{m['test_max_drawdown']:.1%}"
        )
        self.say(f"run {best['id']}")
        self.selection(report)
        # The compliance report of the winner says the same, in its "How this result was
        # selected" section, for whoever reviews it.
        self.run(f"pedigree report {best['id']} -o winner-report.html")
        self.say('its compliance report: winner-report.html ("How this result was selected")')
        return best

    def selection(self, report: dict[str, Any]) -> None:
        """The winner is the best of many backtests: say of how many, and what survives that."""
        context = report.get("selection")
        if context:
            n, other = context["trials"], context["other_runs"]
            self.say(
                f"selected: best of {n} trials by {context['metric']} ({context['direction']}); "
                f"{other} other run{'s' if other != 1 else ''} of {context['experiment']} "
                "on the same data"
            )
        out = self.run("pedigree sweep assess last --json", ok=(0, 1, 2))
        try:
            a = json.loads(out)
        except ValueError:
            self.say("(no assessment: `pedigree sweep assess` did not answer)")
            return
        # Over the returns the trials logged: the last train days (backtest.py, ASSESSED_DAYS).
        self.say(
            f"over the last {a['observations']:,} train days: Sharpe {a['sharpe_annualized']:.2f} "
            f"a year vs {a.get('sr0_annualized', float('nan')):.2f} for the best of "
            f"{a['trials']} unskilled trials; deflated Sharpe ratio {a['dsr']:.2f}, "
            f"probability of backtest overfitting {a['pbo']:.2f}"
        )

    def register(self, best: dict[str, Any]) -> bool:
        """The winner becomes model ma-crossover v1; production needs a second person."""
        self.step(
            f"Register the winner as model {MODEL}; the production alias needs a second person"
        )
        if not self.has("model"):
            return False
        shown = json.loads(self.run(f"pedigree show {best['id']} --json", echo=False))
        summary = next(o["path"] for o in shown["outputs"] if o["path"].endswith("summary.json"))
        self.show(
            self.run(
                f"pedigree model register {MODEL} --from {best['id']}:{summary} "
                "--note 'best of the sweep on train Sharpe'"
            )
        )
        refused = self.run(f"pedigree model alias {MODEL} production 1", ok=(4,), stderr=True)
        self.show(refused)
        self.say("refused: production is protected, and nobody but its author has looked at it")
        self.show(
            self.run(
                f"PEDIGREE_USER={REVIEWER} pedigree approve model:{MODEL}/1 "
                "--note 'independent review of the backtest and its selection'"
            )
        )
        self.show(self.run(f"pedigree model alias {MODEL} production 1"))
        self.say(
            f"on this local store identities are self-declared (PEDIGREE_USER={REVIEWER}), and "
            "the record says so; the team server authenticates them"
        )
        return True

    def lineage(self, best: dict[str, Any], registered: bool) -> None:
        self.step("Where did the model in production come from? Its upstream lineage")
        if self.has("lineage"):
            target = f"model:{MODEL}@production" if registered else best["id"]
            self.show(self.run(f"pedigree lineage {target} --up"))

    def correction(self, report: dict[str, Any], best: dict[str, Any]) -> None:
        self.step("The vendor corrects one AAPL price: re-version the data, ask what is affected")
        self.show(self.run("python correct_vendor.py"), limit=2)
        self.show(
            self.run("pedigree run -q -e quant-data -n prepare -- python prepare.py"), limit=4
        )
        if not self.has("data"):
            return
        self.show(self.run("pedigree data add data/prices --name prices"))
        self.show(self.run("pedigree data diff prices@v1 prices@v2"))
        if self.has("impact"):
            impact = self.json("pedigree impact prices@v1 --json")
            s = impact["summary"]
            self.say(
                f"  downstream of prices@v1: {s['runs']} runs, {s['artifacts']} artifact "
                f"versions, {s['metrics']} reported metrics"
            )
            for model in impact.get("models") or []:  # what trades on it
                self.say(f"  {model['sentence']}")
            stale = {
                r["run"] for r in self.json("pedigree impact data/prices/AAPL.csv --json")["stale"]
            }
            # In the sweep's own order: instruments, then windows, as they were listed.
            names = [t["name"] for t in _grid_order(report) if t["id"] in stale]
            self.say(
                f"  {len(stale)} runs read data/prices/AAPL.csv before the correction "
                "(stale results):"
            )
            self.say(_fill(names, 100), indent=6)
            if best["id"] in stale:
                self.say("  the winner is among them: its numbers rest on the uncorrected price")
        p = best["params"]
        self.say("Re-run the winner on the corrected data, and compare:")
        self.run(
            "pedigree run -q -e ma-crossover -n winner-on-prices-v2 "
            f"-p instrument={p['instrument']} -p window={p['window']} -- python backtest.py"
        )
        if self.has("diff"):
            self.show(_changed_only(self.run(f"pedigree diff {best['id']} last")))

    def reproduce(self, best: dict[str, Any]) -> None:
        self.step("Reproduce the winner from the record: its commit, its exact input bytes")
        if not self.has("reproduce"):
            return
        out = self.run(f"pedigree reproduce {best['id']}", ok=(0, 1, 2), stderr=True)
        # The re-run's own output (the backtest's four lines) is judged, not shown again.
        ours = ("backtest ", "  train ", "  test ", "  wrote ")
        lines = [ln for ln in out.splitlines() if not ln.startswith(ours)]
        self.show("\n".join(lines))
        self.say(
            "(data/prices/ holds prices@v2 now; the reproduction ran on the bytes the winner "
            "read, restored from the store)"
        )
        if not any(ln.startswith("identical") for ln in lines):
            raise DemoError("the reproduction's verdict is not identical")

    def plot(self) -> Path:
        self.step("The picture: train Sharpe ratio against window, one line per instrument")
        out = self.workdir / "sharpe_vs_window.png"
        self.show(
            self.run(f"pedigree plot last --x window --y sharpe --by instrument -o {out.name}")
        )
        return out

    def bundle(self, best: dict[str, Any]) -> None:
        self.step("Hand the winner over: one file, verified offline against the audit anchor")
        if not self.has("bundle"):
            return
        anchor = self.json("pedigree audit anchor --json")["digest"]
        self.say(f"the anchor (kept apart from the bundle, e.g. in the ticket): {anchor}")
        made = self.json(f"pedigree bundle {best['id']} -o winner.pedigree --json")
        self.say(
            f"winner.pedigree: {made['size']:,} bytes, {made['runs']} run(s), {made['events']} "
            f"audit events, {made['objects_included']} object(s), written in {made['seconds']} s"
        )
        checked = self.json(f"pedigree bundle verify winner.pedigree --anchor {anchor} --json")
        counts = ", ".join(f"{n} {what}" for what, n in checked["checked"].items())
        self.say(f"verified in {checked['seconds']} s: {counts}")
        if not checked["ok"]:
            raise DemoError("the winner's bundle does not verify")
        self.say(
            "anyone can check it with Pedigree alone, and re-run it in an empty folder: "
            "pedigree reproduce winner.pedigree"
        )


def _grid_order(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A sweep's trials in the order of its parameter lists (the table is by rank)."""
    lists = report["spec"]["params"]
    order = report["spec"]["order"]

    def key(trial: dict[str, Any]) -> list[int]:
        return [lists[k].index(trial["params"][k]) for k in order]

    return sorted(report["trials"], key=key)


def _fill(items: list[str], width: int) -> str:
    """Comma-separated items, wrapped between items (never inside one)."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(item) + 2 <= width:
            lines[-1] += f", {item}"
        else:
            lines.append(item)
    return ",\n".join(lines)


def _changed_only(diff: str) -> str:
    """``pedigree diff`` without the metric rows that did not move."""
    out, in_metrics = [], False
    for line in diff.splitlines():
        if line.startswith("metrics"):
            in_metrics = True
            out.append(line + "   (unchanged metrics left out)")
        elif not (in_metrics and line.split() and line.split()[-1] == "0"):
            out.append(line)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Pedigree's quant research demo on real packaged market data.",
        epilog="Example: python examples/quant/demo.py --workdir /tmp/quant-demo",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=HERE / "workspace",
        help="the demo's workspace, re-created on each run (default: examples/quant/workspace)",
    )
    parser.add_argument(
        "--instruments",
        default="AAPL,MSFT,SP500,NASDAQ",
        help="instruments to sweep (default: AAPL,MSFT,SP500,NASDAQ; AAPL must be one)",
    )
    parser.add_argument(
        "--windows",
        default="20,50,100,150,200,250",
        help="moving-average windows in days (default: 20,50,100,150,200,250)",
    )
    parser.add_argument("-j", "--jobs", type=int, default=2, help="trials at once (default: 2)")
    args = parser.parse_args(argv)
    for package, pin in (("skfolio", "skfolio==1.12.2"), ("arch", "arch==8.0.0")):
        if importlib.util.find_spec(package) is None:
            print(
                f"demo: the market data ships in the {package} wheel: pip install --no-deps {pin}",
                file=sys.stderr,
            )
            return 1
    instruments = [s.strip() for s in args.instruments.split(",") if s.strip()]
    windows = [int(w) for w in args.windows.split(",") if w.strip()]
    demo = Demo(args.workdir.resolve())
    started = time.monotonic()
    print(
        "Pedigree demo: a moving-average strategy on real daily prices (from the skfolio and "
        "arch wheels), every step recorded"
    )
    try:
        demo.setup()
        demo.prepare()
        report = demo.sweep(instruments, windows, args.jobs)
        best = demo.winner(report)
        registered = demo.register(best)
        demo.lineage(best, registered)
        demo.correction(report, best)
        demo.reproduce(best)
        png = demo.plot()
        demo.bundle(best)
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    print(f"\nplot: {png}")
    print(f"in a browser (runs, lineage, approvals): cd {demo.workdir} && {_pedigree_command()} ui")
    print(
        f"done in {time.monotonic() - started:.1f} s; look around: cd {demo.workdir} && "
        f"{_pedigree_command()} runs"
    )
    return 0


def _pedigree_command() -> str:
    """``pedigree`` as the user can type it: plain when their shell finds this environment's
    command, else its full path (``make demo`` does not activate the virtualenv)."""
    ours = Path(sys.executable).parent / "pedigree"
    found = shutil.which("pedigree")
    if found is not None and Path(found).resolve() == ours.resolve():
        return "pedigree"
    return str(ours)


if __name__ == "__main__":
    sys.exit(main())

"""CLI start-up: ``wenming --help`` and ``wenming db current`` against a bare import of the CLI's own libraries.

    .venv/bin/python bench/bench_cli.py [--rounds 5]     # SQLite file in a temp dir (db current reads it)

Each round runs the baseline (a fresh interpreter importing typer, rich, sqlalchemy and pydantic) and both commands
back to back, so a busy machine slows all three alike; the median round's ratios are printed. Goal: ≤ 2×. The list
of heavy libraries each command imported is printed too (they belong only to the commands that use them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = "import typer, rich, sqlalchemy, pydantic"
HEAVY = ("alembic", "jieba", "numpy", "scipy", "pkg_resources", "rapidocr", "onnxruntime", "PIL", "fastapi")
GOAL = 2.0


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    """Which heavy libraries a command imports (run once more under ``-X importtime``)."""
    code = (
        f"import sys; sys.argv = ['wenming', *{args!r}]\n"
        "from wiring.cli.main import app\ntry:\n    app()\nexcept SystemExit:\n    pass"
    )
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env, capture_output=True, text=True)
    names = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    return [lib for lib in HEAVY if lib in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()
    wenming = str(Path(sys.executable).with_name("wenming"))
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"WENMING_DATABASE_URL": f"sqlite:///{tmp}/cli.db", "WENMING_DATA_DIR": tmp}
        subprocess.run([wenming, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        commands = {"wenming --help": ["--help"], "wenming db current": ["db", "current"]}
        rounds: list[dict[str, float]] = []
        for _ in range(opts.rounds):
            row = {"baseline": _timed([sys.executable, "-c", BASELINE], env)}
            for name, args in commands.items():
                row[name] = _timed([wenming, *args], env)
            rounds.append(row)
        base = statistics.median(r["baseline"] for r in rounds)
        print(f"{'what':<22}{'median s':>10}{'ratio':>8}  goal ≤ {GOAL}×   heavy imports")
        print(f"{'bare import':<22}{base:>10.3f}          ({BASELINE})")
        for name, args in commands.items():
            ratio = statistics.median(r[name] / r["baseline"] for r in rounds)
            took = statistics.median(r[name] for r in rounds)
            verdict = "OK" if ratio <= GOAL else "ABOVE GOAL"
            print(f"{name:<22}{took:>10.3f}{ratio:>7.2f}×  {verdict:<11} {', '.join(_heavy_imports(args, env)) or '—'}")


if __name__ == "__main__":
    from benchlib import load_line

    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))

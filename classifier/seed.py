"""Train the seed model in an interpreter of its own: ``python -m classifier.seed DATA_DIR THRESHOLD VERSION``.

``registry.ensure_seed`` runs this as a child process, so the process that asked (a long-running ``wenming run``
on an empty data dir) never imports SciPy or keeps training's memory. A module entry point rather than
multiprocessing: a spawned child re-imports the parent's main script, which not every caller guards.
"""

from __future__ import annotations

import sys
from pathlib import Path

from classifier import registry
from wenming.settings import Settings


def main(argv: list[str]) -> None:
    data_dir, threshold, version = argv
    settings = Settings(  # type: ignore[call-arg]
        data_dir=Path(data_dir), classifier_review_threshold=float(threshold), _env_file=None
    )
    registry.train_seed(settings, version)


if __name__ == "__main__":
    main(sys.argv[1:])

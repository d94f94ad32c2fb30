"""`wenming run` predicts but never trains: loading and using the classifier must not import SciPy (≈40 MB of RSS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from classifier import registry
from wenming.settings import Settings

# What `wenming run` imports and does once messages arrive: the composition root, the API, the job handlers, and the
# active predictor classifying a text. Only training (`classifier.linear.fit`) needs SciPy.
_RUN_PATH = """
import sys
from wenming.settings import Settings
from wiring import runtime
from wiring.handlers import default_handlers
from classifier import service

settings = Settings(database_url=sys.argv[2], data_dir=sys.argv[1], _env_file=None)
runtime.build_app(settings, [])
default_handlers()
result = service.active_predictor(settings).classify(sys.argv[3], photo_count=2)
print(f"RESULT:{result.label} {result.confidence}")
print("LOADED:" + ",".join(name for name in ("scipy", "threadpoolctl") if name in sys.modules))
"""


def test_run_classifies_without_importing_scipy(tmp_path: Path) -> None:
    settings = Settings(database_url="sqlite://", data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    version = registry.ensure_seed(settings)  # trained here, as by `wenming classifier versions` before `run` starts
    text = "县图书馆在城东社区开展读书分享志愿服务活动"
    here = registry.load_predictor(settings, version).classify(text, photo_count=2)  # SciPy is loaded here
    url = f"sqlite:///{tmp_path / 'run.db'}"
    done = subprocess.run(
        [sys.executable, "-c", _RUN_PATH, str(settings.data_dir), url, text], capture_output=True, text=True, check=True
    )
    lines = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)
    assert lines["RESULT"] == f"{here.label} {here.confidence}"
    assert lines["LOADED"] == ""


def test_run_on_an_empty_data_dir_trains_the_seed_model_in_a_child_process(tmp_path: Path) -> None:
    settings = Settings(database_url="sqlite://", data_dir=tmp_path / "here", _env_file=None)  # type: ignore[call-arg]
    text = "县人民医院组织医护人员走进敬老院开展义诊志愿服务"
    here = registry.load_predictor(settings, registry.ensure_seed(settings)).classify(text, photo_count=1)
    empty = tmp_path / "empty"  # `wenming run` on a new machine: no model yet
    url = f"sqlite:///{tmp_path / 'run.db'}"
    done = subprocess.run([sys.executable, "-c", _RUN_PATH, str(empty), url, text], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)
    assert lines["LOADED"] == ""  # the seed was trained, but not in this process
    assert (empty / "models" / registry.seed_version()).is_dir()
    assert lines["RESULT"] == f"{here.label} {here.confidence}"  # the same deterministic seed model

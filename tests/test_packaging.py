"""A plain ``pip install`` of the built wheel, into a fresh virtual environment, gives a working package: one
training step, the CERG configuration and ``python -m lstm_lit.cerg --help``.  Dependencies come from pyproject.toml
alone (pinned to requirements.txt by a constraints file, so that no other version is fetched)."""

import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import numpy as np
from lstm_lit import cerg
from lstm_lit.network import LSTMNetwork
net = LSTMNetwork(7, 4, 2, 7, batch=2, connectivity="cerg", rng=np.random.default_rng(0))
y = net.train_step(np.eye(7)[[0, 1]], np.eye(7)[[1, 2]], 0.5)
assert y.shape == (2, 7) and np.all(np.isfinite(y))
assert cerg.Config(runs=3).validate().runs == 3
print("ok")
"""


def test_wheel_installs_into_a_fresh_environment_and_runs(tmp_path):
    source = tmp_path / "source"   # build from a copy: building in place would leave build/ in the work tree
    shutil.copytree(ROOT / "lstm_lit", source / "lstm_lit", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels),
                        str(source)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = wheels.glob("lstm_lit-*.whl")
    env = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env)
    py = env / "bin" / "python"
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(line for line in (ROOT / "requirements.txt").read_text().splitlines()
                                     if line and not line.startswith("#")))
    r = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "-c", str(constraints), str(wheel)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(py), "-c", SCRIPT], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
    r = subprocess.run([str(py), "-m", "lstm_lit.cerg", "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and "--scheduler" in r.stdout, r.stdout + r.stderr

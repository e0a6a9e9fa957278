"""The Python code blocks of README.md run as they stand: a reader who copies one gets what it promises.

Every fenced block marked ``python`` is executed in a fresh namespace, in order, from the repository root. Shell
blocks (``bash``) are not run here: they build the book, run the suite or start long experiments.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the ```python fences of a Markdown text, in order."""
    return FENCE.findall(markdown)


def run_blocks(markdown: str, name: str = "README.md") -> int:
    """Execute every Python block of ``markdown``, each in its own namespace; return how many ran."""
    blocks = python_blocks(markdown)
    for i, block in enumerate(blocks):
        exec(compile(block, f"{name} python block {i + 1}", "exec"), {"__name__": "__readme__"})
    return len(blocks)


def test_readme_python_blocks_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert run_blocks((ROOT / "README.md").read_text(encoding="utf-8")) >= 1


def test_the_fence_pattern_finds_every_python_block():
    text = "a\n```python\nx = 1\n```\n\n```bash\nexit 1\n```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = 2\n"]


def test_a_block_that_uses_an_undefined_name_fails():
    """The broken twin: the README's former training example used ``x`` and ``target`` without defining them."""
    broken = ("```python\nimport numpy as np\nfrom lstm_lit.network import LSTMNetwork\n\n"
              "net = LSTMNetwork(d_in=7, n_blk=4, d_blk=2, d_out=7, batch=100, connectivity=\"cerg\", "
              "rng=np.random.default_rng(0))\n"
              "y = net.train_step(x, target, learning_rate=0.5)\n```\n")
    with pytest.raises(NameError, match="'x'"):
        run_blocks(broken)

"""Re-execute chapters in place so that their stored outputs are fresh (the tests compare against them).

Usage: python scripts/execute_notebooks.py book/notation.ipynb [more.ipynb ...]
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(paths):
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        for cell in nb.cells:  # wall-clock timestamps would make every re-execution a diff
            cell.metadata.pop("execution", None)
        nbformat.write(nb, path)
        print(f"executed {path}")


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(str(p) for p in Path("book").glob("*.ipynb")))

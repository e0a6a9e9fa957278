import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_collection_modifyitems(config, items):
    """The cells of one notebook run in order in one kernel: with ``pytest -n N --dist loadgroup``
    (scripts/test.sh), every notebook is one group that a single worker runs; other tests spread freely."""
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.xdist_group(Path(str(item.fspath)).name))

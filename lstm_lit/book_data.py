"""The data files the book's chapters read (benchmarks, experiment results), found wherever the chapter runs.

A chapter reads its data with ``book_data.path("bench.json")`` or ``book_data.load_json("table2/forget-cap1e4.json")``
instead of a path relative to the notebook, so that it also works when it is downloaded alone or opened in Colab:

1. ``$LSTM_LIT_DATA/<name>`` when that variable is set;
2. ``data/<name>`` or ``book/data/<name>`` below the working directory (a chapter run from ``book/``, or the
   repository root);
3. ``book/data/<name>`` of the clone this package was imported from (an editable install);
4. a copy downloaded earlier into ``~/.cache/lstm-lit/<name>``;
5. otherwise the file is downloaded from the repository on GitHub into that cache. If that fails (no network),
   :class:`BookDataMissing` says which file is needed, which command makes it, and where to put it.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

REPOSITORY = "https://github.com/lstm-lit/lstm-lit"
RAW = "https://raw.githubusercontent.com/lstm-lit/lstm-lit/main/book/data/"
CACHE = Path.home() / ".cache" / "lstm-lit"


class BookDataMissing(FileNotFoundError):
    """A data file of the book is neither here nor downloadable; the message says what to do."""


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name or name.startswith(("/", "\\")) or ".." in Path(name).parts:
        raise ValueError(f"book data name must be a relative path inside book/data, like 'bench.json'; got {name!r}")
    return name


def candidates(name: str) -> list[Path]:
    """The places searched for ``name``, in order (the cache last)."""
    name = _check_name(name)
    places = []
    if os.environ.get("LSTM_LIT_DATA"):
        places.append(Path(os.environ["LSTM_LIT_DATA"]) / name)
    cwd = Path.cwd()
    places += [cwd / "data" / name, cwd / "book" / "data" / name]
    places.append(Path(__file__).resolve().parents[1] / "book" / "data" / name)
    places.append(CACHE / name)
    return places


def path(name: str, download: bool = True) -> Path:
    """A local path of the book's data file ``name`` (relative to ``book/data``), downloading it if needed."""
    for place in candidates(name):
        if place.is_file():
            return place
    url = RAW + name
    target = CACHE / name
    if download:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            with urllib.request.urlopen(url, timeout=30) as response, open(partial, "wb") as out:
                out.write(response.read())
            partial.replace(target)
            return target
        except OSError as error:
            reason = f"downloading {url} failed ({error})"
    else:
        reason = "downloading was not allowed"
    raise BookDataMissing(
        f"this chapter reads book/data/{name}, which is not here and {reason}. "
        f"Run the chapter from a clone of {REPOSITORY} (the file is committed there), "
        f"or download {url} to data/{name} next to the notebook, or set LSTM_LIT_DATA to a folder that holds it."
    )


def load_json(name: str, download: bool = True):
    """The parsed JSON file ``name`` of the book's data (see :func:`path`)."""
    with open(path(name, download=download), encoding="utf-8") as handle:
        return json.load(handle)

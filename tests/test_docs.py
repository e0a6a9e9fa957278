"""The examples in the package's docstrings run and give what they show."""

import doctest
import importlib
import pkgutil

import lstm_lit

MODULES = sorted(m.name for m in pkgutil.walk_packages(lstm_lit.__path__, "lstm_lit.")
                 if not m.name.endswith(".__main__"))   # importing a __main__ runs its program


def test_docstring_examples():
    attempted = 0
    for name in MODULES:
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name
        attempted += result.attempted
    assert attempted > 0  # there are examples to run (LSTMNetwork's at least)


def test_a_wrong_example_fails():
    def example():
        """
        >>> 1 + 1
        3
        """
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(verbose=False)
    failed = sum(runner.run(t, out=lambda s: None).failed for t in finder.find(example, "example", globs={}))
    assert failed == 1

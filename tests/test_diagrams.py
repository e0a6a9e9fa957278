"""Tests of lstm_lit.diagrams: each figure shows what its caption says, read back from the drawn artists.

Oracles are independent of the drawing code: the grammar graphs are read back as automata and must accept the
published Reber strings (and reject the published non-Reber strings); the connectivity image must equal a matrix
built here from the paper's description of the CERG net.  Each key check has a broken twin that must fail.
"""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch  # noqa: E402

from lstm_lit import diagrams, reber  # noqa: E402

# Examples from the Reber-grammar page of N. Schraudolph's NN course (also used in test_reber.py).
PUBLISHED_REBER = ["BTSSXXTVVE", "BPVVE", "BTXXVPSE", "BPVPXVPXVPXVVE", "BTSXXVPSE"]
PUBLISHED_NON_REBER = ["BTSSPXSE", "BPTVVB", "BTXXVVSE", "BPVSPSE", "BTSSSE"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _artists(fig):
    ax = fig.axes[0]
    return list(ax.patches) + list(ax.texts)


def _gids(fig):
    return {a.get_gid() for a in _artists(fig) if a.get_gid()}


def _drawn_edges(fig):
    """{(source, symbol, target)} of the arrows, with the label text checked against the gid."""
    ax = fig.axes[0]
    arrows = {a.get_gid()[5:] for a in ax.patches if isinstance(a, FancyArrowPatch) and (a.get_gid() or "").startswith("edge ")}
    labels = {t.get_gid()[11:]: t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("edge-label ")}
    assert set(labels) == arrows, "every edge has exactly one label"
    edges = set()
    for key in arrows:
        source, symbol, target = key.split(" ")
        assert labels[key] == symbol, f"edge {key} is labelled {labels[key]!r}"
        edges.add((source, symbol, target))
    return edges


def _node_centres(fig):
    return {p.get_gid()[5:]: p.center for p in fig.axes[0].patches
            if isinstance(p, Circle) and (p.get_gid() or "").startswith("node ")}


def _check_geometry(fig, returns_to_end=None):
    """Every arrow starts at its source node and ends at its target node (within 1.5 node radii).

    ``returns_to_end``: the start state whose incoming edges are drawn to the node ``end``."""
    centres = _node_centres(fig)
    radius = max(p.get_radius() for p in fig.axes[0].patches if isinstance(p, Circle) and (p.get_gid() or "").startswith("node "))
    for a in fig.axes[0].patches:
        gid = a.get_gid() or ""
        if not gid.startswith("edge "):
            continue
        source, _, target = gid[5:].split(" ")
        drawn_target = "end" if target == returns_to_end else target
        if a._posA_posB is not None:
            (xa, ya), (xb, yb) = a._posA_posB
        else:  # an edge routed along a path (the return edges of a continual stream)
            (xa, ya), (xb, yb) = a._path_original.vertices[[0, -1]]
        assert math.dist((xa, ya), centres[source]) <= 1.5 * radius, gid
        assert math.dist((xb, yb), centres[drawn_target]) <= 1.5 * radius, gid


def _accepts(edges, start, final, text):
    table = {}
    for s, sym, t in edges:
        assert (s, sym) not in table, "the drawn automaton is deterministic"
        table[(s, sym)] = t
    state = start
    for symbol in text:
        state = table.get((state, symbol))
        if state is None:
            return False
    return state == final


def _check_reber_figure(fig):
    edges = _drawn_edges(fig)
    for s in PUBLISHED_REBER:
        assert _accepts(edges, "0", "7", s), s
    for s in PUBLISHED_NON_REBER:
        assert not _accepts(edges, "0", "7", s), s
    assert edges == {(str(a), sym, str(b)) for a, out in reber.REBER_TRANSITIONS.items() for sym, b in out}


# ---------------------------------------------------------------------------------------------------------------
# Reber grammars


def test_reber_grammar_shows_the_grammar():
    fig = diagrams.reber_grammar()
    assert isinstance(fig, Figure)
    _check_reber_figure(fig)
    _check_geometry(fig)
    assert set(_node_centres(fig)) == {str(s) for s in range(8)}


def test_reber_grammar_broken_twin():
    broken = {s: tuple(e for e in edges if e != ("V", 6)) for s, edges in reber.REBER_TRANSITIONS.items()}
    fig = diagrams.reber_grammar(broken)
    with pytest.raises(AssertionError):
        _check_reber_figure(fig)


@pytest.mark.parametrize("continual", [False, True])
@pytest.mark.parametrize("outer_be", [True, False])
def test_embedded_reber_grammar_shows_the_automaton(outer_be, continual):
    fig = diagrams.embedded_reber_grammar(outer_be=outer_be, continual=continual)
    assert isinstance(fig, Figure)
    edges = _drawn_edges(fig)
    table = reber.continual_transitions(outer_be)
    assert edges == {(s, sym, t) for s, out in table.items() for sym, t in out}
    start = reber.string_start_state(outer_be)
    _check_geometry(fig, None if continual else start)
    for inner in PUBLISHED_REBER[:3]:
        for c in "TP":
            good = f"B{c}{inner}{c}E" if outer_be else f"{c}{inner}{c}"
            bad = f"B{c}{inner}{'P' if c == 'T' else 'T'}E" if outer_be else f"{c}{inner}{'P' if c == 'T' else 'T'}"
            assert _accepts(edges, start, start, good) and _accepts(edges, start, start, good * 3)
            assert not _accepts(edges, start, start, bad)
    if not continual:
        assert "end" in _node_centres(fig)


def test_embedded_grammar_broken_twin(monkeypatch):
    """A figure drawn from a table whose closing symbol ignores the branch must fail the same check."""
    real = reber.continual_transitions

    def wrong(outer_be=True):
        table = dict(real(outer_be))
        final_t = reber.inner_state("T", reber.REBER_FINAL_STATE)
        table[final_t] = (("P", table[final_t][0][1]),)
        return table

    monkeypatch.setattr(reber, "continual_transitions", wrong)
    fig = diagrams.embedded_reber_grammar()
    monkeypatch.setattr(reber, "continual_transitions", real)
    edges = _drawn_edges(fig)
    with pytest.raises(AssertionError):
        assert edges == {(s, sym, t) for s, out in real(True).items() for sym, t in out}
    assert not _accepts(edges, "start", "start", "BTBPVVETE")


# ---------------------------------------------------------------------------------------------------------------
# The CERG connectivity


def _paper_matrix():
    """The CERG net from the paper's description: rows fg, ig, og (4 each), 8 cells, 7 outputs; columns
    x (7), 1, y^fg, y^ig, y^og (4 each), y^c (8).  Gates: inputs, bias, cell outputs; cells: inputs and cell
    outputs (no bias); outputs: inputs (shortcuts), bias, cell outputs; no gate-to-gate connections."""
    cols = {"x": range(0, 7), "1": range(7, 8), "gates": range(8, 20), "yc": range(20, 28)}
    m = np.zeros((27, 28))
    for r in range(12):
        m[r, list(cols["x"]) + list(cols["1"]) + list(cols["yc"])] = 1
    for r in range(12, 20):
        m[r, list(cols["x"]) + list(cols["yc"])] = 1
    for r in range(20, 27):
        m[r, list(cols["x"]) + list(cols["1"]) + list(cols["yc"])] = 1
    return m


def _image(fig):
    (image,) = [im for im in fig.axes[0].images if im.get_gid() == "connectivity"]
    return np.asarray(image.get_array())


def test_cerg_connectivity_shows_the_424_weights():
    fig = diagrams.cerg_connectivity()
    assert isinstance(fig, Figure)
    shown = _image(fig)
    assert shown.sum() == 424
    np.testing.assert_array_equal(shown, _paper_matrix())
    assert "424 weights" in fig.axes[0].get_title()
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    assert len(fig.axes[0].get_xticklabels()) == 28 and len(fig.axes[0].get_yticklabels()) == 27


def test_cerg_connectivity_broken_twin():
    shown = _image(diagrams.cerg_connectivity(kind="full"))
    with pytest.raises(AssertionError):
        np.testing.assert_array_equal(shown, _paper_matrix())


def test_cerg_connectivity_without_forget_gates():
    matrix, rows, columns = diagrams.cerg_connectivity_matrix(forget_gates=False)
    assert matrix.shape == (23, 24) and matrix.sum() == 424 - 4 * 16
    assert not any(r.startswith("fg") for r in rows) and not any(c.startswith("yfg") for c in columns)


# ---------------------------------------------------------------------------------------------------------------
# The memory block


def _check_block(fig, n_cells, forget_gate):
    gids = _gids(fig)
    for i in range(n_cells):
        for part in ("cell-input", "g", "h", "state", "cec", "product ig", "product og"):
            assert f"{part} {i}" in gids, f"{part} {i}"
        assert (f"product fg {i}" in gids) == forget_gate
    assert {"gate ig", "gate og"} <= gids
    assert ("gate fg" in gids) == forget_gate
    texts = {t.get_gid(): t.get_text() for t in fig.axes[0].texts if t.get_gid()}
    for i in range(n_cells):
        assert texts[f"cec-weight {i}"] == (r"$y^{\mathrm{fg}}_k$" if forget_gate else "$1$")
        assert texts[f"state {i} label"] == f"$s_{{k,{i}}}$"
    assert texts["g 0 label"] == "$g$" and texts["h 0 label"] == "$h$"


@pytest.mark.parametrize("forget_gate", [True, False])
def test_memory_block_parts(forget_gate):
    fig = diagrams.memory_block(forget_gate=forget_gate)
    assert isinstance(fig, Figure)
    _check_block(fig, 2, forget_gate)


def test_memory_block_broken_twin():
    with pytest.raises(AssertionError):
        _check_block(diagrams.memory_block(forget_gate=False), 2, True)
    with pytest.raises(AssertionError):
        _check_block(diagrams.memory_block(forget_gate=True, n_cells=1), 2, True)


def test_figures_are_deterministic():
    import io

    def png(f):
        buffer = io.BytesIO()
        f().savefig(buffer, format="png", dpi=25, metadata={"Software": None})
        return buffer.getvalue()

    assert png(diagrams.reber_grammar) == png(diagrams.reber_grammar)

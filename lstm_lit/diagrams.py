"""The book's diagrams, drawn with matplotlib: a memory block, the Reber grammars, the CERG connectivity.

Every function returns a :class:`matplotlib.figure.Figure` and draws the same picture on every call (no randomness,
fixed sizes).  The grammars are drawn from the transition tables of :mod:`lstm_lit.reber` and the connectivity from
the masks of :mod:`lstm_lit.connectivity`, so a change there changes the picture.

The drawn parts carry matplotlib ``gid`` s, so that a test (or a reader) can find them in the figure:

* memory block: ``"cell-input i"``, ``"g i"``, ``"h i"``, ``"state i"``, ``"cec i"`` (the self-loop),
  ``"gate ig"``, ``"gate og"``, ``"gate fg"``, ``"product ig i"``, ``"product og i"``, ``"product fg i"``
  (for cell ``i``; no ``fg`` parts without forget gates), and ``"cec-weight i"`` for the text on the self-loop;
* grammars: ``"node <state>"`` and, for every transition, ``"edge <state> <symbol> <next state>"`` (the arrow) and
  ``"edge-label <state> <symbol> <next state>"`` (the text showing the symbol);
* connectivity: ``"connectivity"`` for the image of the 0/1 matrix (rows: receiving units, columns: sources).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from . import connectivity, reber

__all__ = [
    "memory_block",
    "reber_grammar",
    "embedded_reber_grammar",
    "cerg_connectivity",
    "cerg_connectivity_matrix",
    "REBER_LAYOUT",
]

_GATE_COLOUR = "#dbe9f6"
_CELL_COLOUR = "#fdf1d6"
_STATE_COLOUR = "#f6d6d6"


# ----------------------------------------------------------------------------------------------------------------
# Small drawing helpers


def _blank_axes(fig: Figure, xlim, ylim):
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _box(ax, x, y, w, h, text, gid, colour, fontsize=12):
    patch = FancyBboxPatch(
        (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
        facecolor=colour, edgecolor="black", linewidth=1.2, gid=gid,
    )
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, gid=gid + " label")
    return patch


def _circle(ax, x, y, r, text, gid, colour, fontsize=12):
    patch = Circle((x, y), r, facecolor=colour, edgecolor="black", linewidth=1.2, gid=gid)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, gid=gid + " label")
    return patch


def _arrow(ax, start, end, gid=None, style="-|>", linestyle="-", colour="black", rad=0.0, shrink=0.0, lw=1.2):
    arrow = FancyArrowPatch(
        start, end, arrowstyle=style, mutation_scale=12, linewidth=lw, linestyle=linestyle, color=colour,
        connectionstyle=f"arc3,rad={rad}", shrinkA=shrink, shrinkB=shrink, gid=gid,
    )
    ax.add_patch(arrow)
    return arrow


# ----------------------------------------------------------------------------------------------------------------
# The memory block


def memory_block(forget_gate: bool = True, n_cells: int = 2) -> Figure:
    """One memory block ``k`` with ``n_cells`` cells sharing an input gate, an output gate and (optionally) a forget gate.

    Each cell reads the recurrent input :math:`\\tilde x(t)` into its net input :math:`z^c_{k,i}`, squashes it with
    ``g``, multiplies it by the input gate's :math:`y^{ig}_k` and adds it to its state :math:`s_{k,i}`.  The state's
    self-loop is the *constant error carousel*: weight 1 in the 1997 LSTM (``forget_gate=False``), the forget gate's
    :math:`y^{fg}_k` with forget gates.  The state is squashed by ``h`` and multiplied by the output gate's
    :math:`y^{og}_k` to give the cell output :math:`y^c_{k,i}`.  Gates are drawn as circles named by their
    activation function, products as circles with a dot, squashing functions as boxes, gate connections dashed.
    """
    if not (isinstance(n_cells, int) and 1 <= n_cells <= 3):
        raise ValueError(f"n_cells must be 1, 2 or 3, got {n_cells!r}")
    row_gap = 2.9
    rows = [1.5 + row_gap * (n_cells - 1 - i) for i in range(n_cells)]
    gate_y = rows[0] + 2.6
    top = gate_y + 1.2
    fig = plt.figure(figsize=(8.6, 0.62 * (top + 0.4)))
    ax = _blank_axes(fig, (-0.3, 13.6), (-0.2, top + 0.2))

    x_in, x_net, x_g, x_pig, x_s, x_h, x_pog, x_out = 0.0, 1.5, 3.0, 4.5, 6.6, 8.7, 10.2, 11.9
    ax.add_patch(FancyBboxPatch(
        (0.75, 0.25), 10.1, top - 0.55, boxstyle="round,pad=0.05,rounding_size=0.3",
        facecolor="none", edgecolor="grey", linestyle="--", linewidth=1.0, gid="block",
    ))
    ax.text(0.95, top - 0.55, "memory block $k$", ha="left", va="top", fontsize=10, color="grey")

    gates = [("ig", x_pig), ("og", x_pog)] + ([("fg", x_s)] if forget_gate else [])
    gate_pos = {}
    for name, gx in gates:
        _circle(ax, gx, gate_y, 0.42, f"$f^{{\\mathrm{{{name}}}}}$", f"gate {name}", _GATE_COLOUR, fontsize=12)
        ax.text(gx + 0.5, gate_y + 0.18, f"$y^{{\\mathrm{{{name}}}}}_k$", ha="left", va="center", fontsize=11)
        _arrow(ax, (gx - 0.9, gate_y + 0.75), (gx - 0.32, gate_y + 0.3))
        ax.text(gx - 0.95, gate_y + 0.8, r"$\tilde{x}(t)$", ha="right", va="bottom", fontsize=10)
        gate_pos[name] = (gx, gate_y)

    for i, y in enumerate(rows):
        _arrow(ax, (x_in, y), (x_net - 0.38, y))
        ax.text(x_in, y + 0.15, r"$\tilde{x}(t)$", ha="left", va="bottom", fontsize=10)
        _circle(ax, x_net, y, 0.38, r"$\Sigma$", f"cell-input {i}", _CELL_COLOUR, fontsize=11)
        ax.text(x_net, y - 0.5, f"$z^c_{{k,{i}}}$", ha="center", va="top", fontsize=10)
        _arrow(ax, (x_net + 0.38, y), (x_g - 0.4, y))
        _box(ax, x_g, y, 0.8, 0.62, "$g$", f"g {i}", _CELL_COLOUR)
        _arrow(ax, (x_g + 0.4, y), (x_pig - 0.25, y))
        _circle(ax, x_pig, y, 0.25, r"$\times$", f"product ig {i}", "white", fontsize=11)
        _arrow(ax, (x_pig + 0.25, y), (x_s - 0.6, y))
        ax.text(x_s - 1.05, y + 0.12, "+", ha="center", va="bottom", fontsize=11)
        _box(ax, x_s, y, 1.2, 0.7, f"$s_{{k,{i}}}$", f"state {i}", _STATE_COLOUR, fontsize=12)
        # The constant error carousel: the state's self-loop, drawn above the state box.
        loop_y = y + 1.05
        if forget_gate:
            _circle(ax, x_s, loop_y, 0.22, r"$\times$", f"product fg {i}", "white", fontsize=10)
            _arrow(ax, (x_s + 0.45, y + 0.35), (x_s + 0.2, loop_y - 0.08), gid=f"cec {i}", rad=0.5,
                   style="-", colour="firebrick", lw=1.8)
            _arrow(ax, (x_s - 0.2, loop_y - 0.08), (x_s - 0.45, y + 0.35), rad=0.5, colour="firebrick", lw=1.8)
            weight = r"$y^{\mathrm{fg}}_k$"
        else:
            _arrow(ax, (x_s + 0.45, y + 0.35), (x_s - 0.45, y + 0.35), gid=f"cec {i}", rad=1.6,
                   colour="firebrick", lw=1.8)
            weight = "$1$"
        ax.text(x_s - 0.55, loop_y + 0.05, weight, ha="right", va="bottom", fontsize=11, color="firebrick",
                gid=f"cec-weight {i}")
        _arrow(ax, (x_s + 0.6, y), (x_h - 0.4, y))
        _box(ax, x_h, y, 0.8, 0.62, "$h$", f"h {i}", _CELL_COLOUR)
        _arrow(ax, (x_h + 0.4, y), (x_pog - 0.25, y))
        _circle(ax, x_pog, y, 0.25, r"$\times$", f"product og {i}", "white", fontsize=11)
        _arrow(ax, (x_pog + 0.25, y), (x_out, y))
        ax.text(x_out + 0.1, y, f"$y^c_{{k,{i}}}$", ha="left", va="center", fontsize=12)

    # Gate connections (dashed): a bus down from each gate, a stub into every cell's product.
    for name, (gx, gy) in gate_pos.items():
        bus_x = gx + (0.75 if name == "fg" else -0.6)
        targets = [(gx, y + 1.05, 0.22) if name == "fg" else (gx, y, 0.25) for y in rows]
        lowest = targets[-1][1]
        ax.plot([gx, bus_x, bus_x], [gy - 0.42, gy - 0.42, lowest], color="steelblue", linestyle="--", lw=1.1)
        for tx, ty, r in targets:
            side = 1 if bus_x > tx else -1
            _arrow(ax, (bus_x, ty), (tx + side * r, ty), linestyle="--", colour="steelblue", lw=1.1)

    legend = (r"$\tilde{x}(t)$: recurrent input;  $f^{\cdot}$: gate activation;  $g$, $h$: squashing;  "
              r"$\times$: product;  red loop: constant error carousel")
    ax.text(0.0, -0.1, legend, ha="left", va="bottom", fontsize=8.5, color="dimgrey")
    return fig


# ----------------------------------------------------------------------------------------------------------------
# The grammars

REBER_LAYOUT: dict[int, tuple[float, float]] = {
    0: (0.0, 0.0), 1: (1.4, 0.0), 2: (3.0, 1.2), 3: (3.0, -1.2), 4: (4.8, 1.2), 5: (4.8, -1.2), 6: (6.4, 0.0),
    7: (7.8, 0.0),
}
"""Where each Reber state is drawn (positions only; the edges come from :data:`lstm_lit.reber.REBER_TRANSITIONS`)."""

_NODE_RADIUS = 0.32


def _draw_graph(ax, positions, labels, edges, final_nodes, start_nodes, scale=1.0, fontsize=12, bends=None):
    """Nodes at ``positions`` (name -> (x, y)), ``edges`` as (source, symbol, target, gid key)."""
    r = _NODE_RADIUS * scale
    for name, (x, y) in positions.items():
        small = len(labels[name]) > 3  # a word such as "start" in place of a state number
        _circle(ax, x, y, r, labels[name], f"node {name}", "white", fontsize=fontsize - (5 if small else 2))
        if name in final_nodes:
            ax.add_patch(Circle((x, y), r * 0.8, facecolor="none", edgecolor="black", linewidth=1.0))
        if name in start_nodes:
            _arrow(ax, (x - 2.4 * r, y), (x - r, y))
    bends = bends or {}
    for source, symbol, target, key in edges:
        (x0, y0), (x1, y1) = positions[source], positions[target]
        if source == target:  # a self-loop, drawn above (upper half) or below (lower half) of the node
            side = 1.0 if y0 >= np.mean([p[1] for p in positions.values()]) else -1.0
            start, end = (x0 - 0.6 * r, y0 + side * 0.8 * r), (x0 + 0.6 * r, y0 + side * 0.8 * r)
            _arrow(ax, start, end, gid=f"edge {key}", rad=-side * 2.6)
            lx, ly = x0, y0 + side * 2.5 * r
        else:
            rad = bends.get((source, target), 0.0)
            # shorten the chord by the node radius (in data units, so independent of the figure's size)
            length = math.hypot(x1 - x0, y1 - y0)
            ux, uy = (x1 - x0) / length, (y1 - y0) / length
            _arrow(ax, (x0 + ux * r, y0 + uy * r), (x1 - ux * r, y1 - uy * r), gid=f"edge {key}", rad=rad)
            # the label sits beside the middle of the (possibly bent) edge, on its left-hand side
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            nx, ny = -uy, ux
            offset = rad * length / 2
            lx, ly = mx - nx * offset + nx * 0.18 * scale * 1.4, my - ny * offset + ny * 0.18 * scale * 1.4
        ax.text(lx, ly, symbol, ha="center", va="center", fontsize=fontsize, fontweight="bold",
                color="darkred", gid=f"edge-label {key}",
                bbox=dict(boxstyle="round,pad=0.08", facecolor="white", edgecolor="none", alpha=0.85))


def reber_grammar(transitions=None) -> Figure:
    """The Reber grammar as a graph: states 0-7, one arrow per transition, labelled with the symbol it emits.

    ``transitions`` defaults to :data:`lstm_lit.reber.REBER_TRANSITIONS` (state -> ((symbol, next state), ...)).
    A string of the grammar is a walk from state 0 (the incoming arrow) to state 7 (double circle).
    """
    transitions = reber.REBER_TRANSITIONS if transitions is None else transitions
    states = sorted({s for s in transitions} | {t for edges in transitions.values() for _, t in edges})
    positions = {s: REBER_LAYOUT.get(s, (8.0 + s, 0.0)) for s in states}
    edges = [(s, sym, t, f"{s} {sym} {t}") for s, out in transitions.items() for sym, t in out]
    fig = plt.figure(figsize=(7.6, 3.4))
    ax = _blank_axes(fig, (-0.9, 8.4), (-2.2, 2.2))
    _draw_graph(ax, positions, {s: f"${s}$" for s in states}, edges,
                final_nodes={reber.REBER_FINAL_STATE}, start_nodes={reber.REBER_START_STATE})
    return fig


def _embedded_positions(table, outer_be):
    """Positions of the continual automaton's states: two copies of the Reber layout, T above, P below."""
    positions = {}
    x0 = 2.4 if outer_be else 1.2
    for row, c in enumerate(reber.BRANCH_SYMBOLS):
        dy = 2.6 if row == 0 else -2.6
        for state, (x, y) in REBER_LAYOUT.items():
            positions[reber.inner_state(c, state)] = (x0 + x * 0.95, dy + y * 0.62)
    right = x0 + REBER_LAYOUT[reber.REBER_FINAL_STATE][0] * 0.95
    if outer_be:
        positions[reber.OUTER_START] = (-0.6, 0.0)
        positions[reber.OUTER_BRANCH] = (0.9, 0.0)
        positions[reber.OUTER_CLOSE] = (right + 1.5, 0.0)
        positions["end"] = (right + 3.0, 0.0)
    else:
        positions[reber.OUTER_BRANCH] = (-0.3, 0.0)
        positions["end"] = (right + 1.5, 0.0)
    unknown = set(table) - set(positions)
    for n, name in enumerate(sorted(unknown)):
        positions[name] = (n * 1.0, -4.5)
    return positions


def embedded_reber_grammar(outer_be: bool = True, continual: bool = False) -> Figure:
    """The embedded Reber grammar ``B c <Reber string> c E`` as a graph (``c`` is T above or P below).

    Drawn from :func:`lstm_lit.reber.continual_transitions`.  Inner nodes are named by their Reber state.  A string
    ends at the node ``end``; with ``continual=True`` the last edge goes back to the start instead (routed around
    the graph), as in a continual stream, and every edge is exactly one transition of the table (the ``edge`` gids
    use the table's state names; ``end`` stands for the start state).  ``outer_be=False`` draws the variant without
    the outer ``B`` and ``E``.
    """
    table = reber.continual_transitions(outer_be)
    start = reber.string_start_state(outer_be)
    positions = _embedded_positions(table, outer_be)
    edges, returns = [], []
    for s, out in table.items():
        for sym, t in out:
            key = f"{s} {sym} {t}"
            if t == start and continual:
                returns.append((s, sym, t, key))
            else:
                edges.append((s, sym, t if t != start else "end", key))
    if continual:
        positions.pop("end")
    labels = {}
    for name in positions:
        if name[0] in reber.BRANCH_SYMBOLS and name[1:].isdigit():
            labels[name] = f"${name[1:]}$"
        else:
            labels[name] = {"start": "start", "end": "end"}.get(name, "")
    width = max(x for x, _ in positions.values()) + 1.0
    fig = plt.figure(figsize=(10.0, 6.2 if continual else 5.6))
    limit = 5.0 if continual else 4.4
    ax = _blank_axes(fig, (-1.8, width + 0.4), (-limit, limit))
    _draw_graph(ax, positions, labels, edges, final_nodes=set() if continual else {"end"}, start_nodes={start},
                scale=0.85, fontsize=11)
    r = _NODE_RADIUS * 0.85
    for source, symbol, target, key in returns:
        (x0, y0), (x1, y1) = positions[source], positions[target]
        side = 1.0 if y0 > 0 else -1.0  # the T half returns over the top, the rest under the bottom
        level = side * 4.5
        path = Path([(x0, y0 + side * r), (x0, level), (x1, level), (x1, y1 + side * r)],
                    [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO])
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=12, linewidth=1.2, color="black",
                                     gid=f"edge {key}"))
        ax.text((x0 + x1) / 2, level, symbol, ha="center", va="center", fontsize=11, fontweight="bold",
                color="darkred", gid=f"edge-label {key}",
                bbox=dict(boxstyle="round,pad=0.08", facecolor="white", edgecolor="none"))
    for c, dy in zip(reber.BRANCH_SYMBOLS, (2.6, -2.6)):
        x = positions[reber.inner_state(c, 0)][0]
        ax.text(x - 0.3, dy + 1.15, f"Reber string after {c}", fontsize=9, color="dimgrey", ha="left")
    return fig


# ----------------------------------------------------------------------------------------------------------------
# The CERG connectivity


def cerg_connectivity_matrix(forget_gates: bool = True, kind: str = "cerg"):
    """The 0/1 matrix drawn by :func:`cerg_connectivity`, with its row and column names.

    Rows are the receiving units (forget gates, input gates, output gates, cells, output units), columns the
    sources: the inputs, the bias input ``1``, the gates' outputs, and the cell outputs.  An output unit's cell
    column is the cell output of the same step, :math:`y^c(t+1)`; all other units read :math:`\\tilde x(t)`.
    Built from :func:`lstm_lit.connectivity.masks` with the CERG sizes (``kind`` is its ``connectivity``).
    Returns ``(matrix, row_names, column_names)``.
    """
    sizes = connectivity.CERG_SIZES
    d_in, n_blk, d_blk, d_out = (sizes[k] for k in ("d_in", "n_blk", "d_blk", "d_out"))
    masks = connectivity.masks(**sizes, forget_gates=forget_gates, connectivity=kind)
    gate_names = (["fg"] if forget_gates else []) + ["ig", "og"]
    columns = ([f"x{j}" for j in range(d_in)] + ["1"]
               + [f"y{g}{k}" for g in gate_names for k in range(n_blk)]
               + [f"yc{k},{i}" for k in range(n_blk) for i in range(d_blk)])
    rows, blocks = [], []
    for g in gate_names:
        rows += [f"{g}{k}" for k in range(n_blk)]
        blocks.append(masks[f"W_{g}"])
    rows += [f"c{k},{i}" for k in range(n_blk) for i in range(d_blk)]
    blocks.append(masks["W_c"].reshape(n_blk * d_blk, -1))
    # W_out's sources are [x; 1; y^c(t+1)]: place them in the x, 1 and cell columns.
    out = np.zeros((d_out, len(columns)))
    out[:, : d_in + 1] = masks["W_out"][:, : d_in + 1]
    out[:, len(columns) - n_blk * d_blk:] = masks["W_out"][:, d_in + 1:]
    rows += [f"out{m}" for m in range(d_out)]
    blocks.append(out)
    return np.vstack(blocks), rows, columns


def _tex_unit(name: str) -> str:
    for prefix, tex in (("yfg", r"y^{\mathrm{fg}}_{%s}"), ("yig", r"y^{\mathrm{ig}}_{%s}"),
                        ("yog", r"y^{\mathrm{og}}_{%s}"), ("yc", r"y^{c}_{%s}"), ("fg", r"\mathrm{fg}_{%s}"),
                        ("ig", r"\mathrm{ig}_{%s}"), ("og", r"\mathrm{og}_{%s}"), ("out", r"y_{%s}"),
                        ("c", r"c_{%s}"), ("x", r"x_{%s}")):
        if name.startswith(prefix):
            return "$" + tex % name[len(prefix):] + "$"
    return f"${name}$"


def cerg_connectivity(forget_gates: bool = True, kind: str = "cerg") -> Figure:
    """The CERG network's connections (the paper's Figure 3) as a matrix: a filled square for every weight.

    Rows: the units that receive (per block ``k``: forget, input and output gate; the 8 cells; the 7 output units).
    Columns: the sources.  Grouping lines separate unit types.  The title gives the number of weights, 424 for the
    paper's network with forget gates.  ``kind="full"`` draws the full connectivity instead (for comparison).
    """
    matrix, rows, columns = cerg_connectivity_matrix(forget_gates, kind)
    fig, ax = plt.subplots(figsize=(8.2, 7.4))
    ax.imshow(matrix, cmap="Greys", vmin=0, vmax=1.4, interpolation="nearest", aspect="equal",
              gid="connectivity")
    ax.set_xticks(range(len(columns)), [_tex_unit(c) for c in columns], rotation=90, fontsize=8)
    ax.set_yticks(range(len(rows)), [_tex_unit(r) for r in rows], fontsize=8)
    ax.set_xlabel("source (the recurrent input $\\tilde{x}(t)$; for output units $y^c(t+1)$)")
    ax.set_ylabel("receiving unit")

    def groups(names, prefixes):
        bounds, current = [], None
        for n, name in enumerate(names):
            kind_of = next(p for p in prefixes if name.startswith(p))
            if kind_of != current:
                if current is not None:
                    bounds.append(n - 0.5)
                current = kind_of
        return bounds

    for b in groups(rows, ("fg", "ig", "og", "c", "out")):
        ax.axhline(b, color="steelblue", lw=1.0)
    for b in groups(columns, ("x", "1", "yfg", "yig", "yog", "yc")):
        ax.axvline(b, color="steelblue", lw=1.0)
    ax.set_xticks(np.arange(-0.5, len(columns)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(rows)), minor=True)
    ax.grid(which="minor", color="lightgrey", lw=0.4)
    ax.tick_params(which="minor", length=0)
    ax.set_title(f"{int(matrix.sum())} weights ({len(rows)} receiving units, {len(columns)} sources)", fontsize=11)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.14, top=0.95)  # fixed margins: no layout pass to pay for
    return fig

"""Reber, embedded Reber and continual embedded Reber grammars: the data of the CERG experiment.

The Reber grammar is a graph whose edges carry symbols; a string is a walk from state 0 to the final state 7::

    0 --B--> 1
    1 --T--> 2    1 --P--> 3
    2 --S--> 2    2 --X--> 4
    3 --T--> 3    3 --V--> 5
    4 --X--> 3    4 --S--> 6
    5 --P--> 4    5 --V--> 6
    6 --E--> 7

At every fork both edges have probability 1/2.  An *embedded* Reber string is ``B c <Reber string> c E`` with
``c`` in ``{T, P}`` chosen once; the second ``c`` is the long-range dependency.  A *continual* stream concatenates
embedded strings with no reset.  In the paper's extra experiment the outer ``B`` and ``E`` of every embedded string
are removed before concatenating (``outer_be=False`` below); the inner Reber string keeps its own ``B`` and ``E``.

Targets are multi-hot: for every position, the set of symbols that may legally come next.  Units follow the order
of :data:`SYMBOLS`.  Generators take a :class:`numpy.random.Generator` and never touch global random state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

SYMBOLS = "BTPSXVE"
"""The 7 symbols; this order is the order of the input and output units."""

SYMBOL_INDEX = {symbol: index for index, symbol in enumerate(SYMBOLS)}

REBER_START_STATE = 0
REBER_FINAL_STATE = 7
REBER_TRANSITIONS: dict[int, tuple[tuple[str, int], ...]] = {
    0: (("B", 1),),
    1: (("T", 2), ("P", 3)),
    2: (("S", 2), ("X", 4)),
    3: (("T", 3), ("V", 5)),
    4: (("X", 3), ("S", 6)),
    5: (("P", 4), ("V", 6)),
    6: (("E", 7),),
}
"""The Reber grammar: state -> ((symbol, next state), ...).  Each edge of a state is equally likely.
The final state 7 has no edges."""

BRANCH_SYMBOLS = "TP"
"""The symbol after the outer ``B`` of an embedded string, repeated before its outer ``E``."""

# States of the continual-stream automaton besides the inner Reber states (named by inner_state).
OUTER_START = "start"  # expects the outer B
OUTER_BRANCH = "branch"  # expects the opening T or P
OUTER_CLOSE = "close"  # expects the outer E


def inner_state(branch_symbol: str, reber_state: int) -> str:
    """Name of the automaton state "inside the Reber string of the ``branch_symbol`` branch, at ``reber_state``"."""
    return f"{branch_symbol}{reber_state}"


def string_start_state(outer_be: bool = True) -> str:
    """The automaton state in which every embedded string begins (and to which it returns when it ends)."""
    return OUTER_START if outer_be else OUTER_BRANCH


def continual_transitions(outer_be: bool = True) -> dict[str, tuple[tuple[str, str], ...]]:
    """The continual stream as a deterministic automaton: state -> ((symbol, next state), ...).

    Built from :data:`REBER_TRANSITIONS`.  A stream starts in :func:`string_start_state`; each return to that
    state ends one embedded string.  With ``outer_be=False`` the outer ``B`` and ``E`` are left out.
    Each edge of a state is equally likely, as in the generator.
    """
    after_closing_symbol = OUTER_CLOSE if outer_be else OUTER_BRANCH
    table: dict[str, tuple[tuple[str, str], ...]] = {}
    if outer_be:
        table[OUTER_START] = (("B", OUTER_BRANCH),)
    table[OUTER_BRANCH] = tuple((c, inner_state(c, REBER_START_STATE)) for c in BRANCH_SYMBOLS)
    for c in BRANCH_SYMBOLS:
        for state, edges in REBER_TRANSITIONS.items():
            table[inner_state(c, state)] = tuple((symbol, inner_state(c, nxt)) for symbol, nxt in edges)
        table[inner_state(c, REBER_FINAL_STATE)] = ((c, after_closing_symbol),)
    if outer_be:
        table[OUTER_CLOSE] = (("E", OUTER_START),)
    return table


# ----------------------------------------------------------------------------------------------------------------
# Input checking and encoding


_SYMBOL_SET = frozenset(SYMBOLS)


def _as_text(symbols: str | Iterable[str]) -> str:
    """Return ``symbols`` as a str of known symbols, or raise ValueError naming the first bad one."""
    if isinstance(symbols, str):
        text = symbols
    else:
        try:
            items = list(symbols)
        except TypeError:
            raise TypeError(
                f"symbols must be a str or an iterable of one-character str, not {type(symbols).__name__}"
            ) from None
        for position, item in enumerate(items):
            if not (isinstance(item, str) and len(item) == 1):
                raise ValueError(f"item {position} is {item!r}; expected one of the symbols {SYMBOLS!r}")
        text = "".join(items)
    if not _SYMBOL_SET.issuperset(text):
        position, bad = next((i, s) for i, s in enumerate(text) if s not in _SYMBOL_SET)
        raise ValueError(f"unknown symbol {bad!r} at position {position}; the symbols are {SYMBOLS!r} (upper case)")
    return text


_CODE_TO_INDEX = np.full(128, -1, dtype=np.int64)
for _index, _symbol in enumerate(SYMBOLS):
    _CODE_TO_INDEX[ord(_symbol)] = _index
_SYMBOL_BYTES = np.frombuffer(SYMBOLS.encode("ascii"), dtype=np.uint8)


def _indices(text: str) -> np.ndarray:
    """Unit indices (order :data:`SYMBOLS`) of a str already checked by :func:`_as_text`."""
    return _CODE_TO_INDEX[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]


def _text(indices: np.ndarray) -> str:
    return _SYMBOL_BYTES[indices].tobytes().decode("ascii")


def _one_hot(indices: np.ndarray) -> np.ndarray:
    one_hot = np.zeros((indices.size, len(SYMBOLS)))
    one_hot[np.arange(indices.size), indices] = 1.0
    return one_hot


def encode(symbols: str | Iterable[str]) -> np.ndarray:
    """One-hot encoding, float64 array of shape ``(n, 7)``, units in the order :data:`SYMBOLS`."""
    return _one_hot(_indices(_as_text(symbols)))


def _check_rows(array: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[1] != len(SYMBOLS):
        raise ValueError(f"{what} must have shape (n, {len(SYMBOLS)}), got {array.shape}")
    if not np.isin(array, (0, 1)).all():
        row = int(np.argmin(np.isin(array, (0, 1)).all(axis=1)))
        raise ValueError(f"{what} row {row} is {array[row].tolist()}; entries must be 0 or 1")
    return array


def decode(one_hot: np.ndarray) -> str:
    """Inverse of :func:`encode`; every row must contain exactly one 1."""
    one_hot = _check_rows(one_hot, "one-hot array")
    ones_per_row = one_hot.sum(axis=1)
    if not (ones_per_row == 1).all():
        row = int(np.argmax(ones_per_row != 1))
        raise ValueError(f"one-hot row {row} is {one_hot[row].tolist()}; it must contain exactly one 1")
    return _text(np.argmax(one_hot, axis=1))


def decode_targets(targets: np.ndarray) -> list[str]:
    """Multi-hot target rows as strings of symbols, e.g. ``[0, 1, 1, 0, 0, 0, 0] -> "TP"``."""
    targets = _check_rows(targets, "target array")
    return ["".join(s for s, unit in zip(SYMBOLS, row) if unit) for row in targets]


# ----------------------------------------------------------------------------------------------------------------
# Generators


def _check_rng(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (numpy.random.default_rng(seed)), not {type(rng).__name__}"
        )


def reber_string(rng: np.random.Generator) -> str:
    """One Reber string, e.g. ``"BTXSE"``: a walk through :data:`REBER_TRANSITIONS`."""
    _check_rng(rng)
    state, symbols = REBER_START_STATE, []
    while state != REBER_FINAL_STATE:
        edges = REBER_TRANSITIONS[state]
        symbol, state = edges[int(rng.integers(len(edges)))] if len(edges) > 1 else edges[0]
        symbols.append(symbol)
    return "".join(symbols)


def embedded_reber_string(rng: np.random.Generator) -> str:
    """One embedded Reber string ``B c <Reber string> c E``, ``c`` in ``{T, P}`` with probability 1/2 each."""
    _check_rng(rng)
    c = BRANCH_SYMBOLS[int(rng.integers(len(BRANCH_SYMBOLS)))]
    return f"B{c}{reber_string(rng)}{c}E"


@dataclass(frozen=True, eq=False)
class ReberStream:
    """A piece of a continual stream with its targets.

    ``indices[t]`` is the unit index (order :data:`SYMBOLS`) of the symbol input at step ``t``; ``targets[t]`` is the
    multi-hot set of symbols that may legally follow it; ``string_starts`` lists the steps at which an embedded
    string begins (the places for an external reset).
    """

    indices: np.ndarray
    targets: np.ndarray
    string_starts: np.ndarray
    outer_be: bool

    def __len__(self) -> int:
        return int(self.indices.size)

    @property
    def symbols(self) -> str:
        """The stream as a str."""
        return _text(self.indices)

    @property
    def inputs(self) -> np.ndarray:
        """One-hot inputs, float64 ``(n, 7)``."""
        return _one_hot(self.indices)


def _arrays_for_generation():
    """Tables used by the vectorised generator, all derived from REBER_TRANSITIONS and continual_transitions."""
    n_reber_states = REBER_FINAL_STATE + 1
    # Column = coin (0 or 1); a state with one edge uses it for both coins.
    next_state = np.full((n_reber_states, 2), REBER_FINAL_STATE, dtype=np.int64)
    emitted = np.zeros((n_reber_states, 2), dtype=np.int64)
    for state, edges in REBER_TRANSITIONS.items():
        if len(edges) not in (1, 2):
            raise ValueError(f"Reber state {state} has {len(edges)} edges; the generator handles 1 or 2")
        for coin in (0, 1):
            symbol, nxt = edges[coin % len(edges)]
            next_state[state, coin] = nxt
            emitted[state, coin] = SYMBOL_INDEX[symbol]
    per_variant = {}
    for outer_be in (True, False):
        table = continual_transitions(outer_be)
        names = list(table)
        legal = np.zeros((len(names), len(SYMBOLS)))
        for row, name in enumerate(names):
            for symbol, _ in table[name]:
                legal[row, SYMBOL_INDEX[symbol]] = 1.0
        number = {name: row for row, name in enumerate(names)}
        inner = np.array([[number[inner_state(c, s)] for s in range(n_reber_states)] for c in BRANCH_SYMBOLS])
        after_closing = number[OUTER_CLOSE if outer_be else OUTER_BRANCH]
        outer = (number[OUTER_BRANCH], number[OUTER_START]) if outer_be else None
        per_variant[outer_be] = (legal, inner, after_closing, outer)
    return next_state, emitted, per_variant


_NEXT_STATE, _EMITTED, _STREAM_TABLES = _arrays_for_generation()
_BRANCH_INDICES = np.array([SYMBOL_INDEX[c] for c in BRANCH_SYMBOLS])
STRINGS_PER_CHUNK = 1024
"""Embedded strings per chunk of :func:`iter_continual_stream` (about 12,000 symbols)."""


def _continual_chunk(rng: np.random.Generator, n_strings: int, outer_be: bool) -> ReberStream:
    """``n_strings`` embedded strings, walked in lockstep and concatenated (vectorised over strings)."""
    branch = rng.integers(len(BRANCH_SYMBOLS), size=n_strings)
    # Walk all Reber strings at once; record (string, step, symbol, state after the symbol) for every symbol.
    # `active` lists the strings not yet finished and `state` their current Reber states.
    who_steps, symbol_steps, state_steps = [], [], []
    active = np.arange(n_strings)
    state = np.full(n_strings, REBER_START_STATE, dtype=np.int64)
    while active.size:
        coin = rng.integers(2, size=active.size)
        symbol_steps.append(_EMITTED[state, coin])
        state = _NEXT_STATE[state, coin]
        who_steps.append(active)
        state_steps.append(state)
        running = state != REBER_FINAL_STATE
        active, state = active[running], state[running]
    step = np.concatenate([np.full(w.size, k) for k, w in enumerate(who_steps)])
    who = np.concatenate(who_steps)
    reber_lengths = np.bincount(who, minlength=n_strings)

    head = 2 if outer_be else 1  # symbols before the Reber string: "B c" or "c"
    tail = 2 if outer_be else 1  # symbols after it: "c E" or "c"
    lengths = reber_lengths + head + tail
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    ends = starts + lengths
    legal, inner, after_closing, outer = _STREAM_TABLES[outer_be]

    indices = np.empty(int(lengths.sum()), dtype=np.int64)
    automaton_state = np.empty_like(indices)
    inner_positions = starts[who] + head + step
    indices[inner_positions] = np.concatenate(symbol_steps)
    automaton_state[inner_positions] = inner[branch[who], np.concatenate(state_steps)]
    opening, closing = starts + head - 1, ends - tail
    indices[opening] = indices[closing] = _BRANCH_INDICES[branch]
    automaton_state[opening] = inner[branch, REBER_START_STATE]
    automaton_state[closing] = after_closing
    if outer_be:
        after_b, after_e = outer
        indices[starts], indices[ends - 1] = SYMBOL_INDEX["B"], SYMBOL_INDEX["E"]
        automaton_state[starts], automaton_state[ends - 1] = after_b, after_e
    return ReberStream(indices=indices, targets=legal[automaton_state], string_starts=starts, outer_be=outer_be)


def iter_continual_stream(
    rng: np.random.Generator, *, outer_be: bool = True, strings_per_chunk: int = STRINGS_PER_CHUNK
) -> Iterator[ReberStream]:
    """Endless continual stream, lazily, as chunks of ``strings_per_chunk`` whole embedded strings.

    ``string_starts`` of each chunk count from the chunk's first symbol.  ``outer_be=False`` drops the outer
    ``B``/``E`` of every embedded string (the same random draws give the same strings otherwise).
    """
    _check_rng(rng)
    if not (isinstance(strings_per_chunk, (int, np.integer)) and strings_per_chunk > 0):
        raise ValueError(f"strings_per_chunk must be a positive int, got {strings_per_chunk!r}")
    return _endless_chunks(rng, int(strings_per_chunk), bool(outer_be))


def _endless_chunks(rng: np.random.Generator, strings_per_chunk: int, outer_be: bool) -> Iterator[ReberStream]:
    while True:
        yield _continual_chunk(rng, strings_per_chunk, outer_be)


def continual_stream(rng: np.random.Generator, n_symbols: int, *, outer_be: bool = True) -> ReberStream:
    """The first ``n_symbols`` symbols of a continual stream (the last embedded string may be cut off).

    The target of the last symbol is still its set of legal successors.  A shorter stream from the same seed is
    a prefix of a longer one.
    """
    _check_rng(rng)
    if not (isinstance(n_symbols, (int, np.integer)) and not isinstance(n_symbols, bool) and n_symbols >= 0):
        raise ValueError(f"n_symbols must be a non-negative int, got {n_symbols!r}")
    chunks, total = [], 0
    chunk_iterator = iter_continual_stream(rng, outer_be=outer_be)
    while total < n_symbols:
        chunk = next(chunk_iterator)
        chunks.append((chunk, total))
        total += len(chunk)
    if not chunks:
        empty = np.zeros(0, dtype=np.int64)
        return ReberStream(empty, np.zeros((0, len(SYMBOLS))), empty, bool(outer_be))
    starts = np.concatenate([chunk.string_starts + offset for chunk, offset in chunks])
    return ReberStream(
        indices=np.concatenate([chunk.indices for chunk, _ in chunks])[:n_symbols],
        targets=np.concatenate([chunk.targets for chunk, _ in chunks])[:n_symbols],
        string_starts=starts[starts < n_symbols],
        outer_be=bool(outer_be),
    )


# ----------------------------------------------------------------------------------------------------------------
# Recognisers


_AUTOMATA = {
    outer_be: {state: dict(edges) for state, edges in continual_transitions(outer_be).items()}
    for outer_be in (True, False)
}
_REBER_AUTOMATON = {state: dict(edges) for state, edges in REBER_TRANSITIONS.items()}


def _in_unit_order(symbols: Iterable[str]) -> str:
    return "".join(sorted(symbols, key=SYMBOL_INDEX.__getitem__))


def is_reber(symbols: str | Iterable[str]) -> bool:
    """True if ``symbols`` is exactly one Reber string (from ``B`` to ``E``)."""
    state = REBER_START_STATE
    for symbol in _as_text(symbols):
        state = _REBER_AUTOMATON.get(state, {}).get(symbol)
        if state is None:
            return False
    return state == REBER_FINAL_STATE


@dataclass(frozen=True)
class StreamParse:
    """What :func:`parse_continual_stream` found.

    ``valid_prefix``: every symbol is legal after the ones before it.  ``complete``: in addition, the input ends
    exactly where an embedded string ends.  ``string_starts``: where each embedded string begins (up to the error).
    ``error_position``: index of the first illegal symbol, or None.  ``legal_next``: the symbols allowed at
    ``error_position``, or after the last symbol when there is no error (in the order of :data:`SYMBOLS`).
    """

    valid_prefix: bool
    complete: bool
    string_starts: tuple[int, ...]
    error_position: int | None
    legal_next: str


def parse_continual_stream(symbols: str | Iterable[str], *, outer_be: bool = True) -> StreamParse:
    """Walk a continual stream (a concatenation of embedded Reber strings) through its automaton."""
    automaton = _AUTOMATA[bool(outer_be)]
    start = string_start_state(outer_be)
    state, string_starts = start, []
    for position, symbol in enumerate(_as_text(symbols)):
        if state == start:
            string_starts.append(position)
        nxt = automaton[state].get(symbol)
        if nxt is None:
            return StreamParse(False, False, tuple(string_starts), position, _in_unit_order(automaton[state]))
        state = nxt
    return StreamParse(True, state == start, tuple(string_starts), None, _in_unit_order(automaton[state]))


def is_embedded_reber(symbols: str | Iterable[str]) -> bool:
    """True if ``symbols`` is exactly one embedded Reber string ``B c <Reber string> c E``."""
    parse = parse_continual_stream(symbols, outer_be=True)
    return parse.complete and len(parse.string_starts) == 1


def is_continual_stream(
    symbols: str | Iterable[str], *, outer_be: bool = True, allow_prefix: bool = False
) -> bool:
    """True if ``symbols`` is a concatenation of embedded Reber strings (the empty str is the empty concatenation).

    ``allow_prefix=True`` also accepts a stream that stops in the middle of a string.  ``outer_be=False``: the
    strings have no outer ``B``/``E``.
    """
    parse = parse_continual_stream(symbols, outer_be=outer_be)
    return parse.valid_prefix if allow_prefix else parse.complete

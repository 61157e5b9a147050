"""Numerical gradient checking: is your backward pass right?

Three ways to check an analytic gradient against finite differences in float64
(h = 1e-5), taken on five points around x (the centered difference
``(f(x + h) - f(x - h)) / 2h`` refined by the three inner points, see Kinks):

- ``"full"``: every entry (4 forward calls per entry, more near kinks);
- ``"sampled"``: a seeded random sample of entries (cheap, but can miss a bug that
  touches few entries, such as one wrong column);
- ``"projection"``: random directions u (one by default), comparing ``<analytic, u>``
  with the finite difference along u: 5 forward calls per input whatever its size, and
  a wrong entry anywhere shows up, since a random u is almost never orthogonal to the
  error (PyTorch's fast gradcheck, JAX's check_grads). A direction that crosses a kink
  is split into halves until the parts are kink-free, so only entries at kinks are
  left out.

Thresholds (relative errors, see `rel_error`), after cs231n: above ``RTOL_WRONG``
(1e-2) the gradient is wrong; below ``RTOL_OK`` (1e-6) it is right; in between it is
suspicious and the check does not pass. Correct float64 backward passes usually
land near 1e-10.

The step is h relative to the entry's size, h * max(1, |x|), so that large scores
(1e3) still move by more than their rounding error.

Kinks. relu at 0, a hinge margin at 0 or a tie in a max are points where the function
has no derivative; if x +- h straddles one, the finite difference is meaningless.
Each finite difference is therefore taken on five unevenly spaced points
(x - h, x - 0.6h, x, x + 0.3h, x + h): for a smooth function the slope between
neighbouring points is a linear function of where it is taken, a kink breaks that.
(Uneven, because on an even grid three equal kinks at the grid points look exactly like a
smooth parabola: three hinge margins at -h/2, 0 and h/2 fooled the even stencil.) On a
jump the step is shrunk (h/10, h/100) and, if the kink is still inside, the entry is
left out and counted in the report. This only looks at the forward function, so a
wrong backward pass cannot hide behind it.

The high-level calls, `check_backward` and `check_loss`, return a `GradReport` that
prints as a short table, renders as HTML in a notebook and raises with the same
text through ``report.assert_ok()``.
"""

from __future__ import annotations

import copy
import html
import inspect
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "H",
    "RTOL_OK",
    "RTOL_WRONG",
    "GradReport",
    "InputCheck",
    "check_backward",
    "check_gradients",
    "check_loss",
    "numerical_gradient",
    "numerical_gradient_array",
    "rel_error",
]

H = 1e-5
RTOL_OK = 1e-6
RTOL_WRONG = 1e-2
#: Relative errors use max(|a| + |n|, floor) as denominator so they are never nan.
#: The floor is FLOOR_ABS or FLOOR_REL times the largest gradient entry, whichever is
#: larger: an entry that should be 0 is judged at the scale of the whole gradient.
FLOOR_ABS = 1e-8
FLOOR_REL = 1e-6
#: Above this many entries, method="auto" switches from "full" to "projection".
AUTO_FULL_MAX = 2000
_EPS = np.finfo(np.float64).eps


def rel_error(a, b, floor=FLOOR_ABS):
    """Largest elementwise relative error |a - b| / max(|a| + |b|, floor); never nan."""
    a = np.atleast_1d(np.asarray(a, dtype=np.float64))
    b = np.atleast_1d(np.asarray(b, dtype=np.float64))
    if a.size == 0:
        return 0.0
    err = _elementwise_rel_error(a, b, floor)
    return float(err.max())


def _elementwise_rel_error(a, b, floor, noise=0.0):
    a, b = np.broadcast_arrays(a, b)
    # nan or inf anywhere is as wrong as it gets; computed apart, since inf - inf would
    # warn, and a warning in a graded cell costs the student the points
    finite = np.isfinite(a) & np.isfinite(b)
    err = np.full(a.shape, np.inf)
    noise = np.broadcast_to(noise, a.shape)[finite]
    diff = np.maximum(np.abs(a[finite] - b[finite]) - noise, 0.0)
    err[finite] = diff / np.maximum(np.abs(a[finite]) + np.abs(b[finite]), floor)
    return err


def _require_float64(name, x):
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise TypeError(
            f"gradient checks run in float64, but {name} has dtype {x.dtype}: "
            f"pass {name}.astype(np.float64)"
        )
    return x


# --- finite differences -------------------------------------------------------------


class _Counted:
    """Wrap a scalar function of one array and count its calls."""

    def __init__(self, fun):
        self.fun, self.calls = fun, 0

    def __call__(self, x):
        self.calls += 1
        return float(self.fun(x))


#: Where the five-point stencil samples, in units of h. Uneven on purpose: on an even grid
#: three equal kinks at -h/2, 0 and h/2 (three hinge margins within h/2 of 0, say) make
#: slopes that change linearly, exactly like a smooth quadratic, and hide the kinks.
_STENCIL = (-1.0, -0.6, 0.0, 0.3, 1.0)
#: Weights of the derivative at 0 of the polynomial through the five stencil points: exact
#: up to O(h^4), where the plain centered difference is O(h^2). That matters for scores of
#: size 1e3, whose relative step (1e-2) makes the centered difference's error visible.
_WEIGHTS = np.linalg.solve(np.vander(np.array(_STENCIL), 5, increasing=True).T, np.eye(5)[1])


def _five_point(fun, x, direction, h, f0):
    """Centered difference of fun along `direction` with step h, and a kink flag.

    `direction` is an index into x (one entry) or an array shaped like x. x is
    perturbed in place and restored, so it must be a private copy.

    Smooth f: the slope between neighbouring stencil points is (to O(h^2)) a linear
    function of the interval's midpoint. A kink inside [-h, h] breaks that linearity.
    """

    def at(t):
        if isinstance(direction, np.ndarray):
            return fun(x + t * direction)
        old = x[direction]
        x[direction] = old + t
        try:
            return fun(x)
        finally:
            x[direction] = old

    ts = np.array(_STENCIL) * h
    fs = np.array([f0 if t == 0 else at(t) for t in ts])
    slopes = np.diff(fs) / np.diff(ts)
    mids = (ts[1:] + ts[:-1]) / 2
    # second divided differences of the slopes, scaled back to slope units
    curv = np.diff(slopes) / np.diff(mids)
    jumps = np.abs(np.diff(curv)) * (mids[1] - mids[0])
    scale = np.abs(slopes).max()
    fmax = max(np.abs(fs).max(), 1e-300)
    noise = 32 * _EPS * fmax / np.diff(ts).min()
    kink = bool(jumps.max() > RTOL_OK * scale + noise)
    # rounding error of the difference itself: differences below it mean nothing
    return float(_WEIGHTS @ fs) / h, 8 * _EPS * fmax * np.abs(_WEIGHTS).sum() / h, kink


def _directional(fun, x, direction, h, f0, shrinks=2):
    """Finite difference along `direction` and its rounding error, shrinking h on kinks.

    Returns (value, rounding error), or None if a kink stays inside x +- h.

    The step is h relative to the size of the entries moved (h * max(1, |x|)), so that
    scores of magnitude 1e3 still move by more than their rounding error.
    """
    if isinstance(direction, np.ndarray):
        h = h * max(1.0, float(np.abs(x).max(initial=0.0)))
    else:
        h = h * max(1.0, abs(float(x[direction])))
    for k in range(shrinks + 1):
        value, noise, kink = _five_point(fun, x, direction, h / 10**k, f0)
        if not kink:
            return value, noise
    return None


def _plain_gradient(fun, x, h):
    """Centered differences of scalar fun at every entry of x (2 calls per entry)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        fp = fun(x)
        x[idx] = old - h
        fm = fun(x)
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * h)
    return grad


def numerical_gradient(f, x, h=H):
    """Gradient of a scalar function f at x by centered differences. x: float64, any shape.

    Returns an array shaped like x. f is called on a private copy of x.
    """
    x = _require_float64("x", x)
    return _plain_gradient(lambda z: float(f(z)), x, h)


def numerical_gradient_array(f, x, dout, h=H):
    """Gradient of sum(f(x) * dout) at x: what a backward pass returns for upstream dout.

    f maps an array x (any shape, float64) to an array shaped like dout.
    Returns an array shaped like x.
    """
    x = _require_float64("x", x)
    dout = _require_float64("dout", dout)
    return _plain_gradient(lambda z: float(np.sum(f(z) * dout)), x, h)


# --- reports --------------------------------------------------------------------------


@dataclass
class InputCheck:
    """The verdict on the gradient of one input."""

    name: str
    shape: tuple
    max_error: float | None = None
    worst: str = ""  # where the largest error is, "[2, 3]" or "direction 1"
    analytic_at_worst: float | None = None
    numeric_at_worst: float | None = None
    checked: int = 0  # entries or directions compared
    skipped: int = 0  # left out because a kink stayed inside x +- h
    problems: list = field(default_factory=list)
    hint: str = ""

    @property
    def verdict(self):
        if self.problems and self.max_error is None:
            return "error"
        if self.max_error is None:
            return "unchecked"
        if self.problems or self.max_error > RTOL_WRONG:
            return "wrong"
        return "ok" if self.max_error <= RTOL_OK else "suspicious"


@dataclass
class GradReport:
    """Result of a gradient check: one `InputCheck` per input, plus general problems."""

    title: str
    method: str
    inputs: list
    problems: list = field(default_factory=list)
    forward_calls: int = 0
    #: warnings the checked function emitted: shown, but not held against it
    warnings: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems and all(c.verdict == "ok" for c in self.inputs)

    @property
    def max_error(self):
        errs = [c.max_error for c in self.inputs if c.max_error is not None]
        return max(errs) if errs else None

    def summary(self):
        """One line a student understands: right, or what to look at first."""
        if self.ok:
            err = self.max_error
            return f"OK: {self.title} matches finite differences (max relative error {err:.1e})."
        first = self.problems[:1] or [
            f"{c.name}: {c.hint or _verdict_text(c)}" for c in self.inputs if c.verdict != "ok"
        ][:1]
        return f"NOT YET: {self.title}: {first[0]}"

    def _rows(self):
        for c in self.inputs:
            err = "-" if c.max_error is None else f"{c.max_error:.1e}"
            extra = f" ({c.skipped} at kinks skipped)" if c.skipped else ""
            yield (c.name, "x".join(map(str, c.shape)) or "scalar", err, c.worst,
                   f"{c.checked}{extra}", c.verdict)

    _HEAD = ("input", "shape", "max rel err", "worst at", "checked", "verdict")

    def __str__(self):
        rows = [self._HEAD, *self._rows()]
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(self._HEAD))]
        lines = [self.summary(), ""]
        lines += ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
        notes = list(self.problems)
        for c in self.inputs:
            notes += [f"{c.name}: {p}" for p in c.problems]
            if c.verdict != "ok" and c.analytic_at_worst is not None:
                notes.append(
                    f"{c.name}{c.worst if c.worst.startswith('[') or not c.worst else ' ' + c.worst}: "
                    f"yours {c.analytic_at_worst:.6g}, finite differences {c.numeric_at_worst:.6g}"
                )
            if c.hint:
                notes.append(f"{c.name}: {c.hint}")
        notes += [f"note: {w} (a warning costs nothing, but look at why)" for w in self.warnings]
        lines += ["", *notes] if notes else []
        lines.append(f"method: {self.method}, {self.forward_calls} forward calls")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        color = "#1a7f37" if self.ok else "#cf222e"
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._HEAD)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
            for row in self._rows()
        )
        # the text's notes, between the table and its last line (the method, shown below)
        notes = str(self).rsplit("\n", 1)[0].split("\n\n", 2)[2:] if not self.ok else []
        pre = f"<pre>{html.escape(notes[0])}</pre>" if notes else ""
        return (
            f'<div><p style="color:{color};font-weight:bold">{html.escape(self.summary())}</p>'
            f"<table><tr>{head}</tr>{body}</table>{pre}"
            f"<p><small>method: {self.method}, {self.forward_calls} forward calls</small></p></div>"
        )

    def assert_ok(self):
        """Raise AssertionError with the report's text unless every gradient is right."""
        if not self.ok:
            raise AssertionError(str(self))
        return self


def _verdict_text(c):
    if c.problems:
        return c.problems[0]
    if c.max_error is None:
        return ("could not be checked: every entry tried sits at a kink (relu input or hinge "
                "margin at 0); use inputs away from kinks")
    if c.verdict == "wrong":
        return f"does not match finite differences (max relative error {c.max_error:.1e})"
    return f"is close but not right (max relative error {c.max_error:.1e}, needs < {RTOL_OK:g})"


def _hint(name, analytic, numeric, err):
    """A guess at the usual mistake, from the full analytic and numeric gradients."""
    if not np.all(np.isfinite(analytic)):
        return f"d{name} contains nan or inf: an overflow? (shift scores by their row max)"
    nn, aa = float(np.vdot(numeric, numeric)), float(np.vdot(analytic, analytic))
    if aa == 0 and nn > 0:
        return f"d{name} is all zeros"
    if nn > 0 and aa > 0:
        c = float(np.vdot(numeric, analytic)) / nn
        if abs(c - 1) > 1e-3 and np.linalg.norm(analytic - c * numeric) <= 1e-6 * np.sqrt(aa):
            if abs(c + 1) < 1e-6:
                return f"d{name} has the sign flipped"
            size = f"{c:.4g}x too large" if abs(c) > 1 else f"{1 / c:.4g}x too small"
            return f"d{name} has the right direction but is {size}: a missing or extra factor (1/N? upstream gradient?)"
    bad = err > RTOL_WRONG
    if analytic.ndim == 2 and bad.sum() > 1:
        rows, cols = np.nonzero(bad)
        if len(set(cols)) == 1:
            return f"only column {cols[0]} of d{name} is wrong"
        if len(set(rows)) == 1:
            return f"only row {rows[0]} of d{name} is wrong"
    if bad.sum() == 1:
        return f"only one entry of d{name} is wrong"
    return ""


# --- the checks -----------------------------------------------------------------------


def _choose(method, size):
    if method == "auto":
        return "full" if size <= AUTO_FULL_MAX else "projection"
    if method not in ("full", "sampled", "projection"):
        raise ValueError(f"method must be 'auto', 'full', 'sampled' or 'projection', got {method!r}")
    return method


def _compare_one(c, fun, x, analytic, method, rng, h, samples, directions):
    """Fill InputCheck c by comparing `analytic` with finite differences of fun at x."""
    x = np.array(x, dtype=np.float64)  # private copy, perturbed in place
    f0 = fun(x)
    method = _choose(method, x.size)
    if method == "projection":
        worst = (-1.0, None)
        floor = max(FLOOR_ABS, FLOOR_REL * float(np.linalg.norm(analytic)))
        for k in range(directions):
            u = rng.standard_normal(x.shape)
            # A kink along u (a relu input at 0, a hinge margin at 0) makes the difference
            # meaningless; split u's support in halves until each part is kink-free, so
            # only the entries sitting at kinks are left out (a few extra calls per kink).
            parts = [np.arange(x.size)]
            piece = 0
            while parts:
                support = parts.pop()
                v = np.zeros(x.size)
                v[support] = u.ravel()[support]
                v = v.reshape(x.shape)
                v /= np.linalg.norm(v) or 1.0
                got = _directional(fun, x, v, h, f0)
                if got is None:
                    if support.size == 1:
                        c.skipped += 1
                    else:
                        half = support.size // 2
                        parts += [support[half:], support[:half]]
                    continue
                num, noise = got
                ana = float(np.vdot(analytic, v))
                e = float(_elementwise_rel_error(np.array([ana]), np.array([num]), floor, noise)[0])
                c.checked += 1
                label = f"direction {k}" if support.size == x.size else f"direction {k}.{piece}"
                piece += 1
                if e > worst[0]:
                    worst = (e, (label, ana, num))
        if worst[1] is not None:
            c.max_error = worst[0]
            c.worst, c.analytic_at_worst, c.numeric_at_worst = worst[1]
        return method
    if method == "full":
        entries = list(np.ndindex(x.shape))
    else:
        flat = rng.choice(x.size, size=min(samples, x.size), replace=False)
        entries = [np.unravel_index(i, x.shape) for i in flat]
    numeric, noise = np.full(x.shape, np.nan), np.zeros(x.shape)
    for idx in entries:
        got = _directional(fun, x, idx, h, f0)
        if got is None:
            c.skipped += 1
        else:
            numeric[idx], noise[idx] = got
    mask = ~np.isnan(numeric)
    c.checked = int(mask.sum())
    if not mask.any():
        return method
    ana_abs = np.abs(analytic[np.isfinite(analytic)])
    scale = max(ana_abs.max() if ana_abs.size else 0.0, np.abs(numeric[mask]).max())
    err = np.zeros(x.shape)
    floor = max(FLOOR_ABS, FLOOR_REL * scale)
    err[mask] = _elementwise_rel_error(analytic[mask], numeric[mask], floor, noise[mask])
    worst = np.unravel_index(int(np.argmax(err)), x.shape)
    c.max_error = float(err[worst])
    c.worst = "[" + ", ".join(str(int(i)) for i in worst) + "]" if worst else ""
    c.analytic_at_worst, c.numeric_at_worst = float(analytic[worst]), float(numeric[worst])
    if method == "full" and c.max_error > RTOL_OK and not c.skipped:
        c.hint = _hint(c.name, analytic, numeric, err)
    return method


def _check_analytic_shape(c, grad, x):
    """Record shape, dtype and finiteness problems of one analytic gradient; True if comparable."""
    if grad is None:
        c.problems.append(f"no gradient returned for {c.name}")
        return False
    grad = np.asarray(grad)
    if grad.dtype == object or not np.issubdtype(grad.dtype, np.number):
        c.problems.append(f"d{c.name} is not an array of numbers (dtype {grad.dtype})")
        return False
    if grad.shape != x.shape:
        msg = f"d{c.name} has shape {grad.shape}, expected {x.shape} (the shape of {c.name})"
        if grad.ndim == 2 and grad.shape[::-1] == x.shape:
            msg += ": transposed?"
        c.problems.append(msg)
        return False
    if grad.dtype != np.float64:
        c.problems.append(f"d{c.name} has dtype {grad.dtype}, expected float64")
    if not np.all(np.isfinite(grad)):
        c.problems.append(f"d{c.name} contains nan or inf")
    return True


def check_gradients(f, inputs, grads, names=None, *, method="auto", seed=0, h=H,
                    samples=10, directions=1, title="gradient"):
    """Compare analytic gradients with finite differences of a scalar function.

    f(*inputs) -> float; inputs: float64 arrays; grads: the analytic gradient of
    f with respect to each input, in the same order. Returns a `GradReport`.
    """
    names = names or _default_names(len(inputs))
    grads = list(grads)
    if not len(names) == len(inputs) == len(grads):
        raise ValueError(
            f"check_gradients needs one gradient and one name per input: got {len(inputs)} "
            f"inputs, {len(grads)} gradients and {len(names)} names"
        )
    inputs = [_require_float64(n, x) for n, x in zip(names, inputs)]
    rng = np.random.default_rng(seed)
    report = GradReport(title=title, method=method, inputs=[])
    used = set()
    for i, (name, x, g) in enumerate(zip(names, inputs, grads)):
        c = InputCheck(name=name, shape=x.shape)
        report.inputs.append(c)
        if not _check_analytic_shape(c, g, x):
            continue

        def fun_i(z, i=i):
            args = list(inputs)
            args[i] = z
            return f(*args)

        counted = _Counted(fun_i)
        used.add(_compare_one(c, counted, x, np.asarray(g, dtype=np.float64), method, rng, h,
                              samples, directions))
        report.forward_calls += counted.calls
    report.method = "/".join(sorted(used)) or method
    return report


def _default_names(n):
    return [f"x{i}" for i in range(n)]


def _param_names(fn, n):
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return (params + _default_names(n))[:n] if len(params) >= n else _default_names(n)


def _snapshot(obj):
    return copy.deepcopy(obj)


def _same(a, b):
    """Deep equality of nested tuples/lists/dicts of arrays and scalars (nan equals nan)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b) or (a != a and b != b)
    except (TypeError, ValueError):
        return a is b


def _call_quietly(report, what, fn, *args):
    """Call fn, keeping the warnings it emits in the report instead of on stderr.

    A warning is not a wrong answer (an overflow that matters shows up as nan or inf),
    and in a graded notebook cell anything on stderr would cost the student the points.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    for w in caught:
        report.warnings.append(f"{what} warned: {w.category.__name__}: {w.message}")
    return result


def check_backward(forward, backward, *inputs, dout=None, method="auto", seed=0, h=H,
                   samples=10, directions=1, names=None, title=None):
    """Check ``backward`` against finite differences of ``forward``.

    forward(*inputs) -> (out, cache); backward(dout, cache) -> one gradient per
    float64 array input (a tuple, or a single array when there is one input).
    Non-array inputs (such as a leaky relu's alpha) are passed through unchecked.
    dout: upstream gradient shaped like out; a seeded standard normal one by default.

    Also reports gradients of the wrong shape or dtype, warnings, and a forward or
    backward pass that modified its inputs, dout or cache. Returns a `GradReport`.
    """
    title = title or getattr(backward, "__name__", "backward")
    all_names = names or _param_names(forward, len(inputs))
    diff = [i for i, x in enumerate(inputs) if isinstance(x, np.ndarray)]
    for i in diff:
        _require_float64(all_names[i], inputs[i])
    report = GradReport(title=title, method=method, inputs=[])
    before = _snapshot(inputs)
    out, cache = forward(*inputs)
    out = np.asarray(out, dtype=np.float64)
    if dout is None:
        # a stream of its own: drawn from default_rng(seed) it would equal the first
        # projection direction, and the inputs of a caller who seeds with the same number
        dout = np.random.default_rng([seed, 1]).standard_normal(out.shape)
    dout = _require_float64("dout", dout)
    cache_before, dout_before = _snapshot(cache), dout.copy()
    grads = _call_quietly(report, "backward", backward, dout, cache)
    if not _same(cache, cache_before):
        report.problems.append("backward modified the cache: work on copies (x.copy()) instead")
    if not np.array_equal(dout, dout_before):
        report.problems.append("backward modified dout: work on a copy (dout.copy())")
    if not _same(inputs, before):
        report.problems.append("the inputs were modified in place")
    if len(diff) == 1 and not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if not isinstance(grads, (tuple, list)) or len(grads) != len(diff):
        got = len(grads) if isinstance(grads, (tuple, list)) else "1"
        report.problems.append(
            f"backward returned {got} gradient(s), expected {len(diff)}: "
            + ", ".join("d" + all_names[i] for i in diff)
        )
        return report

    # Finite differences at the inputs and dout as they were before the calls: a pass that
    # zeroed entries in place must not move the point where its gradient is judged.
    def scalar(*xs):
        args = list(before)
        for i, x in zip(diff, xs):
            args[i] = x
        return float(np.sum(np.asarray(forward(*args)[0]) * dout_before))

    sub = check_gradients(scalar, [before[i] for i in diff], list(grads),
                          names=[all_names[i] for i in diff], method=method, seed=seed, h=h,
                          samples=samples, directions=directions, title=title)
    sub.problems = report.problems + sub.problems
    sub.warnings = report.warnings + sub.warnings
    return sub


def check_loss(loss_fn, x, y, *, reference=None, method="auto", seed=0, h=H, samples=10,
               directions=1, title=None):
    """Check a loss function ``loss_fn(x, y) -> (loss, dx)``.

    x: (N, C) float64 scores, y: (N,) labels (or targets). The numerical gradient is
    taken of ``reference(x, y)[0]`` when a reference forward pass is given (and the
    loss value is compared with it), else of loss_fn's own loss. Returns a `GradReport`.
    """
    title = title or getattr(loss_fn, "__name__", "loss")
    x = _require_float64("x", x)
    report = GradReport(title=title, method=method, inputs=[])
    x_before, y_before = x.copy(), np.array(y, copy=True)
    loss, dx = _call_quietly(report, title, loss_fn, x, y)
    if not (np.array_equal(x, x_before) and np.array_equal(y, y_before)):
        report.problems.append("the inputs x or y were modified in place")
    forward = reference or loss_fn
    if reference is not None:
        expected = float(reference(x, y)[0])
        if not np.isscalar(loss) and np.ndim(loss) != 0:
            report.problems.append(f"the loss must be a single number, got shape {np.shape(loss)}")
        elif not np.isfinite(float(loss)):
            report.problems.append(f"the loss is {float(loss)}, expected {expected:.6g}")
        elif rel_error(float(loss), expected) > RTOL_OK:
            report.problems.append(f"the loss is {float(loss):.6g}, expected {expected:.6g}")
    sub = check_gradients(lambda z: float(forward(z, y)[0]), [x], [dx], names=["x"],
                          method=method, seed=seed, h=h, samples=samples,
                          directions=directions, title=title)
    sub.problems = report.problems + sub.problems
    sub.warnings = report.warnings + sub.warnings
    return sub

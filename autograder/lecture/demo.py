"""One lecture demo: a few controls and one picture that answers them.

A demo is written once and used three ways: live in the browser (:meth:`Demo.widget`, ipywidgets served by
Voilà), as a static figure in the exported slides (:meth:`Demo.png` at the default values), and timed by
``make bench`` (:meth:`Demo.render`). Its ``draw(fig, state, **values)`` draws into a fresh matplotlib figure
and returns the caption, a sentence that says what the numbers in the picture are; ``setup()`` computes
once, on first use, what every redraw needs (a cost volume, a trained model), so that a control answers
at once.
"""

from __future__ import annotations

import io
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Slider", "Choice", "Demo", "STATIC_ENV", "cached", "detection_overlay"]

STATIC_ENV = "ELVKIT_LECTURE_STATIC"     # set by `elv slides`: demos display a picture, not widgets


@dataclass(frozen=True)
class Slider:
    """A numeric control: ``lo`` to ``hi`` in steps of ``step``, starting at ``value``."""

    label: str
    lo: float
    hi: float
    step: float
    value: float

    def __post_init__(self):
        if not self.lo <= self.value <= self.hi:
            raise ValueError(f"Slider {self.label!r}: value {self.value} is outside [{self.lo}, {self.hi}].")

    @property
    def integer(self) -> bool:
        """Whether every value is a whole number (an integer slider)."""
        return all(float(v).is_integer() for v in (self.lo, self.hi, self.step, self.value))

    def values(self) -> list:
        """Every value the control can take (for the bench and the tests)."""
        n = int(round((self.hi - self.lo) / self.step)) + 1
        vals = [self.lo + i * self.step for i in range(n)]
        return [int(round(v)) for v in vals] if self.integer else [round(v, 10) for v in vals]

    def widget(self):
        """The ipywidgets slider: redrawn when released, not while dragged."""
        import ipywidgets as w

        cls = w.IntSlider if self.integer else w.FloatSlider
        kw = dict(value=self.value, min=self.lo, max=self.hi, step=self.step, description=self.label,
                  continuous_update=False, style={"description_width": "initial"},
                  layout=w.Layout(width="330px"))
        if not self.integer:
            decimals = max(0, -int(f"{self.step:e}".split("e")[1]))
            kw["readout_format"] = f".{decimals}f"
        return cls(**kw)


@dataclass(frozen=True)
class Choice:
    """A control with named options; ``value`` is one of ``options``."""

    label: str
    options: tuple
    value: Any

    def __post_init__(self):
        if self.value not in self.options:
            raise ValueError(f"Choice {self.label!r}: value {self.value!r} is not one of {self.options!r}.")

    def values(self) -> list:
        """The options, in order."""
        return list(self.options)

    def widget(self):
        """The ipywidgets dropdown."""
        import ipywidgets as w

        return w.Dropdown(options=list(self.options), value=self.value, description=self.label,
                          style={"description_width": "initial"}, layout=w.Layout(width="330px"))


@dataclass
class Demo:
    """A lecture demo.

    Parameters
    ----------
    title, text : str
        The slide's heading and its one idea (Markdown, in the lecture's notation).
    controls : dict
        Keyword name -> :class:`Slider` or :class:`Choice`, in the order shown. The first is the one the
        browser test moves.
    draw : callable
        ``draw(fig, state, **values) -> caption``: draws into ``fig`` (a matplotlib Figure) and returns the
        caption shown under it (str, may be empty).
    setup : callable, optional
        ``setup() -> state``, run once on first use.
    size : (float, float)
        The figure's size in inches (at 80 dpi).
    click : callable, optional
        ``click(x, y) -> {control: value}``: what a click on the picture sets, given the click's data coordinates
        in the axes that ``draw`` marked with ``ax.set_gid("elv-click")`` (a pixel of an image shown there). The
        values are brought to the controls' ranges and steps, and the picture is drawn once.
    """

    title: str
    text: str
    controls: dict
    draw: Callable
    setup: Callable | None = None
    size: tuple = (10.0, 4.0)
    click: Callable | None = None
    _state: Any = field(default=None, init=False, repr=False)
    _ready: bool = field(default=False, init=False, repr=False)

    def __post_init__(self):
        if not self.controls:
            raise ValueError(f"Demo {self.title!r} has no control: a demo answers at least one.")

    @property
    def slug(self) -> str:
        """The title in lower case with dashes, for CSS classes."""
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")

    def defaults(self) -> dict:
        """Each control's starting value."""
        return {name: c.value for name, c in self.controls.items()}

    def state(self):
        """What ``setup`` computed (computed now on first use)."""
        if not self._ready:
            self._state = self.setup() if self.setup is not None else None
            self._ready = True
        return self._state

    def render(self, **values) -> tuple[bytes, str]:
        """The picture (PNG bytes) and the caption for these control values (the others at their defaults)."""
        png, caption, _ = self._render(values)
        return png, caption

    def _render(self, values: dict):
        """The picture, the caption, and the map from the picture's pixels to the clickable axes' data
        coordinates (None when nothing in the picture is clickable)."""
        from matplotlib.figure import Figure

        unknown = set(values) - set(self.controls)
        if unknown:
            raise TypeError(f"Demo {self.title!r} has no control {sorted(unknown)}; its controls are "
                            f"{list(self.controls)}.")
        kw = self.defaults() | values
        fig = Figure(figsize=self.size, dpi=80, layout="constrained")
        caption = self.draw(fig, self.state(), **kw) or ""
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        target = next((ax for ax in fig.axes if ax.get_gid() == "elv-click"), None)
        return buf.getvalue(), caption, (None if target is None else _PixelMap(target, fig.bbox.height))

    def click_values(self, values: dict, px: float, py: float) -> dict | None:
        """The control values a click at pixel ``(px, py)`` of the picture drawn for ``values`` sets (brought to
        the controls' ranges and steps), or None when the click is outside the clickable axes."""
        if self.click is None:
            return None
        _, _, pixels = self._render(values)
        xy = None if pixels is None else pixels.to_data(px, py)
        if xy is None:
            return None
        return {name: _snap(self.controls[name], v) for name, v in self.click(*xy).items()}

    def png(self, **values) -> bytes:
        """The picture alone (PNG bytes) for these control values."""
        return self.render(**values)[0]

    def widget(self):
        """The live demo: the controls in a row, the picture, the caption. A control's change redraws the
        picture; a failure is shown in the caption, never as a broken page."""
        import ipywidgets as w

        controls = {name: c.widget() for name, c in self.controls.items()}
        png, caption, pixels = self._render({})
        image = w.Image(value=png, format="png", layout=w.Layout(max_width="100%"))
        text = w.HTML(value=_caption_html(caption))
        timing = w.HTML(value="")
        live = {"pixels": pixels, "hold": False}

        def update(_change=None):
            if live["hold"]:
                return
            start = time.perf_counter()
            try:
                new, cap, live["pixels"] = self._render({n: c.value for n, c in controls.items()})
            except Exception as exc:            # shown to the room, and kept whole for whoever reads the log
                traceback.print_exc()
                text.value = _caption_html(f"This setting failed: {type(exc).__name__}: {exc}")
                return
            image.value, text.value = new, _caption_html(cap)
            timing.value = f"<span style='color:#888;font-size:80%'>{1000 * (time.perf_counter() - start):.0f} ms</span>"

        def clicked(event):
            xy = live["pixels"].to_data(event.get("dataX", -1), event.get("dataY", -1)) if live["pixels"] else None
            if xy is None:
                return
            live["hold"] = True                 # several controls set, one picture drawn
            try:
                for name, v in self.click(*xy).items():
                    controls[name].value = _snap(self.controls[name], v)
            finally:
                live["hold"] = False
            update()

        for c in controls.values():
            c.observe(update, names="value")
        if self.click is not None:
            try:
                from ipyevents import Event
            except ImportError:                 # the controls still work; only clicks are not heard
                Event = None
            if Event is not None:
                listener = Event(source=image, watched_events=["click"], prevent_default_action=True)
                listener.on_dom_event(clicked)
                image._elv_listener = listener      # kept alive with the image
                image.add_class("elv-clickable")
        rows = [w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap"))]
        if self.click is not None:
            rows.append(w.HTML("<span style='color:#666'>Click in the picture to choose, or move the controls.</span>"))
        box = w.VBox(rows + [image, text, timing])
        box.add_class("elv-demo")
        box.add_class(f"elv-demo-{self.slug}")
        box.controls, box.image, box.caption = controls, image, text      # for tests and the bench
        box.click = clicked
        return box

    def show(self):
        """Display the demo: live widgets, or under `elv slides` the picture at the default values."""
        from IPython.display import HTML, Image, display

        if os.environ.get(STATIC_ENV):
            png, caption = self.render()
            display(Image(data=png, format="png"))
            if caption:
                display(HTML(_caption_html(caption)))
            return
        display(self.widget())


class _PixelMap:
    """From a pixel of the saved picture (origin top left) to the data coordinates of one of its axes."""

    def __init__(self, ax, height: float):
        self.inverse, self.box, self.height = ax.transData.inverted(), ax.bbox.frozen(), height
        self.forward = ax.transData.frozen()

    def to_data(self, px: float, py: float):
        point = (float(px), self.height - float(py))
        if not self.box.contains(*point):
            return None
        x, y = self.inverse.transform(point)
        return float(x), float(y)

    def to_pixels(self, x: float, y: float):
        dx, dy = self.forward.transform((x, y))
        return float(dx), float(self.height - dy)


def _snap(control, value):
    """``value`` brought to a control's range and step (a slider), or checked against its options (a choice)."""
    if isinstance(control, Choice):
        if value not in control.options:
            raise ValueError(f"{control.label!r} cannot take {value!r}; its options are {control.options!r}")
        return value
    v = min(max(float(value), control.lo), control.hi)
    v = control.lo + round((v - control.lo) / control.step) * control.step
    return int(round(v)) if control.integer else round(v, 10)


def _caption_html(caption: str) -> str:
    import html

    return f"<div style='font-size:110%;max-width:60em'>{html.escape(caption)}</div>" if caption else ""


def cache_dir():
    """Where demos keep what took long to compute (``ELVKIT_LECTURE_CACHE``, by default
    ``~/.cache/elvkit/lecture``)."""
    from pathlib import Path

    return Path(os.environ.get("ELVKIT_LECTURE_CACHE") or Path.home() / ".cache" / "elvkit" / "lecture")


def cached(name: str, compute: Callable[[], dict], **key) -> dict:
    """``compute()`` (a dict of arrays), kept in the lecture cache under ``name`` and ``key`` (everything the
    result depends on: a source file's hash, sizes, seeds) so that the next class starts at once. Arrays only:
    the file is read back with ``allow_pickle=False``."""
    import hashlib
    import json

    import numpy as np

    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = cache_dir() / f"{name}-{digest}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError):
            path.unlink(missing_ok=True)            # a torn file from an interrupted run: compute again
    out = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **{k: np.asarray(v) for k, v in out.items()})
    os.replace(tmp, path)
    return out


def detection_overlay(truth, flagged):
    """An RGB picture of a detector against the truth (occlusions found by a consistency check): green where both
    say yes, red where the truth is missed, yellow for a false alarm, black where both say no. Returns the image
    and (recall, precision)."""
    import numpy as np

    truth, flagged = np.asarray(truth, bool), np.asarray(flagged, bool)
    out = np.zeros(truth.shape + (3,))
    out[truth & flagged] = (0.1, 0.8, 0.1)
    out[truth & ~flagged] = (0.9, 0.1, 0.1)
    out[~truth & flagged] = (1.0, 0.8, 0.0)
    recall = (truth & flagged).sum() / max(1, truth.sum())
    precision = (truth & flagged).sum() / max(1, flagged.sum())
    return out, (float(recall), float(precision))

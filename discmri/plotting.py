"""matplotlib, when it is installed: figures on the Agg canvas, returned as PNG bytes.

The one place discmri reaches for matplotlib (an optional dependency: the ``qc`` and
``report`` extras). Figures use the object-oriented API (no pyplot state), so that workers
and threads draw without sharing anything, and come back as bytes that the caller writes
with the rest of its files, all or nothing.
"""

from __future__ import annotations

import io
from typing import Any

from .errors import DiscMRIError

__all__ = ["new_figure", "png_bytes", "require_matplotlib"]


def require_matplotlib(extra: str = "qc") -> tuple[type, type]:
    """Matplotlib's ``Figure`` and ``FigureCanvasAgg`` classes.

    Commands call it before their work, so that a missing matplotlib stops them before
    anything is computed or written.

    Parameters
    ----------
    extra : str
        The discmri extra that installs matplotlib, named in the error.

    Raises
    ------
    DiscMRIError
        matplotlib is not installed; the message gives the pip command.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DiscMRIError(f'figures need matplotlib: pip install "discmri[{extra}]"') from exc
    return Figure, FigureCanvasAgg


def new_figure(width: float, height: float, *, dpi: float = 100, extra: str = "qc") -> Any:
    """A matplotlib ``Figure`` of ``width`` × ``height`` inches on an Agg canvas."""
    figure_cls, canvas_cls = require_matplotlib(extra)
    fig = figure_cls(figsize=(width, height), dpi=dpi)
    canvas_cls(fig)
    return fig


def png_bytes(fig: Any, **savefig: Any) -> bytes:
    """The figure as PNG bytes (``savefig`` keywords: ``bbox_inches``, ``dpi``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **savefig)
    return buf.getvalue()

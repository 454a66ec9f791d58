"""Finding the digits on one line of writing, left to right, each framed the way MNIST frames a digit.

A picture of a number is turned into a *lattice* (``vision.lattice``): the line's pieces of ink ("atoms", left to right) and the
candidate digits made of runs of neighbouring atoms, each framed into the model's input. A classifier scores
the candidates and ``vision.scoring.best_path`` picks the reading - the split of the line into digits - that is most likely.
This layer never loads a model: ``mnistcli.inference.predict.Reader`` brings the probabilities.

What a real picture holds, and how it is dealt with (scipy.ndimage does the image operations):

* ink found as for one digit (``ink.find_ink``: polarity, uneven paper, shadows, grain), the paper's estimate
  narrowed to a few stroke widths, table bands along the edges dropped;
* connected pieces of ink: pixels at half the ink level, grown into fainter ones (down to LOW);
* ruled lines (long thin horizontal runs) removed; specks, UI bars and paper edges left out;
* the line: pieces that share rows with the tallest ones; another line of similar size is reported;
* strokes of one digit that do not touch (a 5's flag, a 4 in two strokes, a broken pen line) are merged
  when they lie over one another, and offered to the classifier as one digit when they lie side by side;
* touching or overlapping neighbours: a piece wide enough to hold two digits is cut at minima of its column
  profile; the classifier's confidence, with costs for strokes cut, gaps merged and unusual shapes for the
  digit read (``Costs``), chooses which cuts to keep;
* a candidate's strokes are made about as wide, for its height, as MNIST's (a ballpoint's thin line is
  thickened, a marker's thinned) before it is framed; the whole picture as one candidate is framed exactly
  as ``vision.digit`` frames one digit, so a picture of one digit reads as it always did.
"""

from __future__ import annotations

import numpy as np

from mnistcli.vision.frame import _drop_frame
from mnistcli.vision.ink import find_ink
from mnistcli.vision.lattice import Candidate, Line, build, core_box, frame_ink, thumbnail_of
from mnistcli.vision.pieces import ink_map, lift_faint, line_pieces


def single(grey: np.ndarray, image_size: int = 28, invert: bool | None = None, name: str = "image") -> Line:
    """The whole image read as one digit (today's reading, ``--single``), as a one-candidate lattice."""
    ink = _drop_frame(find_ink(grey, invert, name))
    pixels = frame_ink(ink, image_size, name)
    thumb, scale = thumbnail_of(ink)
    x0, y0, x1, y1 = core_box(ink)
    cand = Candidate(0, 1, (x0, y0, x1, y1), (x1 - x0) / max(1, y1 - y0), 1.0, 0.0)
    return Line(grey.shape, 1, [cand], pixels[None], [0.0], [False], None, thumb, scale)


def find_line(
    grey: np.ndarray, image_size: int = 28, invert: bool | None = None, name: str = "image"
) -> Line:
    """One line of handwritten digits -> its lattice (see the module's docstring)."""
    ink, stroke = ink_map(grey, invert, name)
    thumb, thumb_scale = thumbnail_of(ink)
    lifted = lift_faint(ink, stroke)
    found = line_pieces(lifted, stroke, name)
    return build(lifted, found, stroke, image_size, name, thumb, thumb_scale, grey.shape, whole_ink=ink)

"""Text read from images (OCR), so the secret guard sees a seed phrase in a screenshot.

A customer who photographs or screenshots a wallet's backup screen exposes it as surely as one who
types it, so image attachments are read like PDFs: in a child process of their own
(``python -m kefu.tickets.ocr``, started by :mod:`kefu.tickets.attachment_text`) with memory,
CPU and wall-time caps, one ONNX thread, and nothing of the image in the server's event loop.

The models are PaddleOCR's PP-OCRv4 mobile detector and Chinese+English recognizer, as shipped
(ONNX) inside the ``rapidocr_onnxruntime`` wheel; nothing is downloaded. That package's own
pipeline imports OpenCV, which needs ``libGL`` and is 190 MB of code for a crop and a resize, so
only its model files are used (located through the package's metadata, never imported) and the
pipeline is done here with onnxruntime, numpy, Pillow and scipy (docs/decisions/0004-ocr.md).
Screenshots hold horizontal text, so text boxes are the axis-aligned bounding boxes of the
detector's connected regions, and no 180° classifier runs: rotated or vertical text is not read.

Huge images are refused before they are decoded (``MAX_IMAGE_PIXELS``), JPEGs are decoded at a
reduced scale when large, and the detector works on at most ``DET_MAX_PIXELS``."""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import onnxruntime as ort
    from PIL import Image

MODEL_DISTRIBUTION: Final = "rapidocr_onnxruntime"
DET_MODEL: Final = "ch_PP-OCRv4_det_infer.onnx"
REC_MODEL: Final = "ch_PP-OCRv4_rec_infer.onnx"
# Pillow's formats for the image types that are read; anything else is not opened at all.
PIL_FORMATS: Final = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF",
                      "image/webp": "WEBP", "image/bmp": "BMP", "image/tiff": "TIFF"}
# Larger images are refused unread (50 MP: a 48 MP phone photo still passes); below it they are
# decoded, a JPEG at 1/2 to 1/8 scale when that still leaves WORK_MAX_SIDE.
MAX_IMAGE_PIXELS: Final = 50_000_000
WORK_MAX_SIDE: Final = 4096
MIN_SIDE: Final = 8  # smaller is an icon or a tracking pixel: no text
# The detector's input: small images are enlarged to DET_MIN_SIDE, large ones reduced to
# DET_MAX_PIXELS (a 1170x2532 phone screenshot is read at 92 %, a long scrolling one smaller).
DET_MIN_SIDE: Final = 736
DET_MAX_PIXELS: Final = 2_500_000
DET_MAX_SIDE: Final = 4000
DET_THRESHOLD: Final = 0.3  # pixel is text
BOX_THRESHOLD: Final = 0.5  # mean text probability of a kept box
UNCLIP_RATIO: Final = 1.6  # the detector's regions are shrunk text; this grows them back
MAX_BOXES: Final = 1000
REC_HEIGHT: Final = 48
REC_MAX_WIDTH: Final = 48 * 60
REC_BATCH: Final = 6
MIN_TEXT_SCORE: Final = 0.5
# The child's caps: address space (onnxruntime, two models, a 50 MP decode) and CPU seconds past
# the time budget (the parent kills it at the budget plus a little anyway).
OCR_MEMORY_BYTES: Final = 1536 * 1024 * 1024
OCR_CPU_GRACE_S: Final = 5


@dataclass(frozen=True, slots=True)
class Box:
    """A text box in working-image pixels: ``[x0, x1) x [y0, y1)``."""

    x0: int
    y0: int
    x1: int
    y1: int


@dataclass(frozen=True, slots=True)
class Line:
    """One recognised box and its text."""

    box: Box
    text: str


@dataclass(frozen=True, slots=True)
class OcrResult:
    """``complete`` is False when the time budget or ``MAX_BOXES`` cut the reading short."""

    text: str
    complete: bool


class ImageRefused(Exception):
    """The image is too large to decode within the caps, or not the format it was sniffed as."""


def model_path(name: str) -> Path:
    """Where ``rapidocr_onnxruntime`` installed one of its model files (the package is not
    imported: its ``__init__`` pulls in OpenCV)."""
    from importlib.metadata import PackageNotFoundError, distribution  # 0.1 s: only when needed

    try:
        located = distribution(MODEL_DISTRIBUTION).locate_file(
            f"{MODEL_DISTRIBUTION}/models/{name}")
    except PackageNotFoundError as exc:
        raise FileNotFoundError(f"{MODEL_DISTRIBUTION} is not installed") from exc
    path = Path(str(located))
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def load_image(path: Path, content_type: str) -> Image.Image:
    """The first frame of the image as RGB on white, at most ``WORK_MAX_SIDE`` a side. Raises
    ``ImageRefused`` for a decompression bomb and Pillow's errors for a broken file."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    fmt = PIL_FORMATS.get(content_type)
    if fmt is None:
        raise ImageRefused(content_type)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            source = Image.open(path, formats=[fmt])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRefused("too many pixels") from exc
    width, height = source.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageRefused("too many pixels")
    if fmt == "JPEG" and max(width, height) > WORK_MAX_SIDE:
        source.draft("RGB", (WORK_MAX_SIDE, WORK_MAX_SIDE))  # DCT scaling: never decoded in full
    source.seek(0)
    source.load()
    if source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info:
        rgba = source.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    else:
        image = source.convert("RGB")
    if max(image.size) > WORK_MAX_SIDE:
        image.thumbnail((WORK_MAX_SIDE, WORK_MAX_SIDE), Image.Resampling.BILINEAR)
    return image


def _session(name: str) -> ort.InferenceSession:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_path(name)), options,
                                providers=["CPUExecutionProvider"])


def _normalized(pixels: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """HWC RGB bytes to the models' NCHW input: BGR (they were trained on OpenCV's order),
    scaled to [-1, 1]."""
    import numpy as np

    bgr = pixels[:, :, ::-1].astype(np.float32)
    return np.ascontiguousarray(((bgr / 127.5) - 1.0).transpose(2, 0, 1)[None])


def _det_size(width: int, height: int) -> tuple[int, int]:
    scale = max(1.0, DET_MIN_SIDE / min(width, height))
    scale = min(scale, math.sqrt(DET_MAX_PIXELS / (width * height)),
                DET_MAX_SIDE / max(width, height))
    return (max(32, round(width * scale / 32) * 32), max(32, round(height * scale / 32) * 32))


def detect(session: ort.InferenceSession, image: Image.Image) -> list[Box]:
    """Text boxes, in ``image`` pixels: DB post-processing on the detector's probability map,
    with each connected region's bounding box grown by the unclip distance."""
    import numpy as np
    from PIL import Image
    from scipy import ndimage

    det_w, det_h = _det_size(*image.size)
    resized = np.asarray(image.resize((det_w, det_h), Image.Resampling.BILINEAR))
    prob = session.run(None, {session.get_inputs()[0].name: _normalized(resized)})[0][0, 0]
    mask = prob > DET_THRESHOLD
    mask[1:, :] |= mask[:-1, :]  # the 2x2 dilation PaddleOCR applies
    mask[:, 1:] |= mask[:, :-1]
    labels, _count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    sx, sy = image.size[0] / det_w, image.size[1] / det_h
    boxes: list[Box] = []
    for region in ndimage.find_objects(labels)[:MAX_BOXES]:
        if region is None:
            continue
        rows, cols = region
        height, width = rows.stop - 1 - rows.start, cols.stop - 1 - cols.start
        if min(height, width) < 3 or float(prob[region].mean()) < BOX_THRESHOLD:
            continue
        grow = width * height * UNCLIP_RATIO / (2 * (width + height))
        if min(height, width) + 2 * grow < 5:
            continue
        x0 = max(0, math.floor((cols.start - grow) * sx))
        y0 = max(0, math.floor((rows.start - grow) * sy))
        x1 = min(image.size[0], math.ceil((cols.stop - 1 + grow) * sx))
        y1 = min(image.size[1], math.ceil((rows.stop - 1 + grow) * sy))
        if x1 - x0 > 3 and y1 - y0 > 3:
            boxes.append(Box(x0, y0, x1, y1))
    return boxes


def charset(session: ort.InferenceSession) -> list[str]:
    """The recognizer's output classes: CTC blank, its dictionary (kept in the model's metadata),
    and a space."""
    dictionary = session.get_modelmeta().custom_metadata_map.get("character")
    if not dictionary:
        raise ValueError(f"{REC_MODEL} has no character dictionary")
    return ["", *dictionary.splitlines(), " "]


def _rec_input(crops: Sequence[Image.Image]) -> npt.NDArray[np.float32]:
    """One batch: each crop scaled to ``REC_HEIGHT`` and padded to the widest (pad reads 0, the
    normalised middle grey, as in training)."""
    import numpy as np
    from PIL import Image

    widths = [min(REC_MAX_WIDTH, math.ceil(REC_HEIGHT * c.width / c.height)) for c in crops]
    batch = np.zeros((len(crops), 3, REC_HEIGHT, max(*widths, 320)), dtype=np.float32)
    for i, (crop, width) in enumerate(zip(crops, widths, strict=True)):
        resized = crop.resize((width, REC_HEIGHT), Image.Resampling.BILINEAR)
        batch[i, :, :, :width] = _normalized(np.asarray(resized))[0]
    return batch


def _ctc_decode(probs: npt.NDArray[np.float32], chars: list[str]) -> list[tuple[str, float]]:
    """Greedy CTC: the best class at each step, repeats merged, blanks dropped; the score is
    the mean probability of the characters kept."""
    import numpy as np

    best = probs.argmax(axis=2)
    confidence = probs.max(axis=2)
    decoded = []
    for classes, scores in zip(best, confidence, strict=True):
        keep = np.ones(len(classes), dtype=bool)
        keep[1:] = classes[1:] != classes[:-1]
        keep &= classes != 0
        text = "".join(chars[c] for c in classes[keep] if c < len(chars))
        decoded.append((text, float(scores[keep].mean()) if keep.any() else 0.0))
    return decoded


def recognize(session: ort.InferenceSession, chars: list[str], image: Image.Image,
              boxes: list[Box], deadline: float) -> tuple[list[Line], bool]:
    """The text of each box (widest last, so batches pad little), until ``deadline``
    (``time.monotonic``); the second value is False when the deadline cut it short."""
    order = sorted(boxes, key=lambda b: (b.x1 - b.x0) / (b.y1 - b.y0))
    lines: list[Line] = []
    name = session.get_inputs()[0].name
    for start in range(0, len(order), REC_BATCH):
        if time.monotonic() > deadline:
            return lines, False
        batch = order[start:start + REC_BATCH]
        crops = [image.crop((b.x0, b.y0, b.x1, b.y1)) for b in batch]
        probs = session.run(None, {name: _rec_input(crops)})[0]
        for box, (text, score) in zip(batch, _ctc_decode(probs, chars), strict=True):
            if text.strip() and score >= MIN_TEXT_SCORE:
                lines.append(Line(box, text.strip()))
    return lines, True


def reading_order(lines: list[Line]) -> str:
    """Boxes to text: boxes that overlap vertically by half the smaller height form one line,
    read left to right; lines top to bottom. A wallet's grid "1 abandon  2 ability" thus reads
    as it is shown, row by row."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda item: (item.box.y0 + item.box.y1, item.box.x0)):
        box = line.box
        for row in reversed(rows[-3:]):
            top, bottom = min(r.box.y0 for r in row), max(r.box.y1 for r in row)
            overlap = min(bottom, box.y1) - max(top, box.y0)
            if overlap > 0.5 * min(bottom - top, box.y1 - box.y0):
                row.append(line)
                break
        else:
            rows.append([line])
    return "\n".join(" ".join(item.text for item in sorted(row, key=lambda i: i.box.x0))
                     for row in rows)


def read_text(path: Path, content_type: str, budget_s: float) -> OcrResult:
    """The text in the image at ``path``, read within ``budget_s`` seconds (what is left after
    the detector goes to recognition; boxes not reached by then are not read)."""
    deadline = time.monotonic() + budget_s
    image = load_image(path, content_type)
    if min(image.size) < MIN_SIDE:
        return OcrResult("", True)
    boxes = detect(_session(DET_MODEL), image)
    if not boxes:
        return OcrResult("", True)
    rec = _session(REC_MODEL)
    lines, complete = recognize(rec, charset(rec), image, boxes, deadline)
    return OcrResult(reading_order(lines), complete and len(boxes) < MAX_BOXES)


def main(argv: list[str]) -> None:
    """Child entry: ``PATH CONTENT_TYPE BUDGET_S``; prints ``{"status", "text"}``."""
    from kefu.tickets.attachment_text import MAX_TEXT_CHARS, limit_resources

    path, content_type, budget = Path(argv[0]), argv[1], float(argv[2])
    limit_resources(OCR_MEMORY_BYTES, math.ceil(budget) + OCR_CPU_GRACE_S)
    try:
        result = read_text(path, content_type, budget)
    except Exception:  # broken, truncated, refused: nothing was read
        sys.stdout.write(json.dumps({"status": "unreadable", "text": ""}))
        return
    complete = result.complete and len(result.text) <= MAX_TEXT_CHARS
    sys.stdout.write(json.dumps({"status": "extracted" if complete else "partial",
                                 "text": result.text[:MAX_TEXT_CHARS]}))


if __name__ == "__main__":
    main(sys.argv[1:])

"""ITK MetaImage stacks (``.mha``/``.mhd``), read one 2-D image at a time: how CL-Detection 2023 ships its images.

The challenge's ``train_stack.mha`` holds every image zero-padded to 2400 x 2880 x 3 in one file, several GB
uncompressed. The baseline reads it whole with SimpleITK, which needs that much memory; here the header (text
lines ``Key = Value``, ending with ``ElementDataFile``) says where the pixels start, and the images are taken out
one after another: from a memory map when the data is raw, or by streaming the zlib data (``CompressedData =
True``) once, front to back, keeping one image in memory. What is read is what the header declares and nothing
else; a header that declares something else (another element type, big-endian data, a 4-D image, an external
list of files) is refused with what it says.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AnnotationError, DataNotFoundError

_TYPES = {"MET_UCHAR": np.uint8, "MET_CHAR": np.int8, "MET_USHORT": np.uint16, "MET_SHORT": np.int16}
#: a header is a few hundred bytes; more than this without ElementDataFile is not a MetaImage
MAX_HEADER = 65536


@dataclass(frozen=True)
class MetaStack:
    """A 3-D MetaImage read as a stack of 2-D images: ``count`` images of ``height`` x ``width`` x ``channels``."""

    path: Path
    data_path: Path
    offset: int
    width: int
    height: int
    count: int
    channels: int
    dtype: np.dtype
    compressed: bool

    @property
    def image_bytes(self) -> int:
        return self.width * self.height * self.channels * self.dtype.itemsize

    def _shape(self) -> tuple[int, ...]:
        return (self.height, self.width) + ((self.channels,) if self.channels > 1 else ())

    def images(self):
        """``(index from 0, image)`` for every image in file order, one in memory at a time."""
        if not self.compressed:
            data = np.memmap(self.data_path, dtype=self.dtype, mode="r", offset=self.offset,
                             shape=(self.count,) + self._shape())
            for i in range(self.count):
                yield i, np.array(data[i])
            return
        inflate = zlib.decompressobj()
        pending = bytearray()
        index = 0
        with self.data_path.open("rb") as fh:
            fh.seek(self.offset)
            while index < self.count:
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                pending += inflate.decompress(chunk)
                while len(pending) >= self.image_bytes and index < self.count:
                    raw = bytes(pending[:self.image_bytes])
                    del pending[:self.image_bytes]
                    yield index, np.frombuffer(raw, self.dtype).reshape(self._shape())
                    index += 1
        if index < self.count:
            raise AnnotationError(f"{self.path}: the compressed data ends after {index} of {self.count} images "
                                  "(a truncated download?)", reason="truncated stack")


def read_stack(path) -> MetaStack:
    """The header of a MetaImage stack, checked, and where its pixels are."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(MAX_HEADER)
    except FileNotFoundError:
        raise DataNotFoundError(f"{path}: MetaImage stack not found", reason="missing data") from None
    fields, offset = {}, 0
    for line in head.split(b"\n"):
        offset += len(line) + 1
        key, sep, value = line.decode("latin-1").partition("=")
        if not sep:
            break
        fields[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            break
    else:
        offset = -1

    def bad(what: str) -> AnnotationError:
        return AnnotationError(f"{path}: {what}; the zoo reads a 3-D MetaImage stack (NDims = 3, DimSize = W H N, "
                               "MET_UCHAR/MET_USHORT, little-endian, raw or zlib)", reason="malformed stack")

    if "ElementDataFile" not in fields or offset < 0:
        raise bad("no MetaImage header ending in ElementDataFile")
    try:
        dims = [int(v) for v in fields.get("DimSize", "").split()]
        channels = int(fields.get("ElementNumberOfChannels", "1"))
    except ValueError:
        raise bad(f"DimSize {fields.get('DimSize')!r}") from None
    if fields.get("NDims", "3") not in ("2", "3") or len(dims) not in (2, 3) or min(dims) < 1:
        raise bad(f"NDims {fields.get('NDims')!r}, DimSize {fields.get('DimSize')!r}")
    dtype = _TYPES.get(fields.get("ElementType", ""))
    if dtype is None:
        raise bad(f"ElementType {fields.get('ElementType')!r}")
    order = (fields.get("BinaryDataByteOrderMSB") or fields.get("ElementByteOrderMSB") or "False").lower()
    if order == "true" and np.dtype(dtype).itemsize > 1:
        raise bad("big-endian data (BinaryDataByteOrderMSB = True)")
    source = fields["ElementDataFile"]
    if source.upper() == "LOCAL":
        data_path = path
    elif source.upper().startswith("LIST") or "%" in source:
        raise bad(f"ElementDataFile {source!r} (a list of files)")
    else:
        data_path, offset = path.parent / source, int(fields.get("HeaderSize", "0") or 0)
    width, height = dims[0], dims[1]
    count = dims[2] if len(dims) == 3 else 1
    compressed = fields.get("CompressedData", "False").lower() == "true"
    stack = MetaStack(path, data_path, offset, width, height, count, channels, np.dtype(dtype), compressed)
    if not compressed and data_path.stat().st_size < offset + count * stack.image_bytes:
        raise AnnotationError(f"{data_path}: holds {data_path.stat().st_size - offset} bytes of pixels, the header "
                              f"declares {count * stack.image_bytes} ({count} images of {width}x{height}x{channels}):"
                              " a truncated download?", reason="truncated stack")
    return stack


def crop_padding(image: np.ndarray) -> np.ndarray:
    """An image without the zero rows and columns padded after it (bottom and right only, so coordinates do not
    move): CL-Detection pads each centre's images to the stack's size."""
    content = image if image.ndim == 2 else image.max(axis=2)
    rows = np.flatnonzero(content.any(axis=1))
    cols = np.flatnonzero(content.any(axis=0))
    if rows.size == 0:
        return image
    return image[:rows[-1] + 1, :cols[-1] + 1]

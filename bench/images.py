"""The benchmark's image files: a fixed catalogue, generated once with Pillow and cached.

Pixels are smooth colour fields with a calibrated amount of Gaussian noise, so files
compress like photographs and land near a target size (50 KB to 5 MB). Some JPEGs carry
large APPn segments (Exif, XMP, a big ICC profile) in front of the frame header, which is
what makes header-only probing hard. Only the pixel sizes are part of the catalogue's
contract; the bytes may differ between machines (Pillow's noise is not seeded), and the
benchmark always measures the files it actually serves.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType

from PIL import Image

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
_CONTENT_TYPES = MappingProxyType({"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"})
EXTENSIONS = MappingProxyType({"jpeg": "jpg", "png": "png", "webp": "webp"})


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One catalogue entry: what to generate, and how often the corpus uses it."""

    name: str
    format: str
    width: int
    height: int
    target_bytes: int
    app_bytes: int = 0
    weight: float = 1.0
    palette: bool = False


@dataclass(frozen=True, slots=True)
class ImageFile:
    """A generated file as served: its spec, where it is and its real size."""

    spec: ImageSpec
    path: Path
    size: int

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self.spec.format]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.spec.format]


KB = 1000
MB = 1000 * KB

#: Web-sized images dominate news feeds; a few camera originals and big PNGs make the tail.
REALISTIC: tuple[ImageSpec, ...] = (
    ImageSpec("j-thumb", "jpeg", 600, 390, 50 * KB, weight=6),
    ImageSpec("j-card", "jpeg", 800, 450, 90 * KB, weight=8),
    ImageSpec("j-og", "jpeg", 1200, 630, 160 * KB, weight=10),
    ImageSpec("j-hero", "jpeg", 1200, 800, 240 * KB, weight=10),
    ImageSpec("j-wide", "jpeg", 1600, 900, 400 * KB, weight=6),
    ImageSpec("j-hd", "jpeg", 1920, 1080, 650 * KB, weight=5),
    ImageSpec("j-hd-exif", "jpeg", 1920, 1280, 900 * KB, app_bytes=120 * KB, weight=3),
    ImageSpec("j-2k", "jpeg", 2048, 1365, 1200 * KB, weight=2),
    ImageSpec("j-cam", "jpeg", 3000, 2000, 2500 * KB, app_bytes=200 * KB, weight=1.5),
    ImageSpec("j-cam-big", "jpeg", 4000, 3000, 5000 * KB, app_bytes=600 * KB, weight=0.5),
    ImageSpec("j-icc", "jpeg", 1400, 933, 420 * KB, app_bytes=60 * KB, weight=3),
    ImageSpec("p-logo", "png", 400, 400, 60 * KB, weight=3, palette=True),
    ImageSpec("p-chart", "png", 800, 600, 300 * KB, weight=3, palette=True),
    ImageSpec("p-shot", "png", 1280, 800, 1000 * KB, weight=2),
    ImageSpec("p-big", "png", 1600, 1000, 3000 * KB, weight=0.7),
    ImageSpec("w-card", "webp", 800, 450, 55 * KB, weight=6),
    ImageSpec("w-og", "webp", 1200, 630, 120 * KB, weight=6),
    ImageSpec("w-hero", "webp", 1600, 900, 250 * KB, weight=4),
    ImageSpec("w-hd", "webp", 1920, 1080, 500 * KB, weight=2),
)

#: For the smoke run: a few kilobytes each, generated in well under a second.
TINY: tuple[ImageSpec, ...] = (
    ImageSpec("t-jpeg", "jpeg", 64, 48, 3 * KB),
    ImageSpec("t-jpeg-exif", "jpeg", 80, 60, 20 * KB, app_bytes=16 * KB),
    ImageSpec("t-png", "png", 48, 48, 4 * KB),
    ImageSpec("t-webp", "webp", 96, 64, 2 * KB),
)

CATALOGUES = MappingProxyType({"realistic": REALISTIC, "tiny": TINY})


def load_catalogue(name: str, cache_dir: Path = CACHE_DIR) -> tuple[ImageFile, ...]:
    """The catalogue's files, generating the missing ones into ``cache_dir/images-NAME``."""
    specs = CATALOGUES[name]
    folder = cache_dir / f"images-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for spec in specs:
        path = folder / f"{spec.name}.{EXTENSIONS[spec.format]}"
        meta = path.with_suffix(path.suffix + ".json")
        if not (path.exists() and meta.exists() and json.loads(meta.read_text()) == asdict(spec)):
            data = generate(spec)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            meta.write_text(json.dumps(asdict(spec)))
        files.append(ImageFile(spec, path, path.stat().st_size))
    return tuple(files)


def generate(spec: ImageSpec) -> bytes:
    """Encode an image of the spec's pixel size, its noise tuned to land near the target size."""
    rng = random.Random(spec.name)
    field = _colour_field(spec.width, spec.height, rng)
    noise = Image.merge(
        "RGB", [Image.effect_noise((spec.width, spec.height), 80) for _ in range(3)]
    )
    extra = _app_segments(spec, rng)
    low, high = 0.0, 1.0
    best = b""
    for _ in range(7 if spec.width * spec.height < 4_000_000 else 5):
        alpha = (low + high) / 2
        data = _encode(Image.blend(field, noise, alpha), spec, extra)
        if not best or abs(len(data) - spec.target_bytes) < abs(len(best) - spec.target_bytes):
            best = data
        if len(data) > spec.target_bytes:
            high = alpha
        else:
            low = alpha
        if abs(len(data) - spec.target_bytes) < spec.target_bytes * 0.05:
            break
    return best


def _colour_field(width: int, height: int, rng: random.Random) -> Image.Image:
    """Smooth blotches of colour: a tiny random image scaled up."""
    small = (max(2, width // 48), max(2, height // 48))
    seed = Image.frombytes("RGB", small, rng.randbytes(small[0] * small[1] * 3))
    return seed.resize((width, height), Image.Resampling.BICUBIC)


def _app_segments(spec: ImageSpec, rng: random.Random) -> dict[str, bytes]:
    """Exif, XMP and ICC payloads adding up to about ``app_bytes`` (JPEG only)."""
    if spec.format != "jpeg" or spec.app_bytes <= 0:
        return {}
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif[0x010E] = "".join(
        rng.choice("abcdefghij ") for _ in range(min(60_000, spec.app_bytes // 3))
    )
    extra = {"exif": exif.tobytes()}
    remaining = spec.app_bytes - len(extra["exif"])
    if remaining > 1000:
        xmp_size = min(60_000, remaining // 2)
        body = "".join(rng.choice("klmnopqrst ") for _ in range(xmp_size))
        extra["xmp"] = f'<x:xmpmeta xmlns:x="adobe:ns:meta/">{body}</x:xmpmeta>'.encode()
        remaining -= len(extra["xmp"])
    if remaining > 1000:
        extra["icc_profile"] = rng.randbytes(remaining)
    return extra


def _encode(image: Image.Image, spec: ImageSpec, extra: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    if spec.format == "jpeg":
        image.save(out, "JPEG", quality=85, **extra)
    elif spec.format == "png":
        pixels = image.quantize(64) if spec.palette else image
        pixels.save(out, "PNG", compress_level=6)
    else:
        image.save(out, "WEBP", quality=80, method=2)
    return out.getvalue()


def main() -> None:
    """Generate (or reuse) both catalogues and print what they hold."""
    for name in CATALOGUES:
        for item in load_catalogue(name):
            spec = item.spec
            print(
                f"{name:9} {item.path.name:18} {spec.width:>5}x{spec.height:<5} "
                f"{item.size / KB:>8.0f} KB (target {spec.target_bytes / KB:.0f} KB)"
            )


if __name__ == "__main__":
    main()

"""ImageProcessingService, on small PNGs built in memory."""
import base64
import hashlib
import io
from typing import Callable

import pytest
from PIL import Image

import src.services.image_processing_service as image_processing_service
from src.services.image_processing_service import CLIP_AVAILABLE, ImageProcessingService


@pytest.fixture
def service() -> ImageProcessingService:
    return ImageProcessingService(thumbnail_size=(32, 32))


def test_clip_flag_is_false_without_clip() -> None:
    assert CLIP_AVAILABLE is False
    assert image_processing_service.CLIP_AVAILABLE is False
    assert ImageProcessingService.embedding_backend() == "numpy-fallback"


def test_load_returns_rgb_image(service: ImageProcessingService, make_png: Callable[..., bytes]) -> None:
    img = service.load(make_png(size=(40, 20)))
    assert isinstance(img, Image.Image)
    assert img.mode == "RGB"
    assert img.size == (40, 20)


def test_load_converts_other_modes(service: ImageProcessingService) -> None:
    buffer = io.BytesIO()
    Image.new("L", (5, 5), 128).save(buffer, format="PNG")
    img = service.load(buffer.getvalue())
    assert img.mode == "RGB"
    assert img.getpixel((0, 0)) == (128, 128, 128)


def test_load_rejects_garbage_and_huge_images(make_png: Callable[..., bytes]) -> None:
    with pytest.raises(ValueError, match="cannot decode image"):
        ImageProcessingService().load(b"not an image")
    with pytest.raises(ValueError, match="too large"):
        ImageProcessingService(max_pixels=100).load(make_png(size=(20, 20)))


def test_thumbnail(service: ImageProcessingService) -> None:
    img = Image.new("RGB", (200, 100), (1, 2, 3))
    thumb = service.thumbnail(img)
    assert thumb.size == (32, 16)
    assert img.size == (200, 100)  # original untouched
    assert service.thumbnail(img, size=(50, 50)).size == (50, 25)
    small = Image.new("RGB", (10, 10))
    assert service.thumbnail(small).size == (10, 10)  # never enlarged


def test_average_color(service: ImageProcessingService) -> None:
    assert service.average_color(Image.new("RGB", (8, 8), (200, 30, 60))) == (200, 30, 60)
    half = Image.new("RGB", (2, 1))
    half.putpixel((0, 0), (0, 0, 0))
    half.putpixel((1, 0), (255, 255, 255))
    assert service.average_color(half) == (128, 128, 128)


def test_fingerprint(service: ImageProcessingService, make_png: Callable[..., bytes]) -> None:
    split = service.load(make_png(size=(64, 64), split=True))
    fingerprint = service.fingerprint(split)
    assert fingerprint == "0f" * 8  # left half dark, right half bright
    assert service.fingerprint(split.resize((128, 128))) == fingerprint  # scale invariant
    assert service.fingerprint(Image.new("RGB", (16, 16), (9, 9, 9))) == "0" * 16
    assert len(service.fingerprint(split, hash_size=16)) == 64


def test_content_hash(make_png: Callable[..., bytes]) -> None:
    data = make_png()
    assert ImageProcessingService.content_hash(data) == hashlib.sha256(data).hexdigest()
    assert ImageProcessingService.content_hash(data) != ImageProcessingService.content_hash(make_png(color=(0, 0, 0)))


def test_to_data_url_round_trips(service: ImageProcessingService) -> None:
    img = Image.new("RGB", (3, 2), (7, 8, 9))
    url = service.to_data_url(img)
    assert url.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.size == (3, 2)
    assert decoded.convert("RGB").getpixel((1, 1)) == (7, 8, 9)


def test_embed_fallback(service: ImageProcessingService, make_png: Callable[..., bytes]) -> None:
    split = service.load(make_png(size=(64, 64), split=True))
    vector = service.embed(split)
    assert len(vector) == 64
    assert all(isinstance(x, float) for x in vector)
    assert sum(x * x for x in vector) == pytest.approx(1.0)
    flat = service.embed(Image.new("RGB", (20, 20), (50, 50, 50)))
    assert flat == [0.0] * 64  # no contrast: zero vector, no division by zero


def test_similarity(service: ImageProcessingService, make_png: Callable[..., bytes]) -> None:
    split = service.load(make_png(size=(64, 64), split=True))
    a = service.embed(split)
    b = service.embed(split.resize((32, 32)))
    mirrored = service.embed(split.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    assert service.similarity(a, b) == pytest.approx(1.0, abs=1e-3)
    assert service.similarity(a, mirrored) == pytest.approx(-1.0, abs=1e-3)
    assert service.similarity(a, a) == pytest.approx(1.0)
    assert service.similarity(a, [0.0] * 64) == 0.0


def test_analyse(service: ImageProcessingService, make_png: Callable[..., bytes]) -> None:
    data = make_png(size=(64, 48), color=(200, 30, 60))
    report = service.analyse(data)
    assert report == {
        "width": 64,
        "height": 48,
        "thumbnail_size": [32, 24],
        "average_color": [200, 30, 60],
        "fingerprint": "0" * 16,
        "content_hash": hashlib.sha256(data).hexdigest(),
        "embedding_length": 64,
        "embedding_backend": "numpy-fallback",
    }


def test_clip_model_is_not_loaded_without_clip(service: ImageProcessingService) -> None:
    service.embed(Image.new("RGB", (4, 4)))
    assert service._clip_model is None
    assert service._clip_preprocess is None

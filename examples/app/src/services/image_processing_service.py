"""Product image analysis: thumbnails, colours, perceptual hashes, embeddings.

Uses CLIP (via torch) for embeddings when it is installed, and a cheap numpy
descriptor otherwise.
"""
import base64
import hashlib
import io
import logging
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image

try:
    import clip
    import torch
    CLIP_AVAILABLE = True
except ImportError:
    CLIP_AVAILABLE = False

logger = logging.getLogger(__name__)

FALLBACK_EMBEDDING_SIDE = 8
CLIP_MODEL_NAME = "ViT-B/32"


class ImageProcessingService:
    """Stateless helpers around Pillow and numpy (plus an optional CLIP model)."""

    def __init__(self, thumbnail_size: Tuple[int, int] = (128, 128), max_pixels: int = 4096 * 4096) -> None:
        self.thumbnail_size = thumbnail_size
        self.max_pixels = max_pixels
        self._clip_model = None
        self._clip_preprocess = None

    def load(self, data: bytes) -> Image.Image:
        """Decode image bytes into an RGB image; ``ValueError`` if they are not one."""
        try:
            img = Image.open(io.BytesIO(data))
            img.load()
        except (OSError, Image.DecompressionBombError) as exc:
            raise ValueError(f"cannot decode image: {exc}") from exc
        if img.width * img.height > self.max_pixels:
            raise ValueError(f"image too large: {img.width}x{img.height}")
        return img.convert("RGB")

    def thumbnail(self, img: Image.Image, size: Optional[Tuple[int, int]] = None) -> Image.Image:
        """A copy of ``img`` shrunk (never enlarged) to fit in ``size``."""
        thumb = img.copy()
        thumb.thumbnail(size or self.thumbnail_size, Image.Resampling.LANCZOS)
        return thumb

    def average_color(self, img: Image.Image) -> Tuple[int, int, int]:
        """Mean RGB colour of the image."""
        pixels = np.asarray(img.convert("RGB"), dtype=np.float64)
        mean = pixels.reshape(-1, 3).mean(axis=0)
        red, green, blue = (int(round(channel)) for channel in mean)
        return red, green, blue

    def fingerprint(self, img: Image.Image, hash_size: int = 8) -> str:
        """Perceptual average hash as hex: similar images share most bits."""
        small = img.convert("L").resize((hash_size, hash_size), Image.Resampling.BILINEAR)
        pixels = np.asarray(small, dtype=np.float64)
        bits = (pixels > pixels.mean()).flatten()
        value = 0
        for bit in bits:
            value = (value << 1) | int(bit)
        return f"{value:0{hash_size * hash_size // 4}x}"

    @staticmethod
    def content_hash(data: bytes) -> str:
        """SHA-256 of the raw upload, used to de-duplicate files."""
        return hashlib.sha256(data).hexdigest()

    def to_data_url(self, img: Image.Image) -> str:
        """PNG-encode ``img`` as a ``data:`` URL for inline previews."""
        buffer = io.BytesIO()
        img.save(buffer, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")

    def _load_clip(self) -> None:
        if self._clip_model is None:
            logger.info("loading CLIP model %s", CLIP_MODEL_NAME)
            self._clip_model, self._clip_preprocess = clip.load(CLIP_MODEL_NAME, device="cpu")

    def embed(self, img: Image.Image) -> List[float]:
        """Unit-length embedding: CLIP if available, else a grayscale descriptor."""
        if CLIP_AVAILABLE:
            self._load_clip()
            with torch.no_grad():
                tensor = self._clip_preprocess(img).unsqueeze(0)
                features = self._clip_model.encode_image(tensor)[0]
                features = features / features.norm()
            return [float(x) for x in features.tolist()]
        side = FALLBACK_EMBEDDING_SIDE
        small = img.convert("L").resize((side, side), Image.Resampling.BILINEAR)
        vector = np.asarray(small, dtype=np.float64).flatten()
        vector = vector - vector.mean()
        norm = np.linalg.norm(vector)
        if norm > 0:
            vector = vector / norm
        return [float(x) for x in vector]

    @staticmethod
    def embedding_backend() -> str:
        """Name of the embedding implementation in use."""
        return "clip" if CLIP_AVAILABLE else "numpy-fallback"

    @staticmethod
    def similarity(a: List[float], b: List[float]) -> float:
        """Cosine similarity of two embeddings (0.0 if either is all zeros)."""
        left = np.asarray(a, dtype=np.float64)
        right = np.asarray(b, dtype=np.float64)
        denominator = np.linalg.norm(left) * np.linalg.norm(right)
        if denominator == 0:
            return 0.0
        return float(np.dot(left, right) / denominator)

    def analyse(self, data: bytes) -> dict:
        """Everything the product API reports about an uploaded image."""
        img = self.load(data)
        thumb = self.thumbnail(img)
        embedding = self.embed(img)
        return {
            "width": img.width,
            "height": img.height,
            "thumbnail_size": [thumb.width, thumb.height],
            "average_color": list(self.average_color(img)),
            "fingerprint": self.fingerprint(img),
            "content_hash": self.content_hash(data),
            "embedding_length": len(embedding),
            "embedding_backend": self.embedding_backend(),
        }

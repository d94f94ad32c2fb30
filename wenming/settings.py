"""All runtime configuration, read once from the environment (prefix ``WENMING_``) or ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime settings; every knob the code reads lives here."""

    model_config = SettingsConfigDict(env_prefix="WENMING_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/wenming.db"
    data_dir: Path = Path("./var")
    media_dir: Path = Path("./var/media")
    timezone: str = "Asia/Shanghai"

    assembly_window_minutes: int = Field(10, ge=1, le=24 * 60)
    max_text_length: int = Field(20_000, ge=100)
    max_image_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(40_000_000, ge=10_000)
    repost_hamming_distance: int = Field(6, ge=0, le=32)
    office_markers: list[str] = ["文明办", "文明实践中心", "管理员"]

    classifier_review_threshold: float = Field(0.6, ge=0.0, le=1.0)
    classifier_secondary_threshold: float = Field(0.5, ge=0.0, le=1.0)
    classifier_correction_weight: float = Field(5.0, ge=1.0, le=100.0)

    # Background work queue (wenming.queue).
    queue_lease_seconds: int = Field(60, ge=2, le=3600)
    queue_poll_seconds: float = Field(1.0, gt=0.0, le=60.0)
    queue_retry_base_seconds: float = Field(10.0, ge=0.0)
    queue_retry_max_seconds: float = Field(3600.0, ge=0.0)

    # Photo OCR (classifier.ocr); switch it off on small machines.
    ocr_enabled: bool = True
    ocr_max_pixels: int = Field(25_000_000, ge=10_000)
    ocr_max_side: int = Field(1600, ge=320, le=8000)
    ocr_time_budget_seconds: float = Field(8.0, gt=0.0)
    ocr_threads: int = Field(1, ge=1, le=64)
    ocr_min_confidence: float = Field(0.75, ge=0.0, le=1.0)

    @property
    def tz(self) -> ZoneInfo:
        """The office's local time zone; all day, month and quarter boundaries use it."""
        return ZoneInfo(self.timezone)

    @property
    def assembly_window_seconds(self) -> int:
        return self.assembly_window_minutes * 60


@lru_cache
def get_settings() -> Settings:
    """Process-wide settings; tests call ``get_settings.cache_clear()`` after changing the env."""
    return Settings()

"""All runtime configuration, read once from the environment (prefix ``WENMING_``) or ``.env``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Where each official robot webhook must point: a typo or a borrowed URL never receives a post.
WEBHOOK_URL_PREFIXES = {
    "wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=",
    "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token=",
}


class PostWebhook(BaseModel):
    """One official group robot (企业微信群机器人 / 钉钉自定义机器人); the URL and secret are secrets."""

    kind: str
    url: SecretStr
    secret: SecretStr | None = None  # DingTalk 加签 secret (SEC…); WeCom robots have none

    @model_validator(mode="after")
    def _known_endpoint(self) -> PostWebhook:
        prefix = WEBHOOK_URL_PREFIXES.get(self.kind)
        if prefix is None:
            raise ValueError(f"机器人类型应为 wecom 或 dingtalk，收到 {self.kind!r}")
        url = self.url.get_secret_value()
        if not url.startswith(prefix) or len(url) <= len(prefix) or any(c.isspace() for c in url):
            raise ValueError(f"{self.kind} 机器人的 Webhook 地址应以 {prefix} 开头")
        if self.secret is not None and self.kind != "dingtalk":
            raise ValueError("只有钉钉机器人有加签密钥（secret）")
        return self

    def masked_url(self) -> str:
        """The URL with its key cut to the first four characters, safe to print."""
        url = self.url.get_secret_value()
        prefix = WEBHOOK_URL_PREFIXES[self.kind]
        return prefix + url[len(prefix) : len(prefix) + 4] + "…"


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

    classifier_review_threshold: float = Field(0.8, ge=0.0, le=1.0)
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

    # Staff API and console (api/)
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_default_rubric: str = "changxing-2020"  # what the console and the leaderboards show by default
    # how often `wenming run` brings the default tables' stored per-unit parts up to date (scoring.jobs)
    scoring_refresh_minutes: int = Field(10, ge=1, le=24 * 60)
    # longest a rendered board is kept; writes invalidate it through cache_versions. 0: compute every request
    api_leaderboard_cache_seconds: float = Field(3600, ge=0, le=86400)
    api_db_connections: int = Field(40, ge=2, le=500)  # per process; also the number of request threads
    session_hours: int = Field(12, ge=1, le=24 * 30)
    session_cookie_secure: bool | None = None  # None: Secure exactly when the request came over HTTPS
    # Failed logins are limited per (user name, client address): nobody can lock a user out by name alone.
    login_max_failures: int = Field(5, ge=1, le=100)  # free tries per (name, address) before delays begin
    login_window_minutes: int = Field(15, ge=1, le=24 * 60)
    login_base_delay_seconds: float = Field(2.0, ge=0.1, le=600)  # doubles with every further failure
    login_max_delay_seconds: float = Field(900.0, ge=1, le=24 * 3600)
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For is believed; none by default.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    public_api_docs: bool = False  # True: /api/v1/docs and the OpenAPI schema without logging in

    # Request bodies are counted while they arrive, before any authentication work (api.limits).
    max_body_bytes: int = Field(1024 * 1024, ge=1024)  # every route not named below
    login_max_body_bytes: int = Field(16 * 1024, ge=1024)
    onebot_max_body_bytes: int = Field(8 * 1024 * 1024, ge=64 * 1024)  # one event (HTTP POST) or WebSocket frame

    # Bot adapters (bot/): secrets come from the environment only.
    bot_adapters: Annotated[list[str], NoDecode] = []  # `wenming run` starts these: "onebot,wechat"
    onebot_secret: str | None = None  # HMAC-SHA1 key for the HTTP POST X-Signature
    onebot_access_token: str | None = None  # Bearer token the OneBot implementation presents
    onebot_action_timeout_seconds: float = Field(10.0, gt=0, le=300)
    media_download_timeout_seconds: float = Field(20.0, gt=0, le=600)
    media_download_retries: int = Field(3, ge=1, le=10)
    media_download_backoff_seconds: float = Field(1.0, ge=0.0, le=60.0)  # doubles per attempt
    # Hosts whose images may be fetched although they resolve to a private or loopback address (a NapCat
    # on the same machine or LAN): "127.0.0.1,napcat.lan". Everything else private is refused (SSRF).
    media_allowed_hosts: Annotated[list[str], NoDecode] = []
    media_max_redirects: int = Field(3, ge=0, le=10)
    # Reverse-WebSocket events waiting to be stored; a full queue stops reading the socket (back-pressure).
    onebot_queue_size: int = Field(1000, ge=1, le=100_000)
    wechat_admin_group: str | None = None  # group name that receives bot alerts once back online
    # Web WeChat logins are retried slowly: a login loop is what gets an account banned.
    wechat_relogin_base_backoff_seconds: float = Field(300.0, ge=1)
    wechat_relogin_max_backoff_seconds: float = Field(6 * 3600.0, ge=1)
    bot_assemble_interval_seconds: float = Field(60.0, gt=0)
    bot_status_interval_seconds: float = Field(10.0, gt=0)
    bot_post_misfire_grace_seconds: int = Field(36 * 3600, ge=60)  # a restart within this still posts
    bot_post_rubric: str = "changxing-2020"  # which scoring rubric the scheduled posts use
    bot_post_default_top_n: int = Field(10, ge=1, le=100)
    # Official robots as post targets, by name: {"工作人员群": {"kind": "wecom", "url": "https://qyapi…"}}.
    post_webhooks: dict[str, PostWebhook] = {}
    # Public address of this server: DingTalk robots cannot upload images, so a chart is linked from here.
    post_public_base_url: str | None = None

    # Capture agents (capture/, /api/v1/capture): the key agent secrets are derived from. Unset: a key file
    # <data_dir>/secrets/capture.key is created on first use (keep it with the database's backups).
    capture_secret_key: SecretStr | None = None
    capture_signature_skew_seconds: int = Field(300, ge=30, le=3600)  # timestamps further off are refused
    capture_max_body_bytes: int = Field(32 * 1024 * 1024, ge=64 * 1024)  # one signed batch, photos included
    capture_max_batch_messages: int = Field(500, ge=1, le=10_000)

    # Capture health (capture/health): silence longer than a group's usual gap, adapters down or frozen.
    capture_health_interval_seconds: int = Field(300, ge=30, le=24 * 3600)
    capture_gap_learning_days: int = Field(28, ge=3, le=365)  # how far back a group's usual gap is learned
    capture_gap_margin: float = Field(1.25, ge=1.0, le=10.0)  # alert after usual gap × margin
    capture_gap_min_minutes: int = Field(120, ge=5)  # never alert on a silence shorter than this
    capture_gap_min_messages: int = Field(30, ge=2)  # fewer in the learning window: not regularly active
    capture_live_lag_minutes: int = Field(60, ge=1)  # stored this long after sending still counts as live capture
    capture_adapter_grace_seconds: int = Field(600, ge=0)  # disconnected longer than this raises an alert
    capture_frozen_send_failures: int = Field(2, ge=1)  # failed sends in a row while "online": frozen

    # Scoring coverage, periods, appeals and unit pages (scoring/, api/unit_pages).
    scoring_start: str | None = None  # "2026-08": the month counting started; earlier months are 无数据
    appeal_window_days: int = Field(15, ge=1, le=366)  # a unit may dispute evidence this many days after month end
    appeal_rate_per_hour: int = Field(5, ge=1, le=1000)  # appeals one unit link may file per hour
    appeal_open_limit: int = Field(20, ge=1, le=10_000)  # open appeals one unit may have at once
    unit_link_secret: SecretStr | None = None  # signs unit-page links; unset: no links can be issued
    unit_link_days: int = Field(60, ge=1, le=3650)  # how long a unit-page link stays valid
    public_url: str | None = None  # absolute base of links sent to units, e.g. https://wenming.example.cn

    @field_validator("scoring_start")
    @classmethod
    def _scoring_start(cls, value: str | None) -> str | None:
        """``2026-08`` (or 2026年8月); an unreadable month is refused at start-up, not at the first score."""
        if value is None or not value.strip():
            return None
        text = value.strip().replace("年", "-").removesuffix("月")
        year, _, month = text.partition("-")
        if not (year.isdigit() and month.isdigit() and 2000 <= int(year) <= 2100 and 1 <= int(month) <= 12):
            raise ValueError(f"计分起始月份应写作 2026-08，收到 {value!r}")
        return f"{int(year)}-{int(month):02d}"

    @field_validator("bot_adapters", "media_allowed_hosts", "trusted_proxies", mode="before")
    @classmethod
    def _adapter_list(cls, value: Any) -> Any:
        """Accept ``a,b`` as well as a JSON list from the environment."""
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [p.strip() for p in text.split(",") if p.strip()]
        return value

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

"""The one settings object, read from PROCTOR_* environment variables.

With nothing set, proctor runs embedded: SQLite in the data folder and an in-process
hot-state store, so a fresh machine needs neither PostgreSQL nor Redis.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from proctor.kernel.security.forwarding import parse_networks

_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class Settings(BaseSettings):
    """Configuration of proctor; every field maps to ``PROCTOR_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="PROCTOR_", extra="ignore", frozen=True)

    data_dir: Path = Path("proctor-data")
    database_url: str = ""
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    # Secret for PII encryption and keyed hashes. Embedded default: a key file in data_dir,
    # created on first use; production sets it (and keeps it out of the database backups).
    secret_key: str = ""
    session_hours: int = 12
    cookie_secure: bool = False
    # scheme://host[:port] browsers use to reach proctor, when it differs from what the server
    # sees (a proxy terminating TLS in front); state-changing requests must come from it.
    public_origin: str = ""
    # Addresses or networks of our reverse proxies (comma-separated): only from them are
    # X-Forwarded-For and X-Forwarded-Proto believed (docs/deploy.md, docs/security.md).
    trusted_proxies: str = ""
    max_upload_bytes: int = 10 * 1024 * 1024
    max_roster_rows: int = 20000
    # Sign-in guards (docs/security.md): failed sign-ins one source address may make per
    # window before it gets 429; wrong passwords that lock a learner account (for staff:
    # addresses they came from) and for how long.
    login_address_max_failures: int = Field(default=20, ge=1)
    login_address_window_minutes: int = Field(default=10, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lock_minutes: int = Field(default=15, ge=1)
    # Credit policy (Art. 12); configurable because the measures let the province change them.
    class_hour_minutes: int = 45
    required_credit_per_hour: Decimal = Decimal("1")
    elective_credit_per_hour: Decimal = Decimal("0.5")
    bonus_counts_toward_total: bool = True
    # Tracker (see docs/protocol.md). The hot state lives in Redis when redis_url is set;
    # `redis+cluster://host:port` (or redis_cluster) uses Redis Cluster. Keys are spread
    # over a fixed number of shards (changing it strands live sessions: change it only
    # with every tracker stopped and the evidence streams drained).
    redis_prefix: str = "proctor:t:"
    redis_cluster: bool = False
    redis_shards: int = Field(default=16, ge=1, le=1024)
    # Shutdown: seconds the last evidence flush retries database errors before giving up
    # (Redis keeps what is left pending; the embedded store spills it to the data folder).
    shutdown_flush_s: float = Field(default=10.0, ge=0, le=300)
    # Seconds after which a summary waiting for evidence is written from what SQL has, and
    # after a session's expiry that an open session whose hot state is gone is ended.
    sweep_grace_s: int = Field(default=120, ge=10)
    sweep_interval_s: float = Field(default=30.0, ge=0.5)
    # Evidence a writer took and left unacknowledged this long (its process died) is claimed
    # by another process's writer.
    evidence_claim_idle_s: float = Field(default=30.0, ge=1)
    heartbeat_interval_s: int = Field(default=10, ge=2, le=60)
    heartbeat_max_gap_s: int = Field(default=30, ge=5)
    session_expire_s: int = Field(default=90, ge=10)
    max_credited_rate: float = Field(default=1.0, gt=0, le=4)
    completion_tail_s: int = Field(default=5, ge=0)
    challenge_min_s: int = Field(default=240, ge=5)
    challenge_max_s: int = Field(default=720, ge=5)
    # Detection: JSON object overriding rule thresholds (see proctor/detection/rules.py).
    detection_thresholds: str = ""
    # The anomaly layer flags this share of the cohort with or without a rule. 0.5 %: at
    # 1 % its budget fell on a harmless rarity (a couple cramming at home) in 3 of 5 dev
    # populations while every attacker there was found by a rule (docs/detection.md, run 10).
    detection_target_fpr: float = Field(default=0.005, gt=0, lt=0.5)
    # Review (Art. 16): days a learner has to appeal a finding after being notified.
    appeal_days: int = Field(default=15, ge=1, le=365)
    # Exams: invigilation counts at which an attempt goes to review (never an automatic fail).
    exam_max_focus_losses: int = Field(default=5, ge=1)
    exam_max_fullscreen_exits: int = Field(default=3, ge=1)
    exam_max_clipboard: int = Field(default=3, ge=1)
    exam_max_address_changes: int = Field(default=1, ge=1)
    exam_max_concurrent: int = Field(default=1, ge=1)
    # Lesson videos (docs/staff.md): the largest upload taken, the tools that probe and
    # transcode it (Debian's ffmpeg), and the tallest picture kept; uploads become H.264/AAC
    # MP4, which every browser and phone plays.
    max_video_bytes: int = Field(default=2 * 1024**3, ge=1024)
    ffmpeg: str = "ffmpeg"
    ffprobe: str = "ffprobe"
    video_max_height: int = Field(default=720, ge=144, le=2160)
    # Review deadlines the to-do pages and reminders count down to: days to decide a case
    # after it opens, and to answer an appeal after it is lodged; "near" is this many days.
    review_decide_days: int = Field(default=30, ge=1, le=365)
    review_appeal_answer_days: int = Field(default=15, ge=1, le=365)
    reminder_lead_days: int = Field(default=3, ge=0, le=60)
    # Study certificates (学时证明, PDF): a font with Simplified Chinese, embedded as a subset.
    # Empty: Noto Sans CJK SC of Debian's fonts-noto-cjk. A .ttc collection's SC face is found
    # by name.
    certificate_font: str = ""
    # Reminders beyond the in-app notice (docs/staff.md), off by default. E-mail goes
    # through this SMTP server; the webhook (SMS gateway, WeChat Work group robot) gets
    # a JSON POST: "json" sends {kind, title, body, link, to}, "wecom" a WeChat Work text
    # message mentioning the recipient's phone.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_sender: str = "noreply@localhost"
    smtp_starttls: bool = True
    smtp_timeout_s: float = Field(default=15.0, gt=0, le=300)
    notify_webhook_url: str = ""
    notify_webhook_format: Literal["json", "wecom"] = "json"
    notify_webhook_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # The site's address in links sent outside the product (e-mail, webhook).
    public_url: str = "http://127.0.0.1:8080"
    # Reports (docs/reports.md): percent a learner may trail the linear monthly schedule before
    # counting as behind; the yearly evaluation's weights (JSON object, see
    # proctor/reports/evaluation.py); minutes the rollup stays behind the clock, so that no
    # ledger transaction still open when it is built can fall between rollup and live tail.
    reports_schedule_tolerance: int = Field(default=10, ge=0, le=100)
    reports_evaluation: str = ""
    reports_rollup_margin_minutes: int = Field(default=10, ge=1)
    # xAPI (docs/xapi.md): verified study and exam results as statements to a Learning Record
    # Store; off while xapi_endpoint is empty. The endpoint is the LRS's xAPI base URL
    # (statements go to <endpoint>/statements), key and secret its HTTP basic credentials.
    # Actors are accounts on xapi_homepage (the academy's URL) named by a keyed pseudonym;
    # activity ids start with xapi_activity_base (default: <homepage>/xapi).
    xapi_endpoint: str = ""
    xapi_key: str = ""
    xapi_secret: str = ""
    xapi_homepage: str = ""
    xapi_activity_base: str = ""
    xapi_timeout_s: float = Field(default=15.0, gt=0, le=300)
    xapi_batch: int = Field(default=100, ge=1, le=1000)
    # Backoff after a failed delivery: base * 2^(attempts-1), capped.
    xapi_retry_base_s: float = Field(default=30.0, gt=0)
    xapi_retry_max_s: float = Field(default=6 * 3600.0, gt=0)
    # The scan for new sessions and attempts looks this far behind the newest one it has
    # enqueued (summaries and expiries can be written late); older ones: `xapi export`.
    xapi_scan_margin_hours: int = Field(default=24, ge=1, le=24 * 31)
    # Sent statements stay in the outbox this many days (by when what they describe happened),
    # then are deleted; pending ones stay until the LRS takes them.
    xapi_keep_days: int = Field(default=30, ge=1)
    # Scheduled jobs inside `proctor serve` (docs/operations.md, "Scheduled jobs"): times of
    # day are academy time (Asia/Shanghai) "HH:MM"; a job whose time or interval is empty
    # or 0 does not run (cron can run its command instead). Detection covers the last
    # job_detect_days full days; a failed run is retried job_retry_attempts times in all,
    # after job_retry_base_s * 2^(attempt-1) seconds; a run still "running" after
    # job_stale_minutes is taken over (its process died). job_run rows are kept job_keep_days.
    jobs_enabled: bool = True
    jobs_tick_s: float = Field(default=5.0, ge=0.1, le=300)
    job_detect_at: str = "02:00"
    job_detect_days: int = Field(default=7, ge=1, le=92)
    job_exams_every_minutes: int = Field(default=15, ge=0, le=24 * 60)
    job_reports_at: str = "03:00"
    job_partitions_at: str = "04:00"
    job_reminders_at: str = "08:30"
    job_xapi_every_minutes: int = Field(default=5, ge=0, le=24 * 60)
    job_retry_attempts: int = Field(default=3, ge=1, le=20)
    job_retry_base_s: float = Field(default=60.0, gt=0)
    job_stale_minutes: int = Field(default=120, ge=1)
    job_keep_days: int = Field(default=30, ge=1)
    # Raw beats kept online by the daily partition upkeep (0: never pruned by it; `proctor db
    # prune-beats` does it by hand). Beats cited by review cases are always kept.
    beats_keep_days: int = Field(default=0, ge=0)
    # /metrics (docs/operations.md): answered to requests that come straight (no
    # X-Forwarded-For) from these networks, or that carry "Authorization: Bearer <token>".
    metrics_allow: str = "127.0.0.1/32,::1/128"
    metrics_token: str = ""
    # argon2 cost; the tests lower it, production keeps the library's defaults.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        parse_networks(value)  # refuse a typo at start-up rather than trust nobody silently
        return value

    @field_validator("job_detect_at", "job_reports_at", "job_partitions_at", "job_reminders_at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        if value and not _HHMM.fullmatch(value):
            raise ValueError("must be a time of day HH:MM (00:00-23:59), or empty for never")
        return value

    @field_validator("xapi_endpoint", "xapi_homepage", "xapi_activity_base")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        if parts.query or parts.fragment or any(c.isspace() for c in value):
            raise ValueError("must be a plain URL without spaces, query or fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _xapi_complete(self) -> Settings:
        if self.xapi_endpoint and not self.xapi_homepage:
            raise ValueError("PROCTOR_XAPI_HOMEPAGE is required when PROCTOR_XAPI_ENDPOINT is set")
        return self

    @property
    def xapi_activities(self) -> str:
        """The base IRI of the academy's activity ids."""
        return self.xapi_activity_base or f"{self.xapi_homepage}/xapi"

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'proctor.db'}"

    def ensure_data_dir(self) -> Path:
        """Create the data folder (embedded database, key file, demo videos)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

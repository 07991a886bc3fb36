"""Service settings, read from ``MVT_*`` environment variables (and nowhere at import time)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mvt_service.cors import parse_origins
from store import mongo, sqlite
from store.repositories import Backend


class Settings(BaseSettings):
    """Every setting has a safe default; ``MVT_MONGO_URI`` unset means the single-machine store,
    an SQLite file at ``MVT_DATA_PATH``."""

    model_config = SettingsConfigDict(env_prefix="MVT_", extra="ignore")

    mongo_uri: str | None = Field(
        None, description="MongoDB connection string; unset = the single-machine store in MVT_DATA_PATH"
    )
    mongo_db: str = Field("mvt", description="database name")
    data_path: Path | None = Field(
        Path("mvt-data/mvt.sqlite3"),
        description="SQLite file of the single-machine store when MVT_MONGO_URI is unset (created with its "
        "folder); empty = a temporary file, removed when the service stops",
    )
    host: str = Field("127.0.0.1", description="address `mvt serve` binds to")
    port: int = Field(8000, ge=1, le=65535, description="port `mvt serve` listens on")
    reload_seconds: float = Field(
        2.0, gt=0, description="how often a worker polls for changed experiments and policies"
    )
    max_body_bytes: int = Field(262_144, gt=0, description="largest accepted request body")
    body_timeout_seconds: float = Field(10.0, gt=0, description="longest a request's body may take to arrive (408)")
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="longest a request's line and headers may take to arrive (408)"
    )
    max_header_bytes: int = Field(16_384, gt=0, description="largest request line and headers together (431)")
    keep_alive_seconds: int = Field(5, gt=0, description="how long an idle keep-alive connection is kept open")
    max_connections: int = Field(
        1000, gt=0, description="connections and requests served at once by a worker; beyond, 503"
    )
    log_flush_seconds: float = Field(
        0.1, gt=0, description="longest time a decision or reward waits in memory before it is written"
    )
    log_batch_size: int = Field(500, gt=0, description="records written per insert_many")
    log_ready_backlog: int | None = Field(
        None,
        gt=0,
        description="records queued in memory beyond which /readyz answers 503; unset = half of log_queue_max",
    )
    log_queue_max: int = Field(
        50_000, gt=0, description="records held in memory; beyond, decisions go unlogged (counted) and rewards get 503"
    )
    retention_days: int | None = Field(
        None,
        gt=0,
        description="delete decisions, rewards and activations this many days old (a TTL index); unset = keep them",
    )
    pending_seconds: float = Field(
        86_400.0,
        gt=0,
        description="how long a reward or activation whose decision is not stored waits for it before it is deleted",
    )
    spool_dir: Path = Field(
        Path("mvt-spool"), description="directory of the local spool that holds what MongoDB refused"
    )
    spool_max_bytes: int = Field(1_073_741_824, gt=0, description="largest spool file of a worker process")
    seed: int | None = Field(
        None, description="seed of the exploration sampler (for reproducible runs); unset = random"
    )
    demo: bool = Field(True, description="seed the demo experiment `home` on the embedded store")
    client_keys: str | None = Field(None, description="comma-separated API keys with the client role")
    cors_origins: str | None = Field(
        None,
        description="comma-separated origins whose pages may call the client endpoints (`*`: any); none by default",
    )
    operator_keys: str | None = Field(None, description="comma-separated API keys with the operator role")
    train_in_process: bool | None = Field(
        None, description="run the training schedule inside `mvt serve`; unset = only on the embedded store"
    )
    trainer_poll_seconds: float = Field(10.0, gt=0, description="how often the trainer looks for due experiments")
    trainer_lease_seconds: float = Field(
        600.0, gt=0, description="how long a trainer's lease on an experiment lasts without renewal"
    )

    @field_validator("data_path", mode="before")
    @classmethod
    def _temporary(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str | None) -> str | None:
        parse_origins(value)
        return value

    @property
    def embedded(self) -> bool:
        """Whether the service keeps its data itself, in one file (no MongoDB)."""
        return self.mongo_uri is None

    @property
    def trains_in_process(self) -> bool:
        return self.embedded if self.train_in_process is None else self.train_in_process


def open_backend(settings: Settings) -> Backend:
    """The database of ``settings``: MongoDB at ``MVT_MONGO_URI``, or else the SQLite file at
    ``MVT_DATA_PATH`` (a temporary one when it is empty)."""
    if settings.mongo_uri is not None:
        return mongo.connect(settings.mongo_uri, settings.mongo_db)
    if settings.data_path is None:
        return sqlite.temporary()
    return sqlite.open_file(settings.data_path)


def environment_errors(error: ValidationError) -> str:
    """The settings an environment got wrong, in one line: each variable, its value and what it
    must be (``MVT_PORT='abc': Input should be a valid integer…``)."""
    prefix = Settings.model_config.get("env_prefix", "")
    return "; ".join(
        f"{prefix}{str(e['loc'][0]).upper()}={e['input']!r}: {e['msg']}" if e["loc"] else e["msg"]
        for e in error.errors()
    )

"""One Settings object for the whole process, read from the environment once."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Jifen's settings; every field can be set as `JIFEN_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="JIFEN_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///jifen.db",
        description="SQLAlchemy URL; `postgresql+psycopg://...` for PostgreSQL.",
    )
    vault_keys: str = Field(
        default="",
        description="Fernet keys for ID numbers and phones, newest first, comma-separated.",
    )
    hash_key: str = Field(
        default="", description="The key of the lookup hashes of identities and phones."
    )
    simulated_clock: bool = Field(
        default=False, description="Serve a sandbox whose time is set by POST /v1/clock."
    )
    max_body_bytes: int = Field(default=4 * 1024 * 1024, description="Larger bodies get 413.")
    event_future_tolerance: timedelta = Field(
        default=timedelta(minutes=10),
        ge=timedelta(0),
        description="Events dated further than this after the server's clock are rejected with "
        "`event_in_future` (seconds, or ISO 8601 like `PT10M`).",
    )
    rate_limits: str = Field(
        default="default=50/100",
        description="Requests per second and burst per API key: `ROLE=PER_SECOND/BURST,...`, "
        "plus `default=` and `anonymous=` (per client address; unset: off). A key may send "
        "BURST requests in any BURST/PER_SECOND seconds, a whole number of them.",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where rate limits are counted: `memory://`, in each worker process (with N "
        "workers a key gets N times its limit), or `redis://HOST:PORT/DB`, shared by every "
        "worker and server. While Redis does not answer, each worker counts in its own memory.",
    )
    rate_limit_prefix: str = Field(
        default="jifen",
        description="The prefix of the rate-limit keys in Redis; one per deployment sharing it.",
    )
    max_in_flight: int = Field(
        default=32,
        ge=1,
        description="Requests one worker process works on at once; more are refused at once with "
        "503 `overloaded` (about its database pool's size: 10 connections and 20 overflow).",
    )
    group_commit_ms: float = Field(
        default=2.0,
        ge=0,
        le=1000,
        description="How long a worker gathers one-event `POST /v1/events` requests into one "
        "transaction (group commit), in milliseconds; 0 applies each on its own.",
    )
    group_commit_most: int = Field(
        default=200, ge=1, description="Events at most in one group-commit batch."
    )
    program_check_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often a worker checks which program version is active; a new version "
        "is served from the next check on, without a restart.",
    )

    stream_url: str = Field(
        default="",
        description="NATS servers of the event stream, comma-separated (`nats://host:4222`); "
        "unset: no stream (events are applied as they arrive, as in the embedded setup).",
    )
    stream_name: str = Field(default="JIFEN_EVENTS", description="The JetStream stream of events.")
    stream_subject: str = Field(
        default="jifen.events",
        description="Events go to `<subject>.<partition>`; dead letters to `<subject>.dead.*`.",
    )
    stream_partitions: int = Field(
        default=8,
        ge=1,
        le=1024,
        description="Partitions of the stream (by rider); fixed once events flow: more "
        "partitions than consumer workers lets workers be added later.",
    )
    stream_replicas: int = Field(
        default=1, ge=1, le=5, description="Copies of the stream in a JetStream cluster (3 there)."
    )
    stream_batch: int = Field(
        default=500, ge=1, le=10_000, description="Events a consumer applies in one transaction."
    )
    stream_max_deliver: int = Field(
        default=5,
        ge=1,
        description="Deliveries of an event that keeps failing before it goes to the dead letters.",
    )
    stream_ack_wait: float = Field(
        default=30.0,
        gt=0,
        description="Seconds before a batch a worker took and did not ack goes to another worker.",
    )

    session_secret: str = Field(
        default="",
        description="Signs console and portal session cookies; derived from the hash key if unset.",
    )


@cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()

"""Settings: environment variables (``PMARB_*``, plus ``DATABASE_URL`` and ``TEMPORAL_ADDRESS``)
over an optional ``pmarb.toml``, over defaults that encode the seed risk profile.

Invalid configuration raises :class:`ConfigError` whose message names every bad field, where it
came from and what is allowed; the CLI prints it and exits non-zero before starting anything.
"""

from __future__ import annotations

import os
import types
import typing
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pmarb.alerts.settings import AlertSettings
from pmarb.domain.risk import RiskLimits
from pmarb.matching.settings import MatchingSettings
from pmarb.oracles.config import OracleSettings
from pmarb.recording.settings import RecordingSettings
from pmarb.venues.settings import VenueSettings

CONFIG_FILE_ENV = "PMARB_CONFIG"
DEFAULT_CONFIG_FILE = "pmarb.toml"
ENV_PREFIX = "PMARB_"
NESTED_DELIMITER = "__"

LogLevel = Literal["debug", "info", "warning", "error"]


class ConfigError(Exception):
    """Configuration that cannot be used; the message is meant for the operator as-is."""


def default_data_dir() -> Path:
    """Where pmarb keeps its state when ``PMARB_DATA_DIR`` is not set.

    Root gets ``/var/lib/pmarb`` rather than ``~/.local/share``: the embedded PostgreSQL must run
    as an unprivileged user, which would otherwise need traverse rights into ``/root``.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/pmarb")
    return Path(platformdirs.user_data_dir("pmarb", appauthor=False))


class Settings(BaseSettings):
    """Process configuration. Read it once with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("DATABASE_URL", "PMARB_DATABASE_URL", "database_url"),
        description="External PostgreSQL; unset means pmarb runs an embedded one.",
    )
    temporal_address: str | None = Field(
        None,
        validation_alias=AliasChoices(
            "TEMPORAL_ADDRESS", "PMARB_TEMPORAL_ADDRESS", "temporal_address"
        ),
        description="External Temporal frontend host:port; unset means pmarb runs the dev server.",
    )
    temporal_namespace: str = Field("default", min_length=1)
    temporal_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "TEMPORAL_API_KEY", "PMARB_TEMPORAL_API_KEY", "temporal_api_key"
        ),
    )
    temporal_tls: bool = False
    task_queue: str = Field("pmarb", min_length=1)
    temporal_port: int = Field(7233, ge=1, le=65535)
    temporal_ui_port: int = Field(8233, ge=1, le=65535)
    postgres_port: int = Field(55432, ge=1, le=65535, description="Embedded PostgreSQL port.")
    sim_port_base: int = Field(
        18100, ge=1, le=65500, description="First of the seven ports the demo simulator uses."
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    paper: bool = True
    log_level: LogLevel = "info"
    secret_key: SecretStr | None = Field(
        None, description="Base64 32-byte key that encrypts venue credentials at rest."
    )
    risk: RiskLimits = Field(default_factory=RiskLimits)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    temporal_ui_url: str | None = Field(
        None, description="Temporal Web UI base URL for links; the dev server's when unset."
    )
    oracles: OracleSettings = Field(default_factory=OracleSettings)
    anthropic_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "ANTHROPIC_API_KEY", "PMARB_ANTHROPIC_API_KEY", "anthropic_api_key"
        ),
        description="Enables LLM adjudication in the matcher; unset means parsers only.",
    )
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    venues: VenueSettings = Field(default_factory=VenueSettings)
    worker_shutdown_grace_seconds: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM, how long in-flight activities (orders) get to finish before "
        "the worker cancels them; keep it below the process manager's stop grace period.",
    )
    marketdata_task_queue: str = Field(
        "pmarb-marketdata",
        min_length=1,
        description="Task queue of the process that holds the live books (orders, paper fills).",
    )
    recording: RecordingSettings = Field(default_factory=RecordingSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file_path()),
        )


def config_file_path() -> Path:
    explicit = os.environ.get(CONFIG_FILE_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_FILE_ENV} points at {path}, which is not a readable file")
        return path
    return Path(DEFAULT_CONFIG_FILE)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and ``pmarb.toml``; raise :class:`ConfigError` if bad."""
    try:
        return Settings(**overrides)
    except ValidationError as e:
        raise ConfigError(describe_validation_error(e)) from None
    except ValueError as e:  # malformed TOML or JSON in a nested env var
        raise ConfigError(f"Invalid configuration: {e}") from None


def describe_validation_error(error: ValidationError) -> str:
    lines = ["Invalid configuration:"]
    for item in error.errors():
        location = [str(part) for part in item["loc"]]
        dotted = ".".join(location)
        env_name = env_var_for(location)
        allowed = allowed_values(location)
        given = item.get("input")
        shown = "" if isinstance(given, dict) or given is None else f" (got {given!r})"
        line = f"  - {dotted}{shown}: {item['msg']}"
        if allowed:
            line += f"; allowed: {allowed}"
        line += f" [env {env_name} or '{dotted}' in {DEFAULT_CONFIG_FILE}]"
        lines.append(line)
    return "\n".join(lines)


def env_var_for(location: list[str]) -> str:
    first = location[0].lower() if location else ""
    aliases = {
        "database_url": "DATABASE_URL",
        "temporal_address": "TEMPORAL_ADDRESS",
        "temporal_api_key": "TEMPORAL_API_KEY",
        "anthropic_api_key": "ANTHROPIC_API_KEY",
    }
    if first in aliases or (location and location[0].isupper()):
        return aliases.get(first, location[0])
    return ENV_PREFIX + NESTED_DELIMITER.join(part.upper() for part in location)


def allowed_values(location: list[str]) -> str:
    field = field_at(location)
    if field is None:
        return ""
    annotation = field.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        annotation = members[0] if len(members) == 1 else annotation
    if typing.get_origin(annotation) is Literal:
        return ", ".join(str(value) for value in typing.get_args(annotation))
    if annotation is bool:
        return "true, false"
    bounds = []
    for constraint in field.metadata:
        for name, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(constraint, name, None)
            if value is not None:
                bounds.append(f"{symbol} {value}")
    return " and ".join(bounds)


def field_at(location: list[str]) -> FieldInfo | None:
    model: type[BaseModel] = Settings
    field: FieldInfo | None = None
    for part in location:
        fields = model.model_fields
        field = fields.get(part) or next(
            (
                candidate
                for name, candidate in fields.items()
                if part.upper() in {name.upper(), (ENV_PREFIX + name).upper()}
                or (
                    isinstance(candidate.validation_alias, AliasChoices)
                    and part in candidate.validation_alias.choices
                )
            ),
            None,
        )
        if field is None:
            return None
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return field

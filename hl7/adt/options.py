"""Options of an ``hl7_adt`` context source: the listener, and how it applies ADT/SIU."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from vitalsd.config import parse_duration
from vitalsd.context.source import SourceOptions


class AdtOptions(SourceOptions):
    """An MLLP listener for ADT (and SIU) from the EHR's interface engine."""

    bind: str = Field(
        description=(
            "address to listen on; required, because an interface engine is remote and "
            "'0.0.0.0' (every interface) should be a deliberate choice"
        )
    )
    port: int = Field(default=2575, ge=0, le=65535, description="TCP port (0: any free port)")
    tls_cert: Path | None = Field(default=None, description="serve MLLP over TLS with this PEM")
    tls_key: Path | None = Field(default=None, description="the certificate's key (PEM)")
    tls_client_ca: Path | None = Field(
        default=None, description="require client certificates signed by this CA (mutual TLS)"
    )
    allowed_facilities: tuple[str, ...] = Field(
        default=(),
        description="MSH-4 sending facilities accepted (HD namespace); others get AR. Empty: any",
    )
    processing_id: Literal["P", "T", "D"] = Field(
        default="P",
        description="MSH-11 this receiver accepts (P production, T training, D debug); others AR",
    )
    identifier_authority: str | None = Field(
        default=None,
        description=(
            "use the PID-3 repetition assigned by this authority (CX.4); none: the first "
            "repetition. A message for our room without it gets AE"
        ),
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        description=(
            "association lifetime after an admit, register, transfer or appointment ('12h'); "
            "default: the [context] timeout. A missed A03 must not keep a room forever"
        ),
    )
    siu_window_before: float = Field(
        default=1800.0,
        ge=0,
        description="an SIU S12/S14 associates when its start is at most this far ahead ('30m')",
    )
    siu_window_after: float = Field(
        default=3600.0,
        ge=0,
        description="... or at most this long past (a late check-in, '1h')",
    )
    max_connections: int = Field(
        default=4, ge=1, le=256, description="concurrent MLLP connections; more are closed"
    )

    @field_validator("timeout", "siu_window_before", "siu_window_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        # The same durations as [context] timeout, with the same message for a bad one.
        return parse_duration(value)

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("bind must name an address, e.g. '10.1.2.3' or '127.0.0.1'")
        return value.strip()

    @model_validator(mode="after")
    def _tls(self) -> AdtOptions:
        if self.tls_key is not None and self.tls_cert is None:
            raise ValueError("tls_key is set but tls_cert is not")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError("tls_client_ca (mutual TLS) needs tls_cert and tls_key too")
        return self

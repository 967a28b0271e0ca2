"""Options of the HL7 outputs (``[outputs.options]``), validated when the config is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hl7.settings import Hl7Settings
from vitalsd.output import OutputOptions

_D = Hl7Settings()


class MessageOptions(BaseModel):
    """``[outputs.options.message]``: the MSH and association choices (``Hl7Settings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sending_application: str = _D.sending_application
    sending_facility: str = _D.sending_facility
    receiving_application: str = _D.receiving_application
    receiving_facility: str = _D.receiving_facility
    processing_id: str = _D.processing_id
    accept_ack_type: str = _D.accept_ack_type
    application_ack_type: str = _D.application_ack_type
    character_set: str = _D.character_set
    principal_language: str = _D.principal_language
    loinc_alternates: bool = _D.loinc_alternates
    ucum_first: bool = _D.ucum_first
    unassociated_patient_id: str = _D.unassociated_patient_id
    patient_class: str = _D.patient_class
    time_sync_protocol: str = _D.time_sync_protocol
    times_in_utc: bool = _D.times_in_utc
    nibp_method: str = _D.nibp_method

    @model_validator(mode="after")
    def _valid(self) -> MessageOptions:
        self.to_settings()  # Hl7EncodeError is a ValueError: reported like any other
        return self

    def to_settings(self) -> Hl7Settings:
        values: dict[str, Any] = self.model_dump()
        return Hl7Settings(**values)


class ReportOptions(OutputOptions):
    """What both HL7 outputs share: message settings and the report rules."""

    message: MessageOptions = Field(default_factory=MessageOptions)
    oximeter_summary_interval: float = Field(
        default=60.0, gt=0, description="seconds between summaries of a continuous oximeter"
    )
    group_window: float = Field(
        default=2.0, gt=0, description="seconds to wait for the rest of a grouped reading"
    )
    control_id_prefix: str = Field(
        default="VSD", pattern=r"^[A-Za-z0-9]{0,3}$", description="MSH-10 prefix, 0-3 chars"
    )


class TlsOptions(BaseModel):
    """``[outputs.options.tls]``: present means TLS is on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: Path | None = Field(default=None, description="CA to verify the receiver with")
    cert_file: Path | None = Field(default=None, description="client certificate (PEM)")
    key_file: Path | None = Field(default=None, description="client key (PEM)")
    server_hostname: str | None = Field(default=None, description="name in the certificate")
    verify: bool = Field(default=True, description="false only for a lab bench, never a site")

    @model_validator(mode="after")
    def _files(self) -> TlsOptions:
        for name in ("ca_file", "cert_file", "key_file"):
            path: Path | None = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {path} does not exist or is not a file")
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file")
        return self


class Hl7Options(ReportOptions):
    host: str = Field(description="the interface engine's MLLP listener")
    port: int = Field(ge=1, le=65535)
    tls: TlsOptions | None = None
    connect_timeout: float = Field(default=10.0, gt=0)
    ack_timeout: float = Field(default=10.0, gt=0, description="seconds to wait for an ACK")
    max_rejects: int = Field(default=5, ge=1, description="AR/CR answers before dead letter")
    retry_on_content_error: bool = Field(
        default=False, description="resend on AE/CE (for engines that use AE for transient trouble)"
    )
    retry_initial: float = Field(default=1.0, gt=0, description="first resend delay, seconds")
    retry_max: float = Field(default=60.0, gt=0, description="longest resend delay, seconds")
    window: int = Field(
        default=1,
        ge=1,
        le=64,
        description="messages in flight before their ACKs; > 1 only for an engine that "
        "accepts pipelining and answers in order (see hl7.delivery)",
    )
    outbox_max_messages: int = Field(default=100_000, ge=1)
    outbox_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)


class Hl7FileOptions(ReportOptions):
    directory: Path = Field(description="folder the interface engine polls")
    suffix: str = Field(default=".hl7", pattern=r"^\.[A-Za-z0-9]{1,8}$")

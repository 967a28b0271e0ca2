"""The error the ORU encoder raises: input it cannot turn into a conformant message."""

from __future__ import annotations

from vitalsd.errors import VitalsdError


class Hl7EncodeError(VitalsdError, ValueError):
    """Observations or settings that cannot become a conformant PCD-01 message.

    A ``ValueError`` too, so a pydantic validator that builds ``Hl7Settings`` reports it
    as an ordinary validation problem.
    """

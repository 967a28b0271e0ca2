"""Record Access Control Point (0x2A52): requests a collector writes, answers it gets.

Source: ble-health.md §2.6 (Nordic RecordAccessControlPointData; hass-omron). Request
and response = op code, operator, operand. PLX, glucose and BP use uint16 counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

from drivers.ble.payload import PayloadError, PayloadReader
from vitalsd.model import DeviceEvent, DriverReport, EventSeverity


class OpCode(IntEnum):
    REPORT_STORED_RECORDS = 0x01
    DELETE_STORED_RECORDS = 0x02
    ABORT = 0x03
    REPORT_NUMBER = 0x04
    NUMBER_RESPONSE = 0x05
    RESPONSE_CODE = 0x06


class Operator(IntEnum):
    NULL = 0x00
    ALL = 0x01
    LESS_OR_EQUAL = 0x02
    GREATER_OR_EQUAL = 0x03
    WITHIN_RANGE = 0x04
    FIRST = 0x05
    LAST = 0x06


class ResponseCode(IntEnum):
    SUCCESS = 0x01
    OP_CODE_NOT_SUPPORTED = 0x02
    INVALID_OPERATOR = 0x03
    OPERATOR_NOT_SUPPORTED = 0x04
    INVALID_OPERAND = 0x05
    NO_RECORDS_FOUND = 0x06
    ABORT_UNSUCCESSFUL = 0x07
    PROCEDURE_NOT_COMPLETED = 0x08
    OPERAND_NOT_SUPPORTED = 0x09


FILTER_SEQUENCE_NUMBER = 0x01
_E = TypeVar("_E", bound=IntEnum)
FILTER_USER_FACING_TIME = 0x02


@dataclass(frozen=True, slots=True)
class RacpRequest:
    op_code: OpCode
    operator: Operator
    operand: bytes = b""

    def encode(self) -> bytes:
        return bytes((self.op_code, self.operator)) + self.operand


def report_all() -> RacpRequest:
    return RacpRequest(OpCode.REPORT_STORED_RECORDS, Operator.ALL)


def report_last() -> RacpRequest:
    return RacpRequest(OpCode.REPORT_STORED_RECORDS, Operator.LAST)


def report_since(sequence: int) -> RacpRequest:
    """Records with a sequence number ≥ ``sequence`` (inclusive, per the spec)."""
    operand = bytes((FILTER_SEQUENCE_NUMBER,)) + sequence.to_bytes(2, "little")
    return RacpRequest(OpCode.REPORT_STORED_RECORDS, Operator.GREATER_OR_EQUAL, operand)


def report_range(first: int, last: int) -> RacpRequest:
    operand = (
        bytes((FILTER_SEQUENCE_NUMBER,)) + first.to_bytes(2, "little") + last.to_bytes(2, "little")
    )
    return RacpRequest(OpCode.REPORT_STORED_RECORDS, Operator.WITHIN_RANGE, operand)


def report_number_all() -> RacpRequest:
    return RacpRequest(OpCode.REPORT_NUMBER, Operator.ALL)


def abort() -> RacpRequest:
    return RacpRequest(OpCode.ABORT, Operator.NULL)


@dataclass(frozen=True, slots=True)
class NumberOfRecords:
    count: int


@dataclass(frozen=True, slots=True)
class ProcedureResult:
    request_op_code: int
    code: ResponseCode

    @property
    def ok(self) -> bool:
        return self.code is ResponseCode.SUCCESS


RacpResponse = NumberOfRecords | ProcedureResult


def _enum(kind: type[_E], value: int, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise PayloadError(f"RACP: unknown {what} 0x{value:02x}") from None


def parse_request(data: bytes) -> RacpRequest:
    reader = PayloadReader("RACP request", data)
    op = _enum(OpCode, reader.uint(1, "op code"), "op code")
    operator = _enum(Operator, reader.uint(1, "operator"), "operator")
    return RacpRequest(op, operator, reader.raw(reader.remaining(), "operand"))


def parse_response(data: bytes) -> RacpResponse:
    reader = PayloadReader("RACP response", data)
    op = reader.uint(1, "op code")
    operator = reader.uint(1, "operator")
    if operator != Operator.NULL:
        raise PayloadError(f"RACP response: operator must be 0x00, got 0x{operator:02x}")
    if op == OpCode.NUMBER_RESPONSE:
        count = reader.uint(2, "number of records")
        reader.finish()
        return NumberOfRecords(count)
    if op == OpCode.RESPONSE_CODE:
        request = reader.uint(1, "request op code")
        code = _enum(ResponseCode, reader.uint(1, "response code"), "response code")
        reader.finish()
        return ProcedureResult(request, code)
    raise PayloadError(f"RACP response: op code 0x{op:02x} is not a response (0x05 or 0x06)")


def decode_racp(data: bytes) -> list[DriverReport]:
    """A captured RACP value: a response if it is one, else a request a collector wrote."""
    if data[:1] in (b"\x05", b"\x06"):
        response = parse_response(data)
        if isinstance(response, NumberOfRecords):
            return [DeviceEvent("racp", f"{response.count} stored records")]
        severity = EventSeverity.INFO if response.ok else EventSeverity.WARNING
        text = (
            f"op 0x{response.request_op_code:02x}: {response.code.name.lower().replace('_', ' ')}"
        )
        return [DeviceEvent("racp", text, severity, device_code=f"{response.code:#04x}")]
    request = parse_request(data)
    text = f"request {request.op_code.name.lower()} {request.operator.name.lower()}"
    if request.operand:
        text += f" operand {request.operand.hex(' ')}"
    return [DeviceEvent("racp", text)]

"""HL7 v2.5.1 ORU^R01 over MLLP to the clinic's HIS/RIS; the ACK decides the outcome.

MLLP frames a message as 0x0B <message> 0x1C 0x0D. MSA-1 AA (or CA) is success; AE/CE is an
application error worth retrying; AR/CR a rejection that retrying will not fix. The channel's
``charset`` (HL7 table 0211: UNICODE UTF-8 by default, or GB 18030-2000) is declared in MSH-18 and
used for the bytes both ways.
"""

from __future__ import annotations

import socket

from services.delivery import guard
from services.delivery.channels.base import Job, Outcome, network_error
from services.delivery.settings import DeliverySettings
from services.kit.clock import utc_now
from services.report.interop import hl7_charset
from services.report.interop.hl7_charset import DEFAULT_CHARSET, Hl7Charset
from services.report.interop.hl7_oru import build_oru

START, END = b"\x0b", b"\x1c\x0d"
MAX_ACK_BYTES = 1 << 20


def control_id(job: Job) -> str:
    """Return the message control id (MSH-10) of an attempt: 20 characters, unique per try."""
    return f"{job.delivery_id.hex[:16]}{job.attempt:04d}"


def frame(message: str, charset: Hl7Charset = DEFAULT_CHARSET) -> bytes:
    """Encode an ER7 message in ``charset`` and wrap it in the MLLP start and end blocks."""
    return START + hl7_charset.encode(message, charset) + END


def _read_frame(sock: socket.socket) -> bytes:
    data = b""
    while END not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the HIS closed the connection before a complete ACK")
        data += chunk
        if len(data) > MAX_ACK_BYTES:
            raise ConnectionError("the ACK is larger than 1 MiB")
    return data[data.index(START) + 1 if START in data else 0 : data.index(END)]


def parse_ack(ack: str, expected_control_id: str) -> Outcome:
    """Turn an ACK message into an outcome."""
    segments = {line.split("|", 1)[0]: line.split("|") for line in ack.split("\r") if line}
    msh, msa = segments.get("MSH"), segments.get("MSA")
    if msa is None or len(msa) < 2:
        return Outcome.retry("The HIS answered without an MSA segment; not an HL7 ACK.")
    code = msa[1]
    acked = msa[2] if len(msa) > 2 else ""
    ack_id = (msh[9] if msh and len(msh) > 9 else "") or acked
    text = msa[3] if len(msa) > 3 else ""
    if "ERR" in segments and not text:
        text = "|".join(segments["ERR"][1:])
    if acked != expected_control_id:
        return Outcome.retry(f"The ACK refers to message {acked!r}, not {expected_control_id!r}.")
    if code in ("AA", "CA"):
        return Outcome.ok(ack_id, detail=f"MSA {code} for {acked}")
    error = f"The HIS answered {code} (NACK): {text or 'no reason given'}"
    return Outcome.retry(error, ack_id) if code in ("AE", "CE") else Outcome.failed(error, ack_id)


def exchange(
    config: dict[str, object], message: str, cid: str, settings: DeliverySettings
) -> Outcome:
    """Send one ER7 message to the HIS in ``config`` (host, port, charset) and read its ACK."""
    host, port = str(config["host"]), int(str(config["port"]))
    charset = hl7_charset.of_config(config)
    address = guard.resolve(host, port, allow_private=settings.allow_private_network)
    try:
        with socket.create_connection((address, port), timeout=settings.timeout_s) as sock:
            sock.sendall(frame(message, charset))
            ack = _read_frame(sock)
    except OSError as exc:
        return network_error("HIS (HL7 MLLP)", host, port, exc)
    return parse_ack(ack.decode(hl7_charset.codec(charset), errors="replace"), cid)


def send(job: Job) -> Outcome:
    """Send the ORU^R01 and read the ACK."""
    cid = control_id(job)
    charset = hl7_charset.of_config(job.config)
    message = build_oru(job.export, control_id=cid, now=utc_now(), charset=charset)
    return exchange(job.config, message, cid, job.settings)

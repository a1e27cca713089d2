"""What a broker says its finalized features are (`transaction.version`, `metadata.version`, ...),
read from its ApiVersions answer: librdkafka's admin client has no call for them."""

from __future__ import annotations

import socket
import struct

API_VERSIONS, VERSION = 18, 3
#: ApiVersions v3's tagged field that carries the finalized features (KIP-584)
FINALIZED_FEATURES_TAG = 2


def finalized_features(bootstrap: str, timeout: float = 10.0) -> dict[str, int]:
    """{feature: finalized max version level} from the first broker in `bootstrap`
    (a PLAINTEXT listener)."""
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    header = struct.pack(">hhi", API_VERSIONS, VERSION, 1) + _string(b"fraud-tests") + b"\x00"
    body = _compact(b"fraud-tests") + _compact(b"1") + b"\x00"
    request = header + body
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _read(conn, 4))[0]
        answer = _Reader(_read(conn, size))
    answer.int32()  # correlation id (ApiVersions answers with header v0: no tagged fields)
    error = answer.int16()
    if error:
        raise RuntimeError(f"{bootstrap} answered ApiVersions v{VERSION} with error {error}")
    for _ in range(answer.uvarint() - 1):  # api keys: key, min, max, tagged fields
        answer.take(6)
        answer.skip_tags()
    answer.int32()  # throttle time
    features: dict[str, int] = {}
    for _ in range(answer.uvarint()):
        tag, size = answer.uvarint(), answer.uvarint()
        field = _Reader(answer.take(size))
        if tag == FINALIZED_FEATURES_TAG:
            for _ in range(field.uvarint() - 1):
                name = field.take(field.uvarint() - 1).decode()
                features[name] = field.int16()  # max version level, then the min one
                field.int16()
                field.skip_tags()
    return features


def _string(value: bytes) -> bytes:
    return struct.pack(">h", len(value)) + value


def _compact(value: bytes) -> bytes:
    return _uvarint(len(value) + 1) + value


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read(conn: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection mid-answer")
        data += chunk
    return bytes(data)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        chunk = self.data[self.at:self.at + size]
        self.at += size
        return chunk

    def int16(self) -> int:
        return struct.unpack(">h", self.take(2))[0]

    def int32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def skip_tags(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

"""Replay IDs: opaque 10-byte values that the emulator can map back to a stream position.

Layout: 8 bytes big-endian (a per-topic base plus the event's sequence number) followed by a
2-byte keyed tag. Real replay IDs are opaque and some are 10 bytes long; clients that cut them
to 8 bytes or turn them into integers get ``replayid.corrupted`` here, as they would from
Salesforce. The tag is keyed by a per-state-directory secret, so IDs from another emulator
(or forged ones) are rejected too.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

REPLAY_ID_LENGTH = 10


class ReplayCodec:
    """Encodes (topic, sequence) as replay-ID bytes and back."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, topic: str, base: int, seq: int) -> bytes:
        head = struct.pack(">Q", base + seq)
        return head + self._tag(topic, head)

    def decode(self, topic: str, base: int, replay_id: bytes) -> int | None:
        """The sequence number inside ``replay_id``, or None when it is not one of ours."""
        if len(replay_id) != REPLAY_ID_LENGTH:
            return None
        head, tag = replay_id[:8], replay_id[8:]
        if not hmac.compare_digest(tag, self._tag(topic, head)):
            return None
        seq = int(struct.unpack(">Q", head)[0]) - base
        return seq if seq >= 0 else None

    def _tag(self, topic: str, head: bytes) -> bytes:
        return hmac.new(self._secret, topic.lower().encode() + head, hashlib.sha256).digest()[:2]

"""The PostgreSQL inbox's statements (fixed column lists; every value is a parameter)."""

from __future__ import annotations

from subscriber.rows import COLUMNS

INSERT_ENTRY = (
    "INSERT INTO lsync_entries (topic, dedupe_key, kind, status, replay_id, event_id,"
    " schema_id, payload, change, error, raw, received_at, landed_epoch)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (topic, dedupe_key) DO NOTHING"
)
UPSERT_CHECKPOINT = (
    "INSERT INTO lsync_checkpoints VALUES (%s, %s, %s, %s) ON CONFLICT (topic) DO UPDATE"
    " SET replay_id = excluded.replay_id, updated_at = excluded.updated_at,"
    " epoch = excluded.epoch"
)
SET_STATUS = (
    "UPDATE lsync_entries SET status = %s, applied_at = %s, error = %s, applied_epoch = %s"
    " WHERE id = ANY(%s) AND status = 'pending'"
)
UPSERT_META = (
    "INSERT INTO lsync_meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE"
    " SET value = excluded.value"
)
SELECT_ENTRIES = (
    f"SELECT {COLUMNS} FROM lsync_entries WHERE status = %s AND id > %s"
    " AND (%s::text IS NULL OR topic = %s) AND NOT (id = ANY(%s))"
    " ORDER BY id LIMIT %s"
)
RECENT = f"SELECT {COLUMNS} FROM lsync_entries ORDER BY id DESC LIMIT %s"
COUNTS = """
SELECT topic,
       COUNT(*) FILTER (WHERE status = 'pending'), COUNT(*) FILTER (WHERE status = 'applied'),
       COUNT(*) FILTER (WHERE status = 'poison'),
       MIN(received_at) FILTER (WHERE status = 'pending'),
       COUNT(*) FILTER (WHERE status = 'applied' AND error != '')
FROM lsync_entries GROUP BY topic
"""
PRUNE = "DELETE FROM lsync_entries WHERE status = 'applied' AND applied_at < %s"

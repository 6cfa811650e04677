"""Stored files that no database row names: left behind when a worker died between writing a
document to the store and committing its row. `flask purge-documents` finds and deletes them.

Only files older than a grace period are considered, so a booking still checking its documents,
whose row is not committed yet, never loses its file.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa

from app.documents.rendering import discard_renders
from app.documents.store import upload_store
from app.extensions import db, end_read_transaction
from app.models import Document

log = logging.getLogger(__name__)
BATCH = 500


def purge_orphan_documents(older_than: dt.timedelta) -> int:
    """Delete stored documents older than `older_than` that no Document row names; returns how
    many went. Read-only on the database (ends its read transaction)."""
    store = upload_store()
    candidates = store.keys_older_than(older_than)
    orphans = []
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start : start + BATCH]
        known = set(
            db.session.scalars(sa.select(Document.storage_key).where(Document.storage_key.in_(batch)))
        )
        orphans.extend(key for key in batch if key not in known)
    end_read_transaction()  # files are deleted with no transaction open
    for key in orphans:
        store.delete(key)
        discard_renders(key)
    if orphans:
        log.warning("Removed %s stored document(s) that no appointment names", len(orphans))
    return len(orphans)

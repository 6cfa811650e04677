"""Stored files that no database row names, and how the code that stores them keeps it so.

Every writer (a booking, a citizen's replacement or follow-up, a clerk's result) writes the file to
the store first (fsynced), then commits the row that names it, inside `stored_until_committed`:
a committed row always has its file. A crash
between the two leaves only a file no row names; `flask purge-documents` finds and deletes those
(`purge_orphan_documents`), considering only files older than a grace period, so a booking whose
row is not committed yet never loses its file. When a transaction fails, `delete_unclaimed`
deletes its files at once, unless the database says a row names them (the commit went through
but its answer was lost) or cannot say (then purge-documents decides later).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator

import sqlalchemy as sa

from app.documents.rendering import discard_renders
from app.documents.store import upload_store
from app.extensions import db, end_read_transaction
from app.models import Document

log = logging.getLogger(__name__)
BATCH = 500


@contextlib.contextmanager
def stored_until_committed(*datas: bytes) -> Iterator[list[str]]:
    """Save `datas` in the upload store (fsynced) for rows the block writes and commits; yields
    their keys. If the block raises, roll back and delete those files no committed row names
    (`delete_unclaimed`), then re-raise. The block commits (or raises)."""
    store = upload_store()
    keys: list[str] = []
    try:
        for data in datas:
            keys.append(store.save(data))
        yield keys
    except BaseException:
        delete_unclaimed(keys)  # a commit whose answer was lost keeps its files
        raise


def delete_unclaimed(keys: list[str]) -> None:
    """After a failed write: roll the session back and delete the stored files among `keys` that
    no Document row names. Rolls back, then reads (and ends that read transaction)."""
    try:
        db.session.rollback()
        if not keys:
            return
        claimed = set(
            db.session.scalars(sa.select(Document.storage_key).where(Document.storage_key.in_(keys)))
        )
        end_read_transaction()
    except sa.exc.SQLAlchemyError:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            db.session.rollback()
        if keys:
            log.warning(
                "Kept %s stored document(s) for purge-documents: the database could not say", len(keys)
            )
        return
    store = upload_store()
    for key in keys:
        if key not in claimed:
            store.delete(key)


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

"""A call's search text, written with the call: its ``CallText`` row (see there for how it is
indexed) holds the ``text.search_grams`` of its turns as stored. The review app's queries
(``review.queries``) search it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.orm import Session

from pipeline.store.tables import CallText
from pipeline.text import search_grams


def write_search_text(session: Session, call_id: str, stored_texts: Iterable[str]) -> None:
    """Replace the call's search row with the grams of its turns as stored (redacted where
    they are), so search finds only what the turns show."""
    session.execute(delete(CallText).where(CallText.call_id == call_id))
    session.add(CallText(call_id=call_id, grams=search_grams(stored_texts)))

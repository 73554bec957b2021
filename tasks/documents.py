"""Document checklists (P6 household registration, P7 move-in): what still blocks the step."""
from __future__ import annotations

from typing import Mapping, Sequence

from tasks.registry import business_function


@business_function
def missing_documents(checklist: Mapping[str, object], required: Sequence[str] | str | None) -> list[str]:
    """The required documents not ticked on the checklist, in the order they are required.

    ``checklist`` maps a document's name to the checkbox the clerk ticked; only ``True`` counts, so
    an unanswered box blocks as a missing document does. ``required`` usually comes from a DMN
    table with the COLLECT hit policy: a list of names, or one name when one rule matched.
    """
    if required is None:
        return []
    names = [required] if isinstance(required, str) else list(required)
    return [name for name in names if checklist.get(name) is not True]

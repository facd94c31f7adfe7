"""The elder a request names, for the routers of every domain that works on one elder (404 both
for an unknown id and for an elder in another district, so that scoping cannot be forgotten)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.deps import READ_ONLY_METHODS, SessionDep, StaffPrincipal
from app.elders.service import get_visible_elder
from app.models.elders import Elder


def visible_elder(elder_id: str, request: Request, session: SessionDep, caller: StaffPrincipal) -> Elder:
    """The elder, locked for a writing request (two status changes run one after the other)."""
    return get_visible_elder(session, caller, elder_id, for_update=request.method not in READ_ONLY_METHODS)


VisibleElder = Annotated[Elder, Depends(visible_elder)]

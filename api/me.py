"""/api/v1/me: who this token is, so a client can show it and check it works."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from services import accounts
from services.me import MeOut, who_am_i

router = APIRouter(tags=["me"])


@router.get("/me", response_model=MeOut)
async def me(principal: CurrentPrincipal, desk: DeskDep) -> MeOut:
    return await who_am_i(desk, principal)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str
    new_password: str = Field(description="10 to 256 characters")


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
            responses=problems(403, 422))
async def change_password(body: PasswordChange, desk: DeskDep,
                          principal: CurrentPrincipal) -> Response:
    """An agent changes its own workspace password; its signed-in sessions end."""
    await accounts.change_own_password(desk, principal, current=body.current_password,
                                       new=body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

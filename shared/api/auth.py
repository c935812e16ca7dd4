"""Sign-in for admins and client viewers: POST /v1/auth/login, GET /v1/auth/me, POST /v1/auth/password."""

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from shared.api.auth_deps import UserDep
from shared.api.resources import ResourcesDep
from shared.http import client_ip
from shared.models.auth import LoginRequest, LoginResponse, PasswordChangeRequest, UserOut
from shared.services import auth
from shared.services.audit import audit

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=LoginResponse,
    summary="Sign in",
    responses={429: {"description": "Too many failed attempts for this email or address; see Retry-After"}},
)
async def login(body: LoginRequest, request: Request, resources: ResourcesDep) -> LoginResponse:
    """An access token (1 h) for an admin or client viewer. A wrong email and a wrong password
    answer the same 401; repeated failures are slowed, then refused with 429."""
    signed_in = await auth.login(
        resources.db,
        email=body.email,
        password=body.password,
        ip=client_ip(request, resources.settings.client_ip_header),
        key=resources.settings.signing_key_bytes,
        now=datetime.now(UTC),
    )
    audit(signed_in.user, "auth.login")
    return LoginResponse(
        access_token=signed_in.token, expires_at=signed_in.expires_at, user=UserOut.of(signed_in.user)
    )


@router.get("/me", response_model=UserOut, summary="The signed-in user")
async def me(user: UserDep) -> UserOut:
    """Who the access token belongs to."""
    return UserOut.of(user)


@router.post("/password", response_model=LoginResponse, summary="Change own password")
async def change_password(
    body: PasswordChangeRequest, user: UserDep, resources: ResourcesDep
) -> LoginResponse:
    """Change the signed-in user's password: every token of that user ends, and a fresh one is
    returned for this browser."""
    await auth.change_password(
        resources.db, user_id=user.id, current=body.current_password, new=body.new_password
    )
    fresh = await auth.authenticate_after_change(resources.db, user_id=user.id)
    token, expires_at = auth.issue_token(resources.settings.signing_key_bytes, fresh, now=datetime.now(UTC))
    audit(user, "auth.password_changed")
    return LoginResponse(access_token=token, expires_at=expires_at, user=UserOut.of(fresh))

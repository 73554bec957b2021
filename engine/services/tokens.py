"""Bearer tokens for programs: a worker or a deploy pipeline acts as one bpmdesk user.

A token names a user; that user's groups decide what the token may do, under the same rules as
the person signing in on the web (a token never has rights its user lacks). ``issue_token`` for
a name that is not a user yet creates it as a *service account* with the given groups and no
password, so it cannot sign in on the staff pages. Only the SHA-256 of a token is stored: it is
32 random bytes, so a fast hash cannot be searched backwards, and every request can check it.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from engine import clock
from engine.errors import InvalidInput, NotFound
from engine.history import record
from engine.services import access
from engine.services.access import Actor
from engine.services.users import UserInfo, _check_names, _info, normal_name, require_groups
from engine.store import ApiToken, AppUser, Database, Membership
from engine.store.prepared import Prepared

TOKEN_PREFIX = "bpd_"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user: str
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


@dataclass(frozen=True)
class IssuedToken:
    info: TokenInfo
    secret: str  # shown once; only its hash is kept


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _token_info(row: ApiToken) -> TokenInfo:
    return TokenInfo(row.id, row.user_name, row.prefix, row.created_at, row.created_by, row.revoked_at)


def issue_token(db: Database, name: str, groups: list[str] | None = None, *, actor: Actor) -> IssuedToken:
    """A new token for user ``name``; a new service account with ``groups`` if there is no such user.

    For an existing user ``groups`` must be left out: a token carries its user's groups, and
    changing a person's groups is ``bpmdesk users groups``, recorded as such.
    """
    access.require_admin(actor, "发放令牌")
    name = normal_name(name)
    groups = list(dict.fromkeys(groups or []))
    _check_names(name, groups)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    with db.unit_of_work() as session:
        user = session.get(AppUser, name)
        if user is None:
            require_groups(session, groups)
            user = AppUser(name=name, display_name=None, active=True, created_at=now, password_hash=None)
            user.memberships = [Membership(group_name=g) for g in groups]
            session.add(user)
            session.flush()  # the token row refers to it
            record(session, "user_added", actor.name, payload={"user": name, "groups": groups, "service_account": True})
        elif groups:
            raise InvalidInput(f"用户 {name} 已存在，令牌沿用其所在组；改组请用 bpmdesk users groups。")
        row = ApiToken(user_name=name, token_hash=_digest(secret), prefix=secret[:12], created_at=now,
                       created_by=actor.name)
        session.add(row)
        session.flush()
        record(session, "token_issued", actor.name, payload={"user": name, "token": row.id, "prefix": row.prefix})
        return IssuedToken(_token_info(row), secret)


def list_tokens(db: Database, *, actor: Actor) -> list[TokenInfo]:
    access.require_admin(actor, "查看令牌")
    with db.unit_of_work(read_only=True) as session:
        return [_token_info(r) for r in session.scalars(select(ApiToken).order_by(ApiToken.id))]


def revoke_token(db: Database, token_id: int, *, actor: Actor) -> TokenInfo:
    """The token stops working at once (every request checks it); the row stays for the record."""
    access.require_admin(actor, "吊销令牌")
    with db.unit_of_work() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"令牌 {token_id} 不存在。")
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            record(session, "token_revoked", actor.name, payload={"user": row.user_name, "token": row.id})
        return _token_info(row)


_BY_HASH = Prepared(select(ApiToken.user_name, ApiToken.revoked_at).where(ApiToken.token_hash == bindparam("hash")))


def user_of_token(db: Database, secret: str) -> UserInfo | None:
    """The active user a valid, unrevoked token stands for; None otherwise."""
    with db.unit_of_work(read_only=True) as session:
        row = _BY_HASH.first(session, hash=_digest(secret))
        if row is None or row.revoked_at is not None:
            return None
        user = session.get(AppUser, row.user_name)
        return _info(user) if user is not None and user.active else None

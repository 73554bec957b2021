"""Staff accounts and groups. Groups are the candidate groups diagrams name."""
from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import clock
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts
from engine.history import SYSTEM_CHAIN, record
from engine.services import access
from engine.services.access import ADMIN_GROUP, AUDITOR_GROUP, Actor
from engine.store import AppUser, Database, Event, Membership, UserSession, WorkGroup
from engine.store.prepared import Prepared


def _hash(password: str) -> str:
    """A salted slow hash; ``BPMDESK_PASSWORD_HASH`` (a werkzeug method) may make it cheaper for tests."""
    return generate_password_hash(password, method=os.environ.get("BPMDESK_PASSWORD_HASH", "scrypt"))


NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class UserInfo:
    name: str
    display_name: str | None
    groups: tuple[str, ...]
    active: bool

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups

    @property
    def is_auditor(self) -> bool:
        return AUDITOR_GROUP in self.groups


def normal_name(name: str) -> str:
    """A user name as stored and looked up: NFKC (full-width letters are letters) and lower case,
    so ``Frontdesk`` and ``ｆｒｏｎｔｄｅｓｋ`` are ``frontdesk`` and cannot be a second account."""
    return unicodedata.normalize("NFKC", name).strip().lower()


def _info(user: AppUser) -> UserInfo:
    return UserInfo(user.name, user.display_name, tuple(user.groups), user.active)


def _check_names(name: str, groups: list[str]) -> None:
    bad = [n for n in [name, *groups] if not NAME_PATTERN.match(n)]
    if bad:
        raise InvalidInput(f"名称不合法：{', '.join(bad)}（只允许字母、数字、点、下划线和连字符）")


def require_groups(session: Session, names: list[str]) -> None:
    """Refuse group ids that do not exist (a typo would give someone a queue nobody fills),
    naming them and what exists."""
    known = set(session.scalars(select(WorkGroup.name)))
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    if unknown:
        raise InvalidInput(f"没有这个组：{'、'.join(unknown)}。请先添加这个组（bpmdesk groups set），"
                           f"或从已有的组中选择：{'、'.join(sorted(known))}")


def require_user(session: Session, name: str) -> AppUser:
    user = session.get(AppUser, normal_name(name))
    if user is None or not user.active:
        raise Forbidden(f"用户 {name} 不存在或已停用。")
    return user


_GROUPS_OF = Prepared(select(AppUser.active, Membership.group_name)
                      .outerjoin(Membership, Membership.user_name == AppUser.name)
                      .where(AppUser.name == bindparam("name")))


def groups_of(session: Session, name: str) -> set[str]:
    """The groups of an active user (one indexed query, built once: it runs on every action)."""
    rows = _GROUPS_OF.all(session, name=normal_name(name))
    if not rows or not rows[0].active:
        raise Forbidden(f"用户 {name} 不存在或已停用。")
    return {row.group_name for row in rows if row.group_name is not None}


def actor_for(db: Database, name: str) -> Actor:
    """The active user ``name`` as an actor (the CLI's ``--as``); refused if unknown or inactive."""
    with db.unit_of_work(read_only=True) as session:
        groups = groups_of(session, name)
        return Actor(normal_name(name), groups, supervises=supervised_groups(session, groups))


def supervised_groups(session: Session, groups: set[str] | frozenset[str]) -> frozenset[str]:
    """The groups whose supervisor groups include one of ``groups``: their supervisors see the
    team's tasks and cases and may assign them or take them over. (An administrator manages
    accounts, not work: they supervise only where a group names them.)"""
    rows = session.execute(select(WorkGroup.name, WorkGroup.supervisor_groups)).all()
    return frozenset(name for name, supervisors in rows if set(groups) & set(supervisors or ()))


def supervised_by(db: Database, groups: set[str] | frozenset[str]) -> frozenset[str]:
    """:func:`supervised_groups` in a unit of work of its own (for the web's actor)."""
    with db.unit_of_work(read_only=True) as session:
        return supervised_groups(session, groups)


def add_user(db: Database, name: str, groups: list[str], password: str | None = None,
             display_name: str | None = None, *, actor: Actor) -> UserInfo:
    access.require_admin(actor, "管理用户")
    name = normal_name(name)
    _check_names(name, groups)
    with db.unit_of_work() as session:
        require_groups(session, groups)
        if session.get(AppUser, name) is not None:
            raise Conflict(f"用户 {name} 已存在。")
        user = AppUser(name=name, display_name=display_name, active=True, created_at=clock.now(),
                       password_hash=_hash(password) if password else None)
        user.memberships = [Membership(group_name=g) for g in dict.fromkeys(groups)]
        session.add(user)
        record(session, "user_added", actor.name, payload={"user": name, "groups": list(dict.fromkeys(groups))})
        session.flush()
        return _info(user)


def set_groups(db: Database, name: str, groups: list[str], *, actor: Actor) -> UserInfo:
    access.require_admin(actor, "管理用户")
    name = normal_name(name)
    _check_names(name, groups)
    with db.unit_of_work() as session:
        require_groups(session, groups)
        user = _existing(session, name)
        before = user.groups
        user.memberships = [Membership(group_name=g) for g in dict.fromkeys(groups)]
        record(session, "user_groups_changed", actor.name,
               payload={"user": name, "before": before, "after": list(dict.fromkeys(groups))})
        session.flush()
        return _info(user)


def set_password(db: Database, name: str, password: str, *, actor: Actor) -> None:
    access.require_admin(actor, "管理用户")
    if len(password) < 4:
        raise InvalidInput("密码至少 4 个字符。")
    with db.unit_of_work() as session:
        user = _existing(session, name)
        user.password_hash = _hash(password)
        record(session, "user_password_changed", actor.name, payload={"user": user.name})
        revoke_all(session, user.name)  # a cookie taken before the change stops working


def set_active(db: Database, name: str, active: bool, *, actor: Actor) -> None:
    access.require_admin(actor, "管理用户")
    with db.unit_of_work() as session:
        user = _existing(session, name)
        user.active = active
        record(session, "user_activated" if active else "user_deactivated", actor.name, payload={"user": user.name})
        if not active:
            revoke_all(session, user.name)


def _existing(session: Session, name: str) -> AppUser:
    user = session.get(AppUser, normal_name(name))
    if user is None:
        raise NotFound(f"用户 {name} 不存在。")
    return user


def get_user(db: Database, name: str) -> UserInfo | None:
    with db.unit_of_work(read_only=True) as session:  # on every request: never the write lock
        user = session.get(AppUser, normal_name(name))
        return _info(user) if user is not None else None


def list_users(db: Database) -> list[UserInfo]:
    with db.unit_of_work(read_only=True) as session:
        return [_info(u) for u in session.scalars(select(AppUser).order_by(AppUser.name))]


MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)


def authenticate(db: Database, name: str, password: str) -> UserInfo | None:
    """The user if the password matches an active account; None otherwise (no hint which part).

    Every attempt is recorded (``signed_in`` / ``sign_in_failed``), on a name that exists or not.
    After ``MAX_FAILED_SIGN_INS`` failures in a row within ``LOCKOUT`` the name refuses every
    attempt, the right password included, until the oldest of them is ``LOCKOUT`` old: guessing a
    password then takes years, not minutes. Kept in the database, so every worker counts the same
    attempts. A name without an account costs the same hash check and locks the same way, so
    neither the time taken nor the answer tells whether the account exists.
    """
    name = normal_name(name)[:100]
    with db.unit_of_work() as session:
        user = session.get(AppUser, name)
        now = clock.now()
        failures = _failures_in_a_row(session, name, now - LOCKOUT)
        if len(failures) >= MAX_FAILED_SIGN_INS:
            wait = max(1, math.ceil((failures[-MAX_FAILED_SIGN_INS] + LOCKOUT - now).total_seconds() / 60))
            raise TooManyAttempts(f"该账号连续登录失败 {len(failures)} 次，已暂时锁定，请 {wait} 分钟后再试。")
        stored = user.password_hash if user is not None and user.password_hash else _stand_in_hash()
        matches = check_password_hash(stored, password)  # always one check: the same time for everyone
        ok = bool(user is not None and user.active and user.password_hash and matches)
        record(session, "signed_in" if ok else "sign_in_failed", name, payload={})
        return _info(user) if ok and user is not None else None


@functools.lru_cache(maxsize=1)
def _stand_in_hash() -> str:
    """A hash made the way real ones are, checked for names without an account (or password)."""
    return _hash(os.urandom(16).hex())


def _failures_in_a_row(session: Session, name: str, since: datetime) -> list[datetime]:
    """When this account's sign-ins failed since ``since`` and since its last success, oldest first."""
    attempts = session.execute(
        select(Event.type, Event.at).where(Event.chain == SYSTEM_CHAIN, Event.actor == name,
                                           Event.type.in_(("signed_in", "sign_in_failed")), Event.at >= since)
        .order_by(Event.seq)).all()
    failures: list[datetime] = []
    for kind, at in attempts:
        failures = [*failures, at] if kind == "sign_in_failed" else []
    return failures


# --- sessions -------------------------------------------------------------------------------------

def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(db: Database, name: str) -> str:
    """A new session for a user who just signed in; returns the key its cookie carries."""
    key = secrets.token_urlsafe(32)
    with db.unit_of_work() as session:
        session.add(UserSession(key_hash=_key_hash(key), user_name=normal_name(name), created_at=clock.now()))
    return key


_SESSION_USER = select(UserSession.user_name).where(UserSession.key_hash == bindparam("key"),
                                                     UserSession.revoked_at.is_(None))


def session_user(db: Database, key: str) -> UserInfo | None:
    """The active user a session key belongs to, unless the session was revoked (every request)."""
    with db.unit_of_work(read_only=True) as session:
        name = session.scalar(_SESSION_USER, {"key": _key_hash(key)})
        user = session.get(AppUser, name) if name is not None else None
        return _info(user) if user is not None and user.active else None


def close_session(db: Database, key: str) -> None:
    """Sign out: this session's key stops working, wherever the cookie was copied."""
    with db.unit_of_work() as session:
        session.execute(update(UserSession).where(UserSession.key_hash == _key_hash(key),
                                                  UserSession.revoked_at.is_(None))
                        .values(revoked_at=clock.now()))


def revoke_sessions(db: Database, name: str, *, actor: Actor) -> int:
    """Sign a user out everywhere (an administrator's action); how many sessions it ended."""
    access.require_admin(actor, "管理用户")
    with db.unit_of_work() as session:
        user = _existing(session, name)
        ended = revoke_all(session, user.name)
        record(session, "user_signed_out_everywhere", actor.name, payload={"user": user.name, "sessions": ended})
        return ended


def revoke_all(session: Session, name: str) -> int:
    result = session.execute(update(UserSession).where(UserSession.user_name == name,
                                                       UserSession.revoked_at.is_(None))
                             .values(revoked_at=clock.now()))
    return result.rowcount or 0

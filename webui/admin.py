"""User and group management for administrators (the same services the CLI uses)."""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import services
from engine.errors import Forbidden, InvalidInput
from webui.formatting import person_name
from webui.views import actor, db

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            raise Forbidden("只有系统管理员可以管理用户。")
        return view(*args, **kwargs)

    return wrapper


def group_list(text: str | None) -> list[str]:
    """Groups typed as a list separated by spaces, commas or the Chinese comma."""
    return [g for g in re.split(r"[\s,，、]+", text or "") if g]


@bp.get("/users")
@admin_required
def users():
    return render_template("admin/users.html", users=services.list_users(db()), groups=services.list_groups(db()))


@bp.post("/groups")
@admin_required
def set_group():
    """Add a group or rename it; its supervisors are kept unless given."""
    supervisors = request.form.get("supervisor_groups")
    info = services.set_group(db(), request.form.get("name") or "", request.form.get("display_name") or "",
                              group_list(supervisors) if supervisors is not None else None, actor=actor())
    flash(f"已保存组「{info.display_name}」。", "ok")
    return redirect(url_for("admin.users", _anchor="groups"))


@bp.post("/users")
@admin_required
def add_user():
    name = (request.form.get("name") or "").strip()
    password = request.form.get("password") or ""
    if len(password) < 4:
        raise InvalidInput("初始密码至少 4 个字符。")
    services.add_user(db(), name, group_list(request.form.get("groups")), password,
                      display_name=(request.form.get("display_name") or "").strip() or None, actor=actor())
    flash(f"已添加用户 {name}。", "ok")
    return redirect(url_for("admin.users"))


@bp.post("/users/<name>/groups")
@admin_required
def set_groups(name: str):
    groups = group_list(request.form.get("groups"))
    if name == actor().name and "admin" not in groups:
        raise InvalidInput("不能取消自己的管理员身份（以免无人能管理用户）。")
    services.set_groups(db(), name, groups, actor=actor())
    flash(f"已更新 {person_name(name)} 的组。", "ok")
    return redirect(url_for("admin.users"))


@bp.post("/users/<name>/password")
@admin_required
def set_password(name: str):
    services.set_password(db(), name, request.form.get("password") or "", actor=actor())
    flash(f"已重设 {person_name(name)} 的密码。", "ok")
    return redirect(url_for("admin.users"))


@bp.post("/users/<name>/sessions/revoke")
@admin_required
def sign_out_everywhere(name: str):
    """Every session of the user ends now (a lost phone, a shared computer, a copied cookie)."""
    ended = services.revoke_sessions(db(), name, actor=actor())
    flash(f"已让 {name} 在所有地方登出（结束 {ended} 个会话）。", "ok")
    return redirect(url_for("admin.users"))


@bp.post("/users/<name>/active")
@admin_required
def set_active(name: str):
    active = request.form.get("active") == "1"
    if name == actor().name and not active:
        raise InvalidInput("不能停用自己的账号。")
    services.set_active(db(), name, active, actor=actor())
    flash(f"已{'启用' if active else '停用'}用户 {person_name(name)}。", "ok")
    return redirect(url_for("admin.users"))

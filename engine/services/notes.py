"""Comments and attachments on a case and its tasks, as Camunda's Tasklist has them.

A comment is an event of the case's history (``comment_added``: who, when, the text, the task);
an attachment is a row with its bytes kept by the store (engine/store/files.py) and an
``attachment_added`` event naming it by id, name, type, size and SHA-256, so the audit export and
a verified chain refer to exactly those bytes. Files are type-checked by their content, never by
the name or the browser's word: photos (JPEG, PNG, GIF, WebP) and PDF, nothing a browser could run.
Who may: anyone who may view the case writes, except auditors (they only read); whoever may view
the case opens its files (``access.py``).
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, limits
from engine.errors import InvalidInput, NotFound
from engine.history import record
from engine.services import access
from engine.services.access import AUDITOR_GROUP, Actor
from engine.services.cases import _case_tasks, _require_view
from engine.services.steps import touch_instance, translating_races
from engine.services.work import TaskItem
from engine.store import Attachment, Database, Instance, files

MAX_FILE_NAME = 200  # the column
# (how the bytes begin, type, what staff call it, extension)
KINDS = ((b"\xff\xd8\xff", "image/jpeg", "JPEG 图片", "jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", "PNG 图片", "png"),
         (b"GIF87a", "image/gif", "GIF 图片", "gif"), (b"GIF89a", "image/gif", "GIF 图片", "gif"),
         (b"%PDF-", "application/pdf", "PDF 文件", "pdf"))
KIND_WORDS = {content_type: (words, extension) for _, content_type, words, extension in KINDS}
KIND_WORDS["image/webp"] = ("WebP 图片", "webp")


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    instance_id: int
    task_id: str | None
    task_name: str | None
    file_name: str
    content_type: str
    size: int
    sha256: str
    added_by: str
    added_at: datetime

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def kind(self) -> str:
        """The type as staff say it (``JPEG 图片``)."""
        return KIND_WORDS[self.content_type][0]

    @property
    def extension(self) -> str:
        return KIND_WORDS[self.content_type][1]


def content_type_of(content: bytes) -> str | None:
    """What the bytes are, read from their first bytes; ``None`` for anything but an allowed kind."""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for start, kind, _, _ in KINDS if content.startswith(start)), None)


def safe_file_name(name: str, extension: str) -> str:
    """The uploader's file name as a label: no folders, no control characters, bounded."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip(" .")
    if len(base) > MAX_FILE_NAME:
        base = base[:MAX_FILE_NAME - len(extension) - 1] + "." + extension
    return base or f"附件.{extension}"


def size_words(size: int) -> str:
    """Bytes as staff read them: ``820 千字节``, ``1.2 兆字节``, ``5 兆字节``."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} 千字节"
    return f"{size / 1024 / 1024:.1f}".removesuffix(".0") + " 兆字节"


def _case_task(session: Session, instance_id: int, actor: Actor, task_id: str | None) -> TaskItem | None:
    """Check ``actor`` may view the case (and the task, when given, is one of its tasks)."""
    started_by = session.scalar(select(Instance.started_by).where(Instance.id == instance_id))
    if started_by is None:
        raise NotFound(f"案件 {instance_id} 不存在。")
    tasks = _case_tasks(session, instance_id)
    if not actor.operator:
        _require_view(actor, instance_id, started_by, tasks)
    if not task_id:
        return None
    task = next((t for t in tasks if t.id == task_id), None)
    if task is None:
        raise NotFound(f"案件 {instance_id} 没有这个任务。")
    return task


def _checked_file(content: bytes) -> str:
    """The type of an acceptable file, or the refusal staff read beside the upload."""
    largest = limits.number(limits.MAX_ATTACHMENT_BYTES)
    content_type = content_type_of(content) if content else None
    if not content:
        message = "请选择要上传的文件。"
    elif len(content) > largest:
        message = f"文件太大（{size_words(len(content))}），每个附件不能超过 {size_words(largest)}。"
    elif content_type is None:
        message = "只能上传照片（JPEG、PNG、GIF、WebP）或 PDF 文件。"
    else:
        return content_type
    raise InvalidInput(message, {"file": message})


def _about(task: TaskItem | None) -> dict[str, str | None]:
    return {"task_id": task.id if task else None, "element_id": task.element_id if task else None}


@translating_races
def add_comment(db: Database, instance_id: int, actor: Actor, text: str, task_id: str | None = None) -> None:
    """A comment on the case (on one of its tasks when ``task_id``), recorded in its history."""
    access.require_noter(actor)
    text = (text or "").strip()
    longest = limits.number(limits.MAX_FIELD_CHARS)
    if not text or len(text) > longest:
        message = "请填写备注内容。" if not text else f"备注不能超过 {longest} 个字。"
        raise InvalidInput(message, {"comment": message})
    limits.check_value(text, "备注")
    with db.unit_of_work() as session:
        task = _case_task(session, instance_id, actor, task_id)
        touch_instance(session, instance_id)
        record(session, "comment_added", actor.name, instance_id=instance_id, **_about(task),
               payload={"name": task.name if task else None, "text": text})


@translating_races
def add_attachment(db: Database, instance_id: int, actor: Actor, file_name: str, content: bytes,
                   task_id: str | None = None) -> AttachmentInfo:
    """Attach a photo or PDF to the case (to one of its tasks when ``task_id``)."""
    access.require_noter(actor)
    with db.unit_of_work() as session:
        task = _case_task(session, instance_id, actor, task_id)  # first: a stranger learns nothing of the file
        content_type = _checked_file(content)
        name = safe_file_name(file_name, KIND_WORDS[content_type][1])
        row = Attachment(instance_id=instance_id, task_id=task.id if task else None, file_name=name,
                         content_type=content_type, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                         added_by=actor.name, added_at=clock.now())
        files.store(row, content)
        session.add(row)
        session.flush()
        touch_instance(session, instance_id)
        record(session, "attachment_added", actor.name, instance_id=instance_id, **_about(task),
               payload={"name": task.name if task else None, "attachment": row.id, "file_name": name,
                        "content_type": content_type, "size": row.size, "sha256": row.sha256})
        return _info(row, task.name if task else None)


def _info(row: Attachment, task_name: str | None) -> AttachmentInfo:
    return AttachmentInfo(row.id, row.instance_id, row.task_id, task_name, row.file_name, row.content_type,
                          row.size, row.sha256, row.added_by, row.added_at)


def attachments(db: Database, instance_id: int, actor: Actor) -> list[AttachmentInfo]:
    """The case's attachments, oldest first, for whoever may view the case."""
    with db.unit_of_work(read_only=True) as session:
        _case_task(session, instance_id, actor, None)
        names = {t.id: t.name for t in _case_tasks(session, instance_id)}
        rows = session.scalars(select(Attachment).where(Attachment.instance_id == instance_id)
                               .order_by(Attachment.id))
        return [_info(row, names.get(row.task_id or "")) for row in rows]


def attachment_file(db: Database, attachment_id: int, actor: Actor) -> tuple[AttachmentInfo, bytes]:
    """One attachment and its bytes, for whoever may view its case (an auditor's look is recorded)."""
    with db.unit_of_work(read_only=True) as session:
        row = session.get(Attachment, attachment_id)
        if row is None:
            raise NotFound("没有这个附件。")
        _case_task(session, row.instance_id, actor, None)
        info, content = _info(row, None), files.load(row)
    if AUDITOR_GROUP in actor.groups:
        with db.unit_of_work() as session:
            record(session, "audit_viewed", actor.name,
                   payload={"view": "attachment", "instance_id": info.instance_id, "attachment": info.id})
    return info, content

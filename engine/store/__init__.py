"""Persistence: SQLAlchemy models, the Database (engine + units of work) and Alembic migrations."""
from engine.store.database import Database, default_url
from engine.store.models import (
    AppUser,
    Base,
    DefinitionVersion,
    Event,
    HumanTask,
    Instance,
    Membership,
    Outbox,
    TaskCandidate,
    WaitingTimer,
)

__all__ = [
    "AppUser", "Base", "Database", "DefinitionVersion", "Event", "HumanTask", "Instance",
    "Membership", "Outbox", "TaskCandidate", "WaitingTimer", "default_url",
]

"""Persistence: SQLAlchemy models, the Database (engine + units of work) and Alembic migrations."""
from engine.store.database import Database, default_url
from engine.store.models import (
    NO_DUE_DATE,
    ApiToken,
    AppUser,
    Base,
    DefinitionVersion,
    Event,
    EventSubscription,
    ExternalTask,
    HumanTask,
    Instance,
    Membership,
    Outbox,
    TaskCandidate,
    UserSession,
    WaitingTimer,
    WorkGroup,
)

__all__ = [
    "ApiToken", "AppUser", "Base", "Database", "DefinitionVersion", "Event", "EventSubscription", "ExternalTask",
    "HumanTask", "Instance", "Membership", "NO_DUE_DATE", "Outbox", "TaskCandidate", "UserSession", "WaitingTimer",
    "WorkGroup", "default_url",
]

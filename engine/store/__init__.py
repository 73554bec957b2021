"""Persistence: SQLAlchemy models, the Database (engine + units of work) and Alembic migrations."""
from engine.store.database import Database, default_url
from engine.store.models import (
    NO_DUE_DATE,
    ApiToken,
    AppUser,
    Attachment,
    Base,
    CaseFact,
    DefinitionVersion,
    Event,
    EventSubscription,
    ExternalTask,
    HumanTask,
    Instance,
    Membership,
    Outbox,
    SavedFilter,
    SlaFact,
    StepFact,
    TaskCandidate,
    UserSession,
    WaitingTimer,
    WorkGroup,
)

__all__ = [
    "ApiToken", "AppUser", "Attachment", "Base", "CaseFact", "SlaFact", "StepFact", "Database", "DefinitionVersion", "Event", "EventSubscription", "ExternalTask",
    "HumanTask", "Instance", "Membership", "NO_DUE_DATE", "Outbox", "SavedFilter", "TaskCandidate", "UserSession", "WaitingTimer",
    "WorkGroup", "default_url",
]

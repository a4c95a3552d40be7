"""Salesforce Pub/Sub intake: authenticate, subscribe, decode, and land events durably.

The service builds an :class:`Intake` from :class:`IntakeSettings`, a :class:`SessionProvider`
(over one of the token sources: :class:`JwtBearer`, :class:`ClientCredentials`,
:class:`UsernamePassword`, :class:`StaticToken`) and an :class:`Inbox`, then calls
``Intake.run(stop)``. Consumers read the inbox (``Inbox.pending`` / ``Inbox.mark_applied``).
Errors: :class:`Fatal` (exit, a human must act), :class:`InboxFailed` (the inbox cannot be
written: exit and let the service manager restart), :class:`RetryLater`,
:class:`Reauthenticate`, all under :class:`SubscriberError`.
"""

from subscriber.auth import Secret, Session, SessionProvider, StaticToken, TokenSource
from subscriber.errors import Fatal, InboxFailed, Reauthenticate, RetryLater, SubscriberError
from subscriber.events import (
    BatchStats,
    ChangeHeader,
    Checkpoint,
    DecodedEvent,
    EntryKind,
    EntryStatus,
    InboxEntry,
    TopicCounts,
    UndecodableEvent,
)
from subscriber.hooks import IntakeHooks
from subscriber.inbox import Inbox
from subscriber.intake import Intake
from subscriber.oauth import ClientCredentials, JwtBearer, OAuthEndpoint, UsernamePassword
from subscriber.settings import (
    LEAD_CHANGE_TOPIC,
    PLATFORM_EVENT_TOPIC,
    IntakeSettings,
    ReplayPolicy,
    StartFrom,
)

__all__ = [
    "LEAD_CHANGE_TOPIC",
    "PLATFORM_EVENT_TOPIC",
    "BatchStats",
    "ChangeHeader",
    "Checkpoint",
    "ClientCredentials",
    "DecodedEvent",
    "EntryKind",
    "EntryStatus",
    "Fatal",
    "Inbox",
    "InboxEntry",
    "InboxFailed",
    "Intake",
    "IntakeHooks",
    "IntakeSettings",
    "JwtBearer",
    "OAuthEndpoint",
    "Reauthenticate",
    "ReplayPolicy",
    "RetryLater",
    "Secret",
    "Session",
    "SessionProvider",
    "StartFrom",
    "StaticToken",
    "SubscriberError",
    "TokenSource",
    "TopicCounts",
    "UndecodableEvent",
    "UsernamePassword",
]

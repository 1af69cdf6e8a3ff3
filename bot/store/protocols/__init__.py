"""The storage protocols: a `Store` makes `Transaction`s, and a transaction has one
repository per aggregate (`tx.customers`, `tx.cases`, `tx.outbox` …).

Each method's contract is written here, on the protocol, not on an implementation:
it is what every backend must do, and what `tests/store/` checks on each of them.
"""

from bot.store.protocols.cases import Cases
from bot.store.protocols.customers import Customers
from bot.store.protocols.desk import DeskThreads
from bot.store.protocols.feedback import FeedbackLog
from bot.store.protocols.ideas import Ideas
from bot.store.protocols.inbound import InboundLog
from bot.store.protocols.incidents import Incidents
from bot.store.protocols.leadership import Leadership
from bot.store.protocols.links import Links
from bot.store.protocols.notices import Notices
from bot.store.protocols.outbox import OutboxRows, Sendable
from bot.store.protocols.personal import Merge, PersonalData
from bot.store.protocols.reports import CaseTimes, Reports
from bot.store.protocols.store import Store, Transaction
from bot.store.protocols.timeline import Timeline

__all__ = [
    "CaseTimes",
    "Cases",
    "Customers",
    "DeskThreads",
    "FeedbackLog",
    "Ideas",
    "InboundLog",
    "Incidents",
    "Leadership",
    "Links",
    "Merge",
    "Notices",
    "OutboxRows",
    "PersonalData",
    "Reports",
    "Sendable",
    "Store",
    "Timeline",
    "Transaction",
]

"""The contact-centre engine (呼叫中心引擎): agents, queues and routing, calls, IVR flows.

Pure Python: no Django, no database. It talks to a switch through ``hotline.telephony.boundary``,
reports facts through a ``Recorder`` and asks questions through a ``Directory``
(``hotline.callcenter.records``). See docs/acd.md.
"""

from .config import AgentConfig, CentreConfig, QueueConfig
from .engine import ContactCentre
from .errors import EngineError
from .observer import AgentView, NullObserver, Observer, OfferView, QueueView

__all__ = [
    "AgentConfig",
    "AgentView",
    "CentreConfig",
    "ContactCentre",
    "EngineError",
    "NullObserver",
    "Observer",
    "OfferView",
    "QueueConfig",
    "QueueView",
]

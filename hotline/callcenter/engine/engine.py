"""The contact centre (呼叫中心引擎): the switch's ``EventSink`` and the commands of agents and
supervisors.

``ContactCentre`` turns switch events into call, queue and agent changes, sends commands back to
the switch, reports every fact to the ``Recorder`` and every change to the ``Observer``. It is
pure Python: no Django, no database, no blocking calls. Commands that are not allowed in the
current state raise ``EngineError``. See docs/acd.md and docs/telephony.md.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from hotline.callcenter.records import (
    AGENT_HOLD,
    AGENT_LOGGED_OUT,
    AGENT_PAUSED,
    AGENT_READY,
    AGENT_RINGING,
    AGENT_TALKING,
    AGENT_WRAP_UP,
    OUTCOME_ABANDONED,
    OUTCOME_ANSWERED,
    OUTCOME_CALLBACK,
    OUTCOME_FAILED,
    OUTCOME_IVR,
    OUTCOME_OUTBOUND,
    OUTCOME_REFUSED,
    OUTCOME_VOICEMAIL,
    QE_ABANDON,
    QE_AGENT_LOGIN,
    QE_AGENT_LOGOUT,
    QE_AGENT_PAUSE,
    QE_AGENT_UNPAUSE,
    QE_ALL_BUSY,
    QE_CALLBACK,
    QE_COMPLETE,
    QE_CONNECT,
    QE_ENTER,
    QE_NO_ANSWER,
    QE_OFFER,
    QE_OVERFLOW,
    QE_TIMEOUT,
    QE_TRANSFER,
    QE_VOICEMAIL,
    AgentStateChange,
    CallerInfo,
    CallRecord,
    Directory,
    LegRecord,
    QueueEvent,
    Recorder,
)
from hotline.telephony.boundary import (
    Answer,
    Bridge,
    CallOffered,
    Conference,
    DigitReceived,
    Hangup,
    Hold,
    LegAnswered,
    LegFailed,
    LegHungUp,
    LegRinging,
    MediaFinished,
    Monitor,
    Mute,
    Originate,
    Play,
    Record,
    Switch,
    SwitchEvent,
    TimerHandle,
    Unhold,
)

from . import agents as ev
from .acd import QueueState
from .agents import STAFFED_STATES, AgentSession
from .calls import (
    LEG_AGENT,
    LEG_CALLER,
    LEG_CONSULT,
    LEG_OUTBOUND,
    LEG_SUPERVISOR,
    PHASE_BYE,
    PHASE_CONSULT,
    PHASE_DIALING,
    PHASE_ENDED,
    PHASE_IVR,
    PHASE_OUTSIDE,
    PHASE_QUEUE,
    PHASE_TALK,
    PHASE_VOICEMAIL,
    ROLE_AGENT_PHONE,
    ROLE_CALLER,
    ROLE_CONSULT,
    ROLE_OFFER,
    ROLE_OUTSIDE,
    ROLE_PARTY,
    ROLE_SUPERVISOR,
    Call,
    Leg,
)
from .config import (
    MAX_WAIT_CALLBACK,
    MAX_WAIT_OVERFLOW,
    MAX_WAIT_VOICEMAIL,
    STRATEGY_RING_ALL,
    STRATEGY_ROUND_ROBIN,
    AgentConfig,
    CentreConfig,
    QueueConfig,
)
from .errors import EngineError
from .ivr import Interpreter
from .observer import AgentView, NullObserver, Observer, OfferView, QueueView

ROLE_AGENT = "agent"  # an agent's answered leg on a call
RING_ALL_LIMIT = 30
MONITOR_MODES = ("listen", "whisper", "barge")


class ContactCentre:
    """The engine. Construct it with a switch, the configuration, a recorder and a directory, then
    attach it to the switch as its event sink (``switch.attach(centre)``)."""

    def __init__(
        self,
        *,
        switch: Switch,
        config: CentreConfig,
        recorder: Recorder,
        directory: Directory,
        observer: Observer | None = None,
    ) -> None:
        self.switch = switch
        self.config = config
        self.recorder = recorder
        self.directory = directory
        self.observer: Observer = observer or NullObserver()
        self._observing = not isinstance(self.observer, NullObserver)
        self.flows: Mapping[str, Mapping[str, Any]] = config.flows
        self.agents: dict[int, AgentSession] = {}
        self.queues: dict[str, QueueState] = {}
        self.region_queues: dict[str, str] = {}
        self.calls: dict[str, Call] = {}
        self.legs: dict[str, Leg] = {}
        self._media = 0
        self._outbound = 0
        # outbound call ids stay unique across restarts of the engine (call records key on them)
        self._outbound_prefix = f"O{uuid.uuid4().hex[:10]}-"
        self._last_at: datetime | None = None
        self._last_ts = 0.0
        self.ivr = Interpreter(self, switch.now)
        for queue in config.queues:
            self.queue_configure(queue)
        for agent in config.agents:
            self.agent_configure(agent)
        self._handlers: dict[type, Callable[[Any], None]] = {
            CallOffered: self._on_call_offered,
            LegRinging: self._on_leg_ringing,
            LegAnswered: self._on_leg_answered,
            DigitReceived: self._on_digit,
            MediaFinished: self._on_media_finished,
            LegHungUp: self._on_leg_hung_up,
            LegFailed: self._on_leg_failed,
        }

    # =============================================================================================
    # Configuration
    # =============================================================================================

    def queue_configure(self, config: QueueConfig) -> None:
        """Add a queue or change its settings (members and waiting callers stay)."""
        state = self.queues.get(config.code)
        if state is None:
            self.queues[config.code] = QueueState(config, self.agents)
        else:
            state.config = config
        self.region_queues = {
            q.config.region_code: q.code for q in self.queues.values() if q.config.region_code
        }

    def agent_configure(self, config: AgentConfig) -> None:
        """Add an agent or change their name, extension and skills (at once, also for an agent who
        is logged in: a ready agent is routed again with the new skills)."""
        for code in config.skills:
            if code not in self.queues:
                raise EngineError("unknown_queue", f"no queue {code!r}")
        session = self.agents.get(config.agent_id)
        if session is None:
            session = self.agents[config.agent_id] = AgentSession(config=config, extension=config.extension)
        else:
            staffed = int(session.state in STAFFED_STATES)
            ready = int(session.state == AGENT_READY)
            self._count(session, staffed=-staffed, ready=-ready)
            for code in session.config.skills:
                self.queues[code].members.pop(config.agent_id, None)
            session.config = config
            self._count(session, staffed=staffed, ready=ready)
        for code, level in config.skills.items():
            self.queues[code].add_member(config.agent_id, level)
        if session.state == AGENT_READY:
            session.version += 1  # entries in the old queues go stale
            self._agent_ready(session)

    # =============================================================================================
    # Switch events
    # =============================================================================================

    def on_event(self, event: SwitchEvent) -> None:
        self._handlers[type(event)](event)

    def _on_call_offered(self, event: CallOffered) -> None:
        info = self.directory.caller_info(event.caller, event.at)
        call = Call(
            call_id=event.call_id,
            direction="inbound",
            caller=event.caller,
            called=event.called,
            trunk=event.trunk,
            started_at=event.at,
            caller_leg=event.leg_id,
            info=info,
        )
        self.calls[call.call_id] = call
        self._add_leg(call, event.leg_id, LEG_CALLER, ROLE_CALLER, event.caller, at=event.at)
        if info.blacklisted:
            call.data["blacklisted"] = True
            action = info.blacklist_action or "refuse"
            if not action.startswith("flow:"):
                call.outcome = OUTCOME_REFUSED
                self._drop_leg(self.legs[event.leg_id], "call_rejected")
                self._finish_call(call)
                return
            flow_code = action.removeprefix("flow:")
        else:
            flow_code = self.config.hotlines.get(event.called, self.config.default_flow)
        call.outcome = OUTCOME_IVR
        self.switch.send(Answer(event.leg_id))
        self.legs[event.leg_id].answered_at = event.at
        if flow_code not in self.flows:
            call.outcome = OUTCOME_FAILED
            call.data["reason"] = "no_flow"
            self._drop_leg(self.legs[event.leg_id], "unallocated")
            self._finish_call(call)
            return
        self.ivr.start(call, flow_code)

    def _on_leg_ringing(self, event: LegRinging) -> None:
        pass  # the agent's state already says ringing; screens learnt it from the offer

    def _on_leg_answered(self, event: LegAnswered) -> None:
        leg = self.legs.get(event.leg_id)
        if leg is None or leg.ended:
            return
        leg.answered_at = event.at
        leg.trunk = event.trunk or leg.trunk
        call = leg.call
        if call.phase == PHASE_ENDED:
            self._drop_leg(leg)
            return
        role = leg.role
        if role == ROLE_OFFER:
            self._offer_answered(call, leg)
        elif role == ROLE_CONSULT:
            self._consult_answered(call, leg)
        elif role == ROLE_OUTSIDE:
            self._outside_answered(call, leg)
        elif role == ROLE_PARTY:
            if call.phase == PHASE_TALK and call.agent_leg:
                self.switch.send(Conference((call.caller_leg, call.agent_leg, leg.leg_id)))
            else:
                self._drop_leg(leg)
        elif role == ROLE_AGENT_PHONE:
            self._dial_agent_answered(call, leg)
        elif role == ROLE_SUPERVISOR:
            target = self.legs.get(leg.monitored_leg)
            if target is None or target.ended:
                self._drop_leg(leg)
            else:
                self.switch.send(Monitor(leg.leg_id, leg.monitored_leg, leg.monitor_mode))

    def _on_digit(self, event: DigitReceived) -> None:
        leg = self.legs.get(event.leg_id)
        if leg is None or leg.role != ROLE_CALLER:
            return
        call = leg.call
        if call.phase == PHASE_IVR:
            self.ivr.on_digit(call, event.digit)
        elif call.phase == PHASE_QUEUE and call.callback_offered and event.digit == "1":
            self._callback_accepted(call)

    def _on_media_finished(self, event: MediaFinished) -> None:
        leg = self.legs.get(event.leg_id)
        if leg is None or leg.role != ROLE_CALLER:
            return
        call = leg.call
        phase = call.phase
        if phase == PHASE_IVR:
            self.ivr.on_media(call, event.media_id, event.reason)
        elif event.media_id != call.media_id:
            return
        elif phase == PHASE_QUEUE:
            call.announcing = False
            self._play_music(call)
        elif phase == PHASE_VOICEMAIL:
            self._voicemail_step(call, event)
        elif phase == PHASE_BYE:
            self._drop_leg(leg)
            self._finish_call(call)

    def _on_leg_hung_up(self, event: LegHungUp) -> None:
        self._leg_gone(event.leg_id, event.cause, event.at, failed=False)

    def _on_leg_failed(self, event: LegFailed) -> None:
        if event.trunk and (leg := self.legs.get(event.leg_id)) is not None:
            leg.trunk = event.trunk
        self._leg_gone(event.leg_id, event.cause, event.at, failed=True)

    def _leg_gone(self, leg_id: str, cause: str, at: datetime, *, failed: bool) -> None:
        leg = self.legs.pop(leg_id, None)
        if leg is None:
            return
        call = leg.call
        self.recorder.leg(
            LegRecord(
                call_id=call.call_id,
                leg_id=leg_id,
                kind=leg.kind,
                party=leg.party,
                started_at=leg.started_at,
                answered_at=leg.answered_at,
                ended_at=at,
                cause=cause,
                agent_id=leg.agent_id,
                trunk=call.trunk if leg.role == ROLE_CALLER else leg.trunk,
            )
        )
        if leg.ended:  # the engine ended it and has already dealt with what follows
            return
        leg.ended = True
        if call.phase == PHASE_ENDED:
            return
        role = leg.role
        if role == ROLE_CALLER:
            self._caller_gone(call)
        elif role == ROLE_OFFER:
            self._offer_failed(call, leg, cause if failed else "no_answer")
        elif role == ROLE_AGENT:
            self._agent_leg_gone(call, leg)
        elif role == ROLE_CONSULT:
            self._consult_gone(call, leg, failed=failed, cause=cause)
        elif role == ROLE_OUTSIDE:
            self._outside_gone(call, leg, failed=failed, cause=cause)
        elif role == ROLE_PARTY:
            if call.party_leg == leg_id:
                call.party_leg = ""
                if call.phase == PHASE_TALK and call.agent_leg:
                    self.switch.send(Bridge(call.caller_leg, call.agent_leg))
        elif role == ROLE_AGENT_PHONE:
            if failed:
                call.data["failed"] = cause
            self._finish_call(call)

    # =============================================================================================
    # Legs, media and time
    # =============================================================================================

    def _now(self) -> tuple[datetime, float]:
        at = self.switch.now()
        if at is not self._last_at:  # the simulated clock hands out one object per instant
            self._last_at = at
            self._last_ts = at.timestamp()
        return at, self._last_ts

    def settled_until(self) -> datetime:
        """Every record of anything that began before this moment has been reported: the start of
        the oldest call still going on, or of a call an agent is still wrapping up (its handle
        time grows until the wrap-up ends); now when there is none. Records are reported as
        things happen, so what is reported later can only be about calls that started later."""
        at, _ts = self._now()
        oldest = at
        for call in self.calls.values():
            if call.started_at < oldest:
                oldest = call.started_at
        for agent in self.agents.values():
            began = agent.call_started
            if agent.state == AGENT_WRAP_UP and began is not None and began < oldest:
                oldest = began
        return oldest

    def timer(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        return self.switch.call_later(delay_s, callback)

    def _add_leg(
        self,
        call: Call,
        leg_id: str,
        kind: str,
        role: str,
        party: str,
        *,
        at: datetime | None = None,
        agent_id: int | None = None,
    ) -> Leg:
        leg = Leg(leg_id, call, kind, role, party, at or self.switch.now(), agent_id=agent_id)
        self.legs[leg_id] = leg
        call.legs[leg_id] = leg
        return leg

    def _new_leg(self, call: Call, kind: str, role: str, party: str, *, agent_id: int | None = None) -> Leg:
        return self._add_leg(call, call.next_leg_id(), kind, role, party, agent_id=agent_id)

    def _drop_leg(self, leg: Leg | None, cause: str = "normal") -> None:
        """Hang up a leg; its ``LegHungUp`` will only be recorded."""
        if leg is None or leg.ended:
            return
        leg.ended = True
        self.switch.send(Hangup(leg.leg_id, cause))

    def _media_id(self) -> str:
        self._media += 1
        return f"m{self._media}"

    def play(self, call: Call, prompts: tuple[str, ...], *, interrupt: bool) -> str:
        media_id = self._media_id()
        call.media_id = media_id
        self.switch.send(Play(call.caller_leg, media_id, prompts, interrupt=interrupt))
        return media_id

    def _play_music(self, call: Call) -> None:
        queue = self.queues.get(call.q_code or call.queue)
        music = queue.config.music if queue is not None else "moh"
        media_id = self._media_id()
        call.media_id = media_id
        self.switch.send(Play(call.caller_leg, media_id, (music,), loop=True))

    def _say_bye(self, call: Call, prompts: tuple[str, ...]) -> None:
        self.ivr.stop(call)
        if not prompts:
            self._drop_leg(self.legs.get(call.caller_leg))
            self._finish_call(call)
            return
        call.phase = PHASE_BYE
        self.play(call, prompts, interrupt=False)

    # =============================================================================================
    # Agents
    # =============================================================================================

    def _agent(self, agent_id: int) -> AgentSession:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise EngineError("unknown_agent", f"no agent {agent_id}")
        return agent

    def _move(self, agent: AgentSession, event: str, *, reason: str = "", by: int | None = None) -> None:
        at, ts = self._now()
        old, new = agent.apply(event, ts)
        agent.reason = (
            reason if new in (AGENT_PAUSED, ev.AGENT_LOCKED, ev.AGENT_OFF_HOOK, AGENT_LOGGED_OUT) else ""
        )
        if new in (AGENT_READY, AGENT_LOGGED_OUT, AGENT_PAUSED):
            agent.call_id = ""
            agent.queue = ""
        self.recorder.agent_state(
            AgentStateChange(
                agent_id=agent.agent_id,
                state=new,
                at=at,
                reason=agent.reason,
                call_id=agent.call_id,
                queue=agent.queue,
                by=by,
            )
        )
        was_staffed, staffed = old in STAFFED_STATES, new in STAFFED_STATES
        if was_staffed != staffed:
            self._count(agent, staffed=1 if staffed else -1)
        ready_changed = (old == AGENT_READY) != (new == AGENT_READY)
        if ready_changed:
            self._count(agent, ready=1 if new == AGENT_READY else -1)
        if self._observing:
            self.observer.agent_changed(self.agent_view(agent.agent_id))
            if ready_changed or was_staffed != staffed:
                for code in agent.config.skills:
                    self._queue_changed(self.queues[code])
        if new == AGENT_READY:
            self._agent_ready(agent)

    def _count(self, agent: AgentSession, *, staffed: int = 0, ready: int = 0) -> None:
        """Keep the staffed and ready counts of the agent's queues (for views and estimates)."""
        for code in agent.config.skills:
            queue = self.queues[code]
            queue.staffed += staffed
            queue.ready_count += ready

    def _agent_ready(self, agent: AgentSession) -> None:
        """An agent became ready: the best call they may take, or into the ready indexes."""
        _at, ts = self._now()
        agent_id = agent.agent_id
        best: Call | None = None
        best_queue: QueueState | None = None
        for code, level in agent.config.skills.items():
            queue = self.queues[code]
            reserved = queue.reserved.get(agent_id)
            if reserved:
                while reserved:
                    call = reserved.pop(0)
                    if call.reserved_for == agent_id and call.q_code == code and not call.offers:
                        self._offer(call, queue, [agent_id])
                        return
                queue.reserved.pop(agent_id, None)
            if not queue.waiting:
                continue
            candidate = queue.best_call_for(level, ts)
            if candidate is not None and (
                best is None
                or candidate.priority > best.priority
                or (candidate.priority == best.priority and candidate.q_entered < best.q_entered)
            ):
                best, best_queue = candidate, queue
        if best is not None and best_queue is not None:
            self._offer(best, best_queue, [agent_id])
            return
        for code in agent.config.skills:
            self.queues[code].push_ready(agent)

    def agent_login(self, *, agent_id: int, extension: str = "", ready: bool = True) -> AgentView:
        """Log in at a seat (签入); ``ready=False`` starts paused."""
        agent = self._agent(agent_id)
        if agent.state != AGENT_LOGGED_OUT:
            raise EngineError("bad_state", f"agent {agent_id} is already logged in")
        agent.extension = extension or agent.config.extension
        if not agent.extension:
            raise EngineError("bad_value", "an extension is needed to log in")
        agent.no_answers_in_row = 0
        at, _ts = self._now()
        self.recorder.queue_event(
            QueueEvent(QE_AGENT_LOGIN, at, agent_id=agent_id, data={"extension": agent.extension})
        )
        self._move(agent, ev.EV_LOGIN if ready else ev.EV_LOGIN_PAUSED, reason="" if ready else "login")
        return self.agent_view(agent_id)

    def agent_ready(self, *, agent_id: int, by: int | None = None) -> AgentView:
        """Ready (示闲): from paused, from wrap-up (ends it early) or from off-hook."""
        agent = self._agent(agent_id)
        was_paused = agent.state == AGENT_PAUSED
        self._cancel_wrap_up(agent)
        agent.pause_after_call = ""
        self._move(agent, ev.EV_READY, by=by)
        if was_paused:
            at, _ts = self._now()
            self.recorder.queue_event(QueueEvent(QE_AGENT_UNPAUSE, at, agent_id=agent_id, data={"by": by}))
        return self.agent_view(agent_id)

    def agent_pause(self, *, agent_id: int, reason: str = "", by: int | None = None) -> AgentView:
        """Pause (示忙) with a reason code; asked during a call, it starts when the call ends."""
        agent = self._agent(agent_id)
        at, _ts = self._now()
        if agent.state in (AGENT_TALKING, AGENT_HOLD):
            agent.pause_after_call = reason or "after_call"
            return self.agent_view(agent_id)
        self._cancel_wrap_up(agent)
        self._move(agent, ev.EV_PAUSE, reason=reason, by=by)
        self.recorder.queue_event(
            QueueEvent(QE_AGENT_PAUSE, at, agent_id=agent_id, data={"reason": reason, "by": by})
        )
        return self.agent_view(agent_id)

    def agent_unlock(self, *, agent_id: int, by: int | None = None) -> AgentView:
        """Unlock an agent locked after unanswered offers (解锁)."""
        agent = self._agent(agent_id)
        agent.no_answers_in_row = 0
        self._move(agent, ev.EV_UNLOCK, by=by)
        return self.agent_view(agent_id)

    def agent_logout(self, *, agent_id: int, by: int | None = None) -> AgentView:
        """Log out (签出); a supervisor's forced sign-out passes ``by``."""
        agent = self._agent(agent_id)
        self._cancel_wrap_up(agent)
        self._move(agent, ev.EV_LOGOUT, reason="supervisor" if by else "", by=by)
        at, _ts = self._now()
        self.recorder.queue_event(QueueEvent(QE_AGENT_LOGOUT, at, agent_id=agent_id, data={"by": by}))
        return self.agent_view(agent_id)

    def _cancel_wrap_up(self, agent: AgentSession) -> None:
        timer = agent.wrap_up_timer
        if timer is not None:
            timer.cancel()  # type: ignore[attr-defined]
            agent.wrap_up_timer = None

    def _agent_off_call(self, agent: AgentSession, wrap_up_s: float) -> None:
        """The agent's part in a call ended: wrap-up, ready or a pause asked for during it."""
        agent.leg_id = ""
        if agent.state == AGENT_RINGING:
            self._move(agent, ev.EV_WITHDRAW)
            return
        if agent.state not in (AGENT_TALKING, AGENT_HOLD):
            return
        if agent.pause_after_call:
            reason, agent.pause_after_call = agent.pause_after_call, ""
            self._move(agent, ev.EV_CALL_END_PAUSE, reason=reason)
        elif wrap_up_s > 0:
            self._move(agent, ev.EV_CALL_END)
            version = agent.version
            agent.wrap_up_timer = self.timer(wrap_up_s, lambda: self._wrap_up_end(agent, version))
        else:
            self._move(agent, ev.EV_CALL_END_READY)

    def _wrap_up_end(self, agent: AgentSession, version: int) -> None:
        agent.wrap_up_timer = None
        if agent.version == version and agent.state == AGENT_WRAP_UP:
            self._move(agent, ev.EV_WRAP_UP_END)

    # =============================================================================================
    # Queues
    # =============================================================================================

    def _queue(self, code: str) -> QueueState:
        queue = self.queues.get(code)
        if queue is None:
            raise EngineError("unknown_queue", f"no queue {code!r}")
        return queue

    def _qevent(self, kind: str, call: Call, queue: str, **kwargs: Any) -> None:
        at, _ts = self._now()
        self.recorder.queue_event(QueueEvent(kind, at, queue=queue, call_id=call.call_id, **kwargs))

    def _queue_changed(self, queue: QueueState) -> None:
        if self._observing:
            self.observer.queue_changed(self.queue_view(queue.code))

    def _enter_queue(
        self,
        call: Call,
        code: str,
        *,
        reserve_for: int | None = None,
        reserve_s: float = 0.0,
        data: dict[str, Any] | None = None,
    ) -> None:
        queue = self.queues.get(code)
        if queue is None:
            call.data["reason"] = f"unknown_queue:{code}"
            call.outcome = OUTCOME_FAILED
            self._say_bye(call, ())
            return
        at, ts = self._now()
        self.ivr.stop(call)
        config = queue.config
        call.phase = PHASE_QUEUE
        call.queue = code
        if call.outcome in ("", OUTCOME_IVR):
            call.outcome = OUTCOME_ABANDONED
        if call.queued_at is None:
            call.queued_at = at
        info = call.info
        if info.vip:
            call.priority = max(call.priority, config.vip_priority)
        if info.repeat_within_hours:
            call.priority = max(call.priority, config.repeat_priority)
        queue.enter(call, ts)
        self._qevent(
            QE_ENTER,
            call,
            code,
            position=queue.position(call),
            wait_s=0.0,
            data={"priority": call.priority, **(data or {})},
        )
        self._play_music(call)
        seq = call.q_seq
        timers = call.q_timers
        if config.max_wait_s > 0:
            timers.append(self.timer(config.max_wait_s, lambda: self._max_wait(call, code, seq)))
        if config.overflow_after_s > 0 and config.overflow_queue:
            timers.append(self.timer(config.overflow_after_s, lambda: self._overflow(call, code, seq)))
        if config.announce_every_s > 0:
            timers.append(self.timer(config.announce_every_s, lambda: self._announce(call, code, seq)))
        for after, _level in config.tiers:
            if after > 0:
                timers.append(self.timer(after, lambda: self._tier_widened(call, code, seq)))
        last = info.last_agent_id
        if (
            reserve_for is None
            and last is not None
            and self.config.last_agent_wait_s > 0
            and last in queue.members
        ):
            agent = self.agents.get(last)
            if agent is not None and agent.state in (AGENT_READY, AGENT_TALKING, AGENT_HOLD, AGENT_WRAP_UP):
                reserve_for, reserve_s = last, self.config.last_agent_wait_s
        if reserve_for is not None:
            call.reserved_for = reserve_for
            queue.reserved.setdefault(reserve_for, []).append(call)
            timers.append(self.timer(reserve_s, lambda: self._reservation_over(call, code, seq)))
            agent = self.agents[reserve_for]
            if agent.state == AGENT_READY:
                self._offer(call, queue, [reserve_for])
            elif queue.best_agent(config.min_level_after(0.0)) is None:
                self._qevent(QE_ALL_BUSY, call, code, position=queue.position(call), wait_s=0.0)
        else:
            queue.make_available(call)
            if not self._route(call, queue, ts):
                self._qevent(QE_ALL_BUSY, call, code, position=queue.position(call), wait_s=0.0)
        self._queue_changed(queue)

    def _route(self, call: Call, queue: QueueState, ts: float) -> bool:
        """Offer a waiting call to the best eligible ready agent(s); False if there is none."""
        if call.reserved_for is not None:
            agent = self.agents.get(call.reserved_for)
            if agent is not None and agent.state == AGENT_READY:
                self._offer(call, queue, [agent.agent_id])
                return True
            return False
        min_level = queue.config.min_level_after(ts - call.q_entered)
        if queue.config.strategy == STRATEGY_RING_ALL:
            ids = queue.ready_agents(min_level, RING_ALL_LIMIT)
            if ids:
                self._offer(call, queue, ids)
                return True
            return False
        agent_id = queue.best_agent(min_level)
        if agent_id is None:
            return False
        self._offer(call, queue, [agent_id])
        return True

    def _still_waiting(self, call: Call, code: str, seq: int) -> bool:
        return call.phase == PHASE_QUEUE and call.q_code == code and call.q_seq == seq

    def _tier_widened(self, call: Call, code: str, seq: int) -> None:
        if self._still_waiting(call, code, seq) and call.q_available and not call.offers:
            self._route(call, self.queues[code], self._now()[1])

    def _reservation_over(self, call: Call, code: str, seq: int) -> None:
        if not self._still_waiting(call, code, seq) or call.reserved_for is None:
            return
        call.reserved_for = None
        if not call.offers:
            queue = self.queues[code]
            queue.make_available(call)
            self._route(call, queue, self._now()[1])

    def _leave_queue(self, call: Call) -> None:
        """The call stops waiting (connected, abandoned, moved on)."""
        code = call.q_code
        if not code:
            return
        queue = self.queues[code]
        _at, ts = self._now()
        call.wait_s += ts - call.q_entered
        queue.leave(call)
        call.reserved_for = None
        call.callback_offered = False
        call.announcing = False
        for timer in call.q_timers:
            timer.cancel()
        call.q_timers.clear()
        self._queue_changed(queue)

    def _withdraw_offers(self, call: Call) -> None:
        for leg_id, agent_id in list(call.offers.items()):
            self._drop_leg(self.legs.get(leg_id))
            agent = self.agents[agent_id]
            if agent.state == AGENT_RINGING and agent.leg_id == leg_id:
                agent.leg_id = ""
                self._move(agent, ev.EV_WITHDRAW)
            if self._observing:
                self.observer.offer_ended(agent_id=agent_id, call_id=call.call_id, answered=False)
        call.offers.clear()

    def _offer(
        self, call: Call, queue: QueueState, agent_ids: list[int], *, data: dict[str, Any] | None = None
    ) -> None:
        queue.make_unavailable(call)
        _at, ts = self._now()
        wait = ts - call.q_entered
        position = queue.position(call)
        round_robin = queue.config.strategy == STRATEGY_ROUND_ROBIN
        for agent_id in agent_ids:
            agent = self.agents[agent_id]
            if round_robin:
                queue.rr_turn += 1
                agent.rr_turn[queue.code] = queue.rr_turn
            leg = self._new_leg(call, LEG_AGENT, ROLE_OFFER, f"ext:{agent.extension}", agent_id=agent_id)
            agent.leg_id = leg.leg_id
            agent.call_id = call.call_id
            agent.queue = queue.code
            call.offers[leg.leg_id] = agent_id
            self._move(agent, ev.EV_OFFER)
            self.switch.send(
                Originate(
                    call_id=call.call_id,
                    leg_id=leg.leg_id,
                    target=f"ext:{agent.extension}",
                    caller_id=call.caller,
                    timeout_s=queue.config.ring_timeout_s,
                )
            )
            self._qevent(
                QE_OFFER, call, queue.code, agent_id=agent_id, position=position, wait_s=wait, data=data or {}
            )
            if self._observing:
                self.observer.offer(self._offer_view(call, agent_id, queue.code, wait))

    def _offer_view(self, call: Call, agent_id: int, queue: str, wait: float) -> OfferView:
        info = call.info
        marks = [
            mark
            for mark, on in (
                ("vip", info.vip),
                ("repeat", info.repeat_within_hours),
                ("blacklisted", info.blacklisted),
                ("whitelisted", info.whitelisted),
                ("transferred", call.transfers > 0),
                ("last_agent", info.last_agent_id == agent_id),
            )
            if on
        ]
        return OfferView(
            agent_id=agent_id,
            call_id=call.call_id,
            caller=call.caller,
            queue=queue,
            info=info,
            marks=tuple(marks),
            draft=dict(call.draft),
            data=dict(call.data),
            wait_s=wait,
        )

    def _offer_answered(self, call: Call, leg: Leg) -> None:
        agent_id = leg.agent_id
        assert agent_id is not None
        agent = self.agents[agent_id]
        if call.phase != PHASE_QUEUE or leg.leg_id not in call.offers:
            self._drop_leg(leg)  # answered too late
            if agent.state == AGENT_RINGING and agent.leg_id == leg.leg_id:
                agent.leg_id = ""
                self._move(agent, ev.EV_WITHDRAW)
            return
        del call.offers[leg.leg_id]
        self._withdraw_offers(call)
        queue = self.queues[call.q_code]
        at, ts = self._now()
        self._qevent(QE_CONNECT, call, queue.code, agent_id=agent_id, wait_s=ts - call.q_entered)
        self._leave_queue(call)
        leg.role = ROLE_AGENT
        agent.no_answers_in_row = 0
        agent.calls += 1
        self._move(agent, ev.EV_ANSWER)
        self._connect_agent(call, leg, agent, queue.config, at, ts)
        if self._observing:
            self.observer.offer_ended(agent_id=agent_id, call_id=call.call_id, answered=True)

    def _connect_agent(
        self, call: Call, leg: Leg, agent: AgentSession, config: QueueConfig, at: datetime, ts: float
    ) -> None:
        call.phase = PHASE_TALK
        call.agent_id = agent.agent_id
        call.agent_leg = leg.leg_id
        call.outcome = OUTCOME_ANSWERED
        call.wrap_up_s = config.wrap_up_s
        if call.first_agent_id is None:
            call.first_agent_id = agent.agent_id
            call.answered_at = at
        call.talk_started = ts
        record_path = self._media_path(f"{call.call_id}-{leg.leg_id}.wav") if config.record_calls else ""
        self.switch.send(
            Bridge(call.caller_leg, leg.leg_id, record=config.record_calls, record_path=record_path)
        )

    def _offer_failed(self, call: Call, leg: Leg, cause: str) -> None:
        agent_id = leg.agent_id
        assert agent_id is not None
        agent = self.agents[agent_id]
        call.offers.pop(leg.leg_id, None)
        if agent.state == AGENT_RINGING and agent.leg_id == leg.leg_id:
            agent.leg_id = ""
            if cause == "busy":
                agent.off_hooks += 1
                self._move(agent, ev.EV_BUSY, reason="busy")
            else:
                agent.no_answers += 1
                agent.no_answers_in_row += 1
                if agent.no_answers_in_row >= self.config.lock_after_no_answers > 0:
                    self._move(agent, ev.EV_LOCK, reason="no_answer")
                else:
                    self._move(agent, ev.EV_NO_ANSWER)
        if self._observing:
            self.observer.offer_ended(agent_id=agent_id, call_id=call.call_id, answered=False)
        if call.phase != PHASE_QUEUE or not call.q_code:
            return
        _at, ts = self._now()
        queue = self.queues[call.q_code]
        self._qevent(
            QE_NO_ANSWER,
            call,
            queue.code,
            agent_id=agent_id,
            position=queue.position(call),
            wait_s=ts - call.q_entered,
            data={"cause": cause},
        )
        if call.offers:
            return
        if call.reserved_for == agent_id:
            call.reserved_for = None
        queue.make_available(call)
        self._route(call, queue, ts)

    def _caller_gone(self, call: Call) -> None:
        phase = call.phase
        if phase == PHASE_QUEUE:
            queue = self.queues[call.q_code]
            _at, ts = self._now()
            wait = ts - call.q_entered
            self._qevent(
                QE_ABANDON,
                call,
                queue.code,
                position=queue.position(call),
                wait_s=wait,
                data={"short": wait < self.config.short_abandon_s},
            )
            self._withdraw_offers(call)
            self._leave_queue(call)
        elif phase == PHASE_VOICEMAIL and call.data.get("voicemail_started") is not None:
            self._voicemail_saved(call, "")
        elif phase in (PHASE_TALK, PHASE_CONSULT) and call.queue:
            self._qevent(QE_COMPLETE, call, call.queue, agent_id=call.agent_id, data={"ended_by": "caller"})
        self._finish_call(call)

    # --- waiting: announcements, overflow, maximum wait, callback ------------------------------

    def _announce(self, call: Call, code: str, seq: int) -> None:
        if not self._still_waiting(call, code, seq):
            return
        queue = self.queues[code]
        position = queue.position(call)
        minutes = max(1, math.ceil(queue.expected_wait_s(position) / 60))
        call.announcing = True
        self.play(call, (f"position:{position}", f"wait_minutes:{minutes}"), interrupt=False)
        call.q_timers.append(
            self.timer(queue.config.announce_every_s, lambda: self._announce(call, code, seq))
        )

    def _overflow(self, call: Call, code: str, seq: int) -> None:
        if not self._still_waiting(call, code, seq):
            return
        target = self.queues[code].config.overflow_queue
        if target not in self.queues:
            return
        self._move_queue(call, code, target, QE_OVERFLOW)

    def _move_queue(self, call: Call, code: str, target: str, kind: str) -> None:
        queue = self.queues[code]
        _at, ts = self._now()
        self._qevent(
            kind, call, code, position=queue.position(call), wait_s=ts - call.q_entered, data={"to": target}
        )
        self._withdraw_offers(call)
        self._leave_queue(call)
        self._enter_queue(call, target, data={"from": code})

    def _max_wait(self, call: Call, code: str, seq: int) -> None:
        if not self._still_waiting(call, code, seq):
            return
        queue = self.queues[code]
        config = queue.config
        action = config.max_wait_action
        _at, ts = self._now()
        self._qevent(
            QE_TIMEOUT,
            call,
            code,
            position=queue.position(call),
            wait_s=ts - call.q_entered,
            data={"action": action},
        )
        if action == MAX_WAIT_CALLBACK:
            call.callback_offered = True
            call.announcing = True
            self.play(call, (self.config.callback_offer_prompt,), interrupt=False)
            return
        if action == MAX_WAIT_OVERFLOW and config.overflow_queue in self.queues:
            self._move_queue(call, code, config.overflow_queue, QE_OVERFLOW)
            return
        self._withdraw_offers(call)
        self._leave_queue(call)
        if action == MAX_WAIT_VOICEMAIL:
            self._qevent(QE_VOICEMAIL, call, code)
            self._start_voicemail(call, (self.config.voicemail_prompt,), self.config.voicemail_max_s, "")
        else:
            call.outcome = OUTCOME_FAILED
            call.data["reason"] = "max_wait"
            self._say_bye(call, (self.config.busy_prompt,))

    def _callback_accepted(self, call: Call) -> None:
        at, ts = self._now()
        code = call.q_code
        queue = self.queues[code]
        self._qevent(QE_CALLBACK, call, code, position=queue.position(call), wait_s=ts - call.q_entered)
        self._withdraw_offers(call)
        self._leave_queue(call)
        self.recorder.callback_request(call_id=call.call_id, caller=call.caller, queue=code, at=at)
        call.outcome = OUTCOME_CALLBACK
        call.data["callback"] = True
        self._say_bye(call, (self.config.callback_done_prompt,))

    # --- voicemail -----------------------------------------------------------------------------

    def _start_voicemail(
        self, call: Call, prompts: tuple[str, ...], max_seconds: int, next_node: str
    ) -> None:
        self.ivr.stop(call)
        call.phase = PHASE_VOICEMAIL
        call.data["voicemail_next"] = next_node
        call.data["voicemail_max_s"] = max_seconds
        call.data.pop("voicemail_started", None)
        if prompts:
            self.play(call, prompts, interrupt=False)
        else:
            self._voicemail_record(call)

    def _voicemail_record(self, call: Call) -> None:
        media_id = self._media_id()
        call.media_id = media_id
        call.data["voicemail_started"] = self._now()[1]
        path = self._media_path(f"voicemail/{call.call_id}.wav")
        call.data["voicemail_path"] = path
        self.switch.send(Record(call.caller_leg, media_id, path, int(call.data.get("voicemail_max_s", 120))))

    def _media_path(self, name: str) -> str:
        """Where a recording goes: relative to the recordings directory, unless the configuration
        gives a prefix."""
        prefix = self.config.recordings_dir.rstrip("/")
        return f"{prefix}/{name}" if prefix else name

    def _voicemail_step(self, call: Call, event: MediaFinished) -> None:
        if call.data.get("voicemail_started") is None:
            self._voicemail_record(call)
            return
        self._voicemail_saved(call, event.path)
        next_node = str(call.data.pop("voicemail_next", ""))
        if next_node and call.ivr is not None:
            self.ivr.go(call, next_node)
        else:
            self._say_bye(call, ())

    def _voicemail_saved(self, call: Call, path: str) -> None:
        started = call.data.pop("voicemail_started", None)
        if started is None:
            return
        at, ts = self._now()
        path = path or str(call.data.get("voicemail_path", ""))
        self.recorder.voicemail(
            call_id=call.call_id, caller=call.caller, path=path, seconds=ts - started, at=at
        )
        call.outcome = OUTCOME_VOICEMAIL

    # =============================================================================================
    # IVR host (used by the interpreter)
    # =============================================================================================

    def ivr_queue(self, call: Call, queue: str, *, general: bool) -> None:
        region = call.info.region_code
        if general and region and region in self.region_queues:
            call.data["region_routed"] = region
            queue = self.region_queues[region]
        self._enter_queue(call, queue)

    def ivr_transfer(self, call: Call, target: str) -> None:
        kind, _, value = target.partition(":")
        if kind == "queue":
            self._enter_queue(call, value)
        elif kind == "flow" and value in self.flows:
            self.ivr.start(call, value)
        elif kind == "tel" and value:
            self._transfer_outside(call, value)
        else:
            call.outcome = OUTCOME_FAILED
            call.data["reason"] = f"bad_target:{target}"
            self._say_bye(call, ())

    def ivr_voicemail(self, call: Call, prompts: tuple[str, ...], max_seconds: int, next_node: str) -> None:
        self._start_voicemail(call, prompts, max_seconds, next_node)

    def ivr_hangup(self, call: Call, prompts: tuple[str, ...]) -> None:
        self._say_bye(call, prompts)

    def ivr_data_changed(self, call: Call) -> None:
        if self._observing:
            self.observer.call_changed(
                call_id=call.call_id, agent_id=call.agent_id, data=call.data, draft=call.draft
            )

    # =============================================================================================
    # Call control from the agent's desktop
    # =============================================================================================

    def _agent_call(self, agent_id: int, *phases: str) -> tuple[AgentSession, Call]:
        agent = self._agent(agent_id)
        call = self.calls.get(agent.call_id) if agent.call_id else None
        if call is None or agent.state not in (AGENT_TALKING, AGENT_HOLD) or call.agent_id != agent_id:
            raise EngineError("no_call", f"agent {agent_id} is not on a call")
        if phases and call.phase not in phases:
            raise EngineError("bad_state", f"not possible while the call is in {call.phase}")
        return agent, call

    def _agent_leaves(self, call: Call, agent: AgentSession) -> None:
        """The agent's leg leaves the call (transfer, hang-up): talk time, wrap-up."""
        _at, ts = self._now()
        self._stop_hold(call, ts)
        if call.talk_started is not None:
            talked = ts - call.talk_started
            call.talk_s += talked
            agent.talk_s += talked
            call.talk_started = None
            queue = self.queues.get(call.queue)
            if queue is not None:
                queue.aht_s += 0.05 * (talked + call.wrap_up_s - queue.aht_s)
        self._drop_leg(self.legs.get(call.agent_leg))
        call.agent_leg = ""
        call.agent_id = None
        agent.call_started = call.started_at  # its wrap-up still belongs to the call's figures
        self._agent_off_call(agent, call.wrap_up_s)

    def _stop_hold(self, call: Call, ts: float) -> None:
        if call.hold_started is not None:
            call.hold_s += ts - call.hold_started
            call.hold_started = None

    def _agent_leg_gone(self, call: Call, leg: Leg) -> None:
        """The agent put the phone down."""
        if leg.leg_id != call.agent_leg:
            return
        agent = self.agents[leg.agent_id] if leg.agent_id is not None else None
        if call.phase == PHASE_CONSULT and agent is not None:
            if call.consult_answered:
                self._consult_complete(call, agent)
                return
            self._drop_leg(self.legs.get(call.consult_leg))
        leg.ended = True
        call.agent_leg = ""
        if agent is not None:
            self._agent_leaves(call, agent)
        if call.queue and call.direction == "inbound":
            self._qevent(QE_COMPLETE, call, call.queue, agent_id=leg.agent_id, data={"ended_by": "agent"})
        if call.direction == "inbound" and call.after_agent and call.ivr is not None:
            node, call.after_agent = call.after_agent, ""
            self.ivr.go(call, node)
            return
        self._finish_call(call)

    def call_hangup(self, *, agent_id: int, survey: bool = False) -> None:
        """The agent ends the call (挂机); ``survey`` sends the caller to the flow's survey."""
        agent = self._agent(agent_id)
        call = self.calls.get(agent.call_id) if agent.call_id else None
        if call is None or agent.state not in (AGENT_TALKING, AGENT_HOLD):
            raise EngineError("no_call", f"agent {agent_id} is not on a call")
        if call.direction == "outbound":
            self._finish_call(call)
            return
        if survey and call.ivr is not None:
            nodes = self.flows.get(call.ivr.flow_code, {}).get("nodes", {})
            call.after_agent = next((k for k, v in nodes.items() if v.get("type") == "survey"), "")
        leg = self.legs.get(call.agent_leg)
        if leg is None:
            raise EngineError("no_call", f"agent {agent_id} is not on a call")
        if call.phase == PHASE_TALK and call.hold_started is not None:
            self.switch.send(Unhold(call.caller_leg))
        self._drop_leg(leg)
        self._agent_leg_gone(call, leg)

    def call_hold(self, *, agent_id: int) -> None:
        """Put the caller on hold with music (保持)."""
        agent, call = self._agent_call(agent_id, PHASE_TALK)
        if agent.state == AGENT_HOLD:
            raise EngineError("bad_state", "the call is already on hold")
        queue = self.queues.get(call.queue)
        self.switch.send(Hold(call.caller_leg, queue.config.music if queue else "moh"))
        call.hold_started = self._now()[1]
        self._move(agent, ev.EV_HOLD)

    def call_unhold(self, *, agent_id: int) -> None:
        agent, call = self._agent_call(agent_id, PHASE_TALK)
        if agent.state != AGENT_HOLD:
            raise EngineError("bad_state", "the call is not on hold")
        self.switch.send(Unhold(call.caller_leg))
        self._stop_hold(call, self._now()[1])
        self._move(agent, ev.EV_UNHOLD)

    def call_mute(self, *, agent_id: int, muted: bool = True) -> None:
        """Mute (静音) the agent's microphone, or unmute it."""
        _agent, call = self._agent_call(agent_id)
        self.switch.send(Mute(call.agent_leg, muted))

    def call_set_draft(self, *, agent_id: int, draft: Mapping[str, Any]) -> None:
        """The order being drafted on the agent's screen; it travels with the call on transfer."""
        _agent, call = self._agent_call(agent_id)
        call.draft = dict(draft)
        if self._observing:
            self.observer.call_changed(
                call_id=call.call_id, agent_id=agent_id, data=call.data, draft=call.draft
            )

    def call_link_order(self, *, agent_id: int, number: str) -> None:
        """A work order taken on this call: its tracking number goes into the call's data (and so
        into the call record), once."""
        if not number:
            raise EngineError("bad_value", "a tracking number is needed")
        _agent, call = self._agent_call(agent_id)
        orders = call.data.setdefault("orders", [])
        if number not in orders:
            orders.append(number)
        if self._observing:
            self.observer.call_changed(
                call_id=call.call_id, agent_id=agent_id, data=call.data, draft=call.draft
            )

    def call_transfer(self, *, agent_id: int, target: str) -> None:
        """Blind transfer (盲转) to ``agent:<id>``, ``queue:<code>``, ``tel:<number>`` or ``ivr``
        (back to the menu the caller left with 0). The draft goes with the call."""
        agent, call = self._agent_call(agent_id, PHASE_TALK)
        route = self._transfer_route(call, target)
        self._qevent(
            QE_TRANSFER, call, call.queue, agent_id=agent_id, data={"to": target, "draft": bool(call.draft)}
        )
        call.transfers += 1
        if agent.state == AGENT_HOLD:
            self.switch.send(Unhold(call.caller_leg))
        self._agent_leaves(call, agent)
        route()

    def _transfer_route(self, call: Call, target: str) -> Callable[[], None]:
        kind, _, value = target.partition(":")
        if kind == "queue":
            self._queue(value)
            return lambda: self._enter_queue(call, value, data={"transfer": True})
        if kind == "agent":
            to = self._agent(int(value)) if value.isdigit() else None
            if to is None:
                raise EngineError("bad_target", f"bad target {target!r}")
            if to.state != AGENT_READY:
                raise EngineError("not_ready", f"agent {value} is not ready")
            code = call.queue if call.queue in self.queues else next(iter(to.config.skills), "")
            if not code:
                raise EngineError("bad_target", f"agent {value} serves no queue")
            ring = float(self.queues[code].config.ring_timeout_s) + 1
            return lambda: self._enter_queue(
                call, code, reserve_for=to.agent_id, reserve_s=ring, data={"transfer": True}
            )
        if kind == "tel" and value:
            return lambda: self._transfer_outside(call, value)
        if target == "ivr":
            if call.ivr is None:
                raise EngineError("bad_target", "the call did not come through a flow")
            return lambda: self.ivr.resume(call)
        raise EngineError("bad_target", f"bad target {target!r}")

    def call_emergency(self, *, agent_id: int, service: str) -> None:
        """One-key transfer to 110/119/120/122 (应急联动), recorded in the call's data."""
        if service not in self.config.emergency_numbers:
            raise EngineError("bad_target", f"{service} is not an emergency number")
        _agent, call = self._agent_call(agent_id, PHASE_TALK)
        call.data["emergency"] = service
        self.call_transfer(agent_id=agent_id, target=f"tel:{service}")

    def _transfer_outside(self, call: Call, number: str) -> None:
        self.ivr.stop(call)
        call.phase = PHASE_OUTSIDE
        call.data.setdefault("transferred_to", []).append(number)
        self._play_music(call)
        leg = self._new_leg(call, LEG_OUTBOUND, ROLE_OUTSIDE, f"tel:{number}")
        call.outside_leg = leg.leg_id
        self.switch.send(Originate(call.call_id, leg.leg_id, f"tel:{number}", call.caller, 30))

    def _outside_answered(self, call: Call, leg: Leg) -> None:
        if call.phase == PHASE_OUTSIDE and call.outside_leg == leg.leg_id:
            self.switch.send(Bridge(call.caller_leg, leg.leg_id))
        elif call.phase == PHASE_DIALING and call.outside_leg == leg.leg_id and call.agent_leg:
            at, ts = self._now()
            call.answered_at = at
            call.talk_started = ts
            self.switch.send(Bridge(call.agent_leg, leg.leg_id))
        else:
            self._drop_leg(leg)

    def _outside_gone(self, call: Call, leg: Leg, *, failed: bool, cause: str) -> None:
        if call.outside_leg != leg.leg_id:
            return
        call.outside_leg = ""
        if call.direction == "outbound":
            if failed:
                call.data["failed"] = cause
            self._finish_call(call)
            return
        if failed and call.phase == PHASE_OUTSIDE and call.queue:
            call.data["transfer_failed"] = cause
            self._enter_queue(call, call.queue, data={"transfer_failed": cause})
            return
        self._finish_call(call)

    # --- consultation (咨询转) and three-way calls (三方通话) -------------------------------------

    def call_consult(self, *, agent_id: int, target: str) -> str:
        """Hold the caller and call ``agent:<id>`` or ``tel:<number>``; returns the new leg."""
        agent, call = self._agent_call(agent_id, PHASE_TALK)
        kind, _, value = target.partition(":")
        to: AgentSession | None = None
        if kind == "agent":
            to = self._agent(int(value)) if value.isdigit() else None
            if to is None or to.state != AGENT_READY:
                raise EngineError("not_ready", f"agent {value} is not ready")
            party = f"ext:{to.extension}"
        elif kind == "tel" and value:
            party = target
        else:
            raise EngineError("bad_target", f"bad target {target!r}")
        _at, ts = self._now()
        if agent.state != AGENT_HOLD:
            queue = self.queues.get(call.queue)
            self.switch.send(Hold(call.caller_leg, queue.config.music if queue else "moh"))
            call.hold_started = ts
        call.phase = PHASE_CONSULT
        leg = self._new_leg(call, LEG_CONSULT, ROLE_CONSULT, party, agent_id=to.agent_id if to else None)
        call.consult_leg = leg.leg_id
        call.consult_answered = False
        call.consult_agent = to.agent_id if to else None
        call.data["consult"] = target
        timeout = 20
        if to is not None:
            to.leg_id = leg.leg_id
            to.call_id = call.call_id
            to.queue = call.queue
            self._move(to, ev.EV_OFFER)
            if self._observing:
                self.observer.offer(self._offer_view(call, to.agent_id, call.queue, 0.0))
            timeout = self.queues[call.queue].config.ring_timeout_s if call.queue in self.queues else 20
        self.switch.send(Originate(call.call_id, leg.leg_id, party, call.caller, timeout))
        return leg.leg_id

    def _consult_answered(self, call: Call, leg: Leg) -> None:
        if call.phase != PHASE_CONSULT or call.consult_leg != leg.leg_id or not call.agent_leg:
            self._drop_leg(leg)
            return
        call.consult_answered = True
        if leg.agent_id is not None:
            to = self.agents[leg.agent_id]
            if to.state == AGENT_RINGING and to.leg_id == leg.leg_id:
                self._move(to, ev.EV_ANSWER)
        self.switch.send(Bridge(call.agent_leg, leg.leg_id))

    def call_consult_complete(self, *, agent_id: int) -> None:
        """Hand the caller to the consulted party (完成转接)."""
        agent, call = self._agent_call(agent_id, PHASE_CONSULT)
        if not call.consult_answered:
            raise EngineError("bad_state", "the consulted party has not answered")
        self._consult_complete(call, agent)

    def _consult_complete(self, call: Call, agent: AgentSession) -> None:
        leg = self.legs[call.consult_leg]
        target = str(call.data.get("consult", ""))
        self._qevent(
            QE_TRANSFER,
            call,
            call.queue,
            agent_id=agent.agent_id,
            data={"to": target, "consult": True, "draft": bool(call.draft)},
        )
        call.transfers += 1
        self.switch.send(Bridge(call.caller_leg, leg.leg_id))
        self.switch.send(Unhold(call.caller_leg))
        call.phase = PHASE_TALK
        self._agent_leaves(call, agent)
        call.consult_leg = ""
        _at, ts = self._now()
        if leg.agent_id is not None:
            to = self.agents[leg.agent_id]
            leg.role = ROLE_AGENT
            leg.kind = LEG_AGENT
            to.calls += 1
            call.agent_id = to.agent_id
            call.agent_leg = leg.leg_id
            call.talk_started = ts
            if self._observing:
                self.observer.call_changed(
                    call_id=call.call_id, agent_id=to.agent_id, data=call.data, draft=call.draft
                )
        else:
            leg.role = ROLE_OUTSIDE
            call.outside_leg = leg.leg_id
            call.phase = PHASE_OUTSIDE

    def call_consult_cancel(self, *, agent_id: int) -> None:
        """Drop the consulted party and go back to the caller (取消转接)."""
        agent, call = self._agent_call(agent_id, PHASE_CONSULT)
        self._consult_back(call, agent)

    def _consult_back(self, call: Call, agent: AgentSession) -> None:
        leg = self.legs.get(call.consult_leg)
        call.consult_leg = ""
        if leg is not None:
            self._drop_leg(leg)
            self._consulted_agent_off(call, leg)
        call.phase = PHASE_TALK
        self.switch.send(Bridge(call.caller_leg, call.agent_leg))
        self.switch.send(Unhold(call.caller_leg))
        self._stop_hold(call, self._now()[1])
        if agent.state == AGENT_HOLD:
            self._move(agent, ev.EV_UNHOLD)

    def _consulted_agent_off(self, call: Call, leg: Leg, cause: str = "") -> None:
        if leg.agent_id is None:
            return
        to = self.agents[leg.agent_id]
        if to.leg_id != leg.leg_id:
            return
        if to.state == AGENT_RINGING and cause in ("no_answer", "busy"):
            to.leg_id = ""
            to.no_answers_in_row += 1
            self._move(to, ev.EV_NO_ANSWER if cause == "no_answer" else ev.EV_BUSY, reason=cause)
        else:
            self._agent_off_call(to, 0.0)

    def _consult_gone(self, call: Call, leg: Leg, *, failed: bool, cause: str) -> None:
        if call.consult_leg != leg.leg_id:
            return
        self._consulted_agent_off(call, leg, cause if failed else "")
        call.consult_leg = ""
        agent = self.agents.get(call.agent_id) if call.agent_id is not None else None
        if agent is not None and call.phase == PHASE_CONSULT:
            call.data["consult_failed"] = cause
            self._consult_back(call, agent)

    def call_conference(self, *, agent_id: int, number: str) -> str:
        """Three-way call (三方通话) with an outside number, e.g. a department."""
        _agent, call = self._agent_call(agent_id, PHASE_TALK)
        if call.party_leg:
            raise EngineError("bad_state", "a third party is already on the call")
        leg = self._new_leg(call, LEG_OUTBOUND, ROLE_PARTY, f"tel:{number}")
        call.party_leg = leg.leg_id
        call.data.setdefault("conference", []).append(number)
        self.switch.send(Originate(call.call_id, leg.leg_id, f"tel:{number}", self.config.caller_id, 30))
        return leg.leg_id

    # --- outbound calls (外呼) ------------------------------------------------------------------

    def agent_dial(self, *, agent_id: int, number: str, data: Mapping[str, Any] | None = None) -> str:
        """Click-to-dial: ring the agent's own phone (auto-answer), then the number."""
        agent = self._agent(agent_id)
        if agent.state not in (AGENT_READY, AGENT_PAUSED, AGENT_WRAP_UP):
            raise EngineError("bad_state", f"agent {agent_id} cannot dial while {agent.state}")
        if not number:
            raise EngineError("bad_value", "a number is needed")
        self._outbound += 1
        at, _ts = self._now()
        call = Call(
            call_id=f"{self._outbound_prefix}{self._outbound}",
            direction="outbound",
            caller=self.config.caller_id,
            called=number,
            trunk="",
            started_at=at,
            caller_leg="",
            info=CallerInfo(number=number),
            phase=PHASE_DIALING,
            outcome=OUTCOME_OUTBOUND,
            data=dict(data or {}),
        )
        self.calls[call.call_id] = call
        leg = self._new_leg(call, LEG_AGENT, ROLE_AGENT_PHONE, f"ext:{agent.extension}", agent_id=agent_id)
        call.agent_leg = leg.leg_id
        call.agent_id = agent_id
        call.first_agent_id = agent_id
        self._cancel_wrap_up(agent)
        agent.leg_id = leg.leg_id
        agent.call_id = call.call_id
        self._move(agent, ev.EV_DIAL)
        self.switch.send(
            Originate(call.call_id, leg.leg_id, f"ext:{agent.extension}", number, 30, auto_answer=True)
        )
        return call.call_id

    def callback_dial(self, *, agent_id: int, number: str, callback_id: int | str) -> str:
        """Call back a caller who asked for it (回拨)."""
        return self.agent_dial(agent_id=agent_id, number=number, data={"callback_id": callback_id})

    def _dial_agent_answered(self, call: Call, leg: Leg) -> None:
        outside = self._new_leg(call, LEG_OUTBOUND, ROLE_OUTSIDE, f"tel:{call.called}")
        call.outside_leg = outside.leg_id
        self.switch.send(
            Originate(call.call_id, outside.leg_id, f"tel:{call.called}", self.config.caller_id, 45)
        )

    # =============================================================================================
    # Supervisor (班长席)
    # =============================================================================================

    def supervise(self, *, by: int, extension: str, agent_id: int, mode: str) -> str:
        """Listen (监听), whisper (耳语) or barge (强插) on an agent's call from ``extension``."""
        if mode not in MONITOR_MODES:
            raise EngineError("bad_value", f"unknown mode {mode!r}")
        _agent, call = self._agent_call(agent_id)
        leg = self._new_leg(call, LEG_SUPERVISOR, ROLE_SUPERVISOR, f"ext:{extension}")
        leg.monitor_mode = mode
        leg.monitored_leg = call.agent_leg
        leg.by = by
        at, _ts = self._now()
        call.data.setdefault("supervision", []).append(
            {"by": by, "mode": mode, "agent_id": agent_id, "at": at.isoformat()}
        )
        self.switch.send(
            Originate(
                call.call_id, leg.leg_id, f"ext:{extension}", self.config.caller_id, 30, auto_answer=True
            )
        )
        return leg.leg_id

    def supervise_end(self, *, leg_id: str) -> None:
        leg = self.legs.get(leg_id)
        if leg is None or leg.role != ROLE_SUPERVISOR:
            raise EngineError("unknown_call", f"no supervisor leg {leg_id!r}")
        self._drop_leg(leg)

    def force_release(self, *, by: int, agent_id: int) -> None:
        """End an agent's call (强拆)."""
        _agent, call = self._agent_call(agent_id)
        call.data["released_by"] = by
        if call.queue and call.direction == "inbound":
            self._qevent(
                QE_COMPLETE, call, call.queue, agent_id=agent_id, data={"ended_by": "supervisor", "by": by}
            )
        self._finish_call(call)

    def call_take(self, *, by: int, call_id: str, agent_id: int) -> None:
        """Offer a waiting call to a given agent now (代接/抢接)."""
        call = self.calls.get(call_id)
        if call is None or call.phase != PHASE_QUEUE or not call.q_code:
            raise EngineError("unknown_call", f"no waiting call {call_id!r}")
        agent = self._agent(agent_id)
        if agent.state != AGENT_READY:
            raise EngineError("not_ready", f"agent {agent_id} is not ready")
        queue = self.queues[call.q_code]
        self._withdraw_offers(call)
        call.reserved_for = None
        self._offer(call, queue, [agent_id], data={"taken_by": by})

    # =============================================================================================
    # The end of a call
    # =============================================================================================

    def _finish_call(self, call: Call) -> None:
        if call.phase == PHASE_ENDED:
            return
        self.ivr.stop(call)
        if call.q_code:
            self._withdraw_offers(call)
            self._leave_queue(call)
        if call.consult_leg:
            leg = self.legs.get(call.consult_leg)
            if leg is not None:
                self._drop_leg(leg)
                self._consulted_agent_off(call, leg)
        if call.agent_id is not None:
            agent = self.agents[call.agent_id]
            if agent.call_id == call.call_id:
                self._agent_leaves(call, agent)
        call.phase = PHASE_ENDED
        for leg in call.legs.values():
            self._drop_leg(leg)
        at, ts = self._now()
        self._stop_hold(call, ts)
        call.ended_at = at
        self.calls.pop(call.call_id, None)
        data = dict(call.data)
        data.pop("voicemail_started", None)
        if call.draft:
            data["draft"] = dict(call.draft)
        self.recorder.call(
            CallRecord(
                call_id=call.call_id,
                direction=call.direction,
                caller=call.caller,
                called=call.called,
                trunk=call.trunk,
                started_at=call.started_at,
                ended_at=at,
                outcome=call.outcome or OUTCOME_IVR,
                queue=call.queue,
                agent_id=call.first_agent_id,
                queued_at=call.queued_at,
                answered_at=call.answered_at,
                wait_s=call.wait_s,
                talk_s=call.talk_s,
                hold_s=call.hold_s,
                transfers=call.transfers,
                ivr_path=tuple(call.ivr_path),
                priority=call.priority,
                data=data,
            )
        )

    # =============================================================================================
    # Views for screens
    # =============================================================================================

    def agent_view(self, agent_id: int) -> AgentView:
        agent = self._agent(agent_id)
        call = self.calls.get(agent.call_id) if agent.call_id else None
        return AgentView(
            agent_id=agent_id,
            name=agent.config.name,
            extension=agent.extension,
            state=agent.state,
            since=datetime.fromtimestamp(agent.since, tz=self.switch.now().tzinfo)
            if agent.since
            else self.switch.now(),
            reason=agent.reason,
            call_id=agent.call_id,
            caller=call.caller if call is not None else "",
            queue=agent.queue,
            calls=agent.calls,
            no_answers_in_row=agent.no_answers_in_row,
        )

    def queue_view(self, code: str) -> QueueView:
        queue = self._queue(code)
        oldest = queue.oldest_entered()
        ready = queue.ready_count
        return QueueView(
            code=code,
            name=queue.config.name,
            waiting=queue.waiting,
            longest_wait_since=datetime.fromtimestamp(oldest, tz=self.switch.now().tzinfo)
            if oldest
            else None,
            ready=ready,
            staffed=queue.staffed,
        )

    def snapshot(self) -> dict[str, list[Any]]:
        """Every agent and every queue, for a screen that just opened."""
        return {
            "agents": [self.agent_view(agent_id) for agent_id in self.agents],
            "queues": [self.queue_view(code) for code in self.queues],
        }

    def waiting_calls(self, code: str) -> list[str]:
        """Ids of the calls waiting in a queue, first to be served first (for the wall)."""
        queue = self._queue(code)
        calls = [c for c in self.calls.values() if c.q_code == code]
        calls.sort(key=queue.position)
        return [c.call_id for c in calls]

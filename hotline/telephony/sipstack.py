"""The SIP stack (信令): sippy's transaction layer and user agents on their own thread.

sippy runs an event dispatcher of its own (``ED2``), a singleton that must live on one thread. The
stack starts that thread once per process, imports sippy there (the dispatcher remembers the thread
that imported it), and keeps every sippy object on it. The rest of the switch runs on an asyncio
loop: what the stack receives is handed to the loop with ``call_soon_threadsafe``, and what the loop
wants done is handed to the SIP thread with ``ED2.callFromThread``.

What the stack decides by itself, on the SIP thread, from snapshots the switch gives it:

- REGISTER from agents' phones (digest authentication against the phone accounts; bindings with an
  expiry, reported to the loop so they are stored);
- whether an INVITE outside a dialog may come in (a trunk's address, or digest authentication
  against a trunk's account), with a challenge or ``403`` otherwise;
- OPTIONS (``200``), requests for dialogs that do not exist (``481``), other methods (``405``).

Malformed messages are answered ``400`` (or dropped when no response can be built) by sippy; the
stack never lets an exception reach the dispatcher loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import ipaddress
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

os.environ.setdefault("SIPLOG_BEND", "none")  # sippy logs every message to stderr otherwise

_TRANSPORT_UPPER = re.compile(rb";transport=(UDP|Udp)\b", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# What the switch tells the stack (snapshots, replaced whole)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrunkAccess:
    """Who may send calls in on a trunk: addresses (networks), and/or digest credentials."""

    code: str
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    username: str = ""
    password: str = ""

    def allows_address(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


@dataclass(frozen=True, slots=True)
class Binding:
    """Where a registered phone is reached: its Contact, and the address to send to — the
    Contact's, or where its REGISTER came from when that was another host (a phone behind NAT)."""

    extension: str
    contact: str
    host: str
    port: int
    expires_at: float  # time.time()
    user_agent: str = ""


@dataclass(slots=True)
class AccessPolicy:
    realm: str = "hotline"
    phones: dict[str, str] = field(default_factory=dict)  # extension -> HA1
    trunks: tuple[TrunkAccess, ...] = ()
    min_expires: int = 60
    max_expires: int = 3600


class StackHandler(Protocol):
    """The asyncio side: every call here happens on the loop."""

    def on_invite(
        self, dialog: Dialog, caller: str, called: str, sdp: str, trunk: str, source: str
    ) -> None: ...

    def on_dialog_event(self, dialog: Dialog, kind: str, code: int, reason: str, sdp: str) -> None: ...

    def on_bindings(self, extension: str, bindings: list[Binding]) -> None: ...


# ---------------------------------------------------------------------------------------------
# The SIP thread
# ---------------------------------------------------------------------------------------------


_NUMERIC_IPV4: dict[str, bool] = {}


def _numeric_ipv4(host: object) -> bool:
    """Whether ``host`` is a dotted IPv4 address (remembered: a centre talks to few addresses)."""
    if not isinstance(host, str):
        return False
    known = _NUMERIC_IPV4.get(host)
    if known is None:
        try:
            socket.inet_pton(socket.AF_INET, host)
            known = True
        except OSError:
            known = False
        if len(_NUMERIC_IPV4) < 4096:
            _NUMERIC_IPV4[host] = known
    return known


def _read_clocks_without_ctypes() -> None:
    """sippy reads its clocks through ``ctypes`` (``sippy.Time.clock_dtime``): 2 µs a reading, and
    every reading gives up the interpreter lock and waits to take it back while the loop and the
    recorder hold it. It reads them for every timer, transaction and event (two readings per
    ``MonoTime``), about 7 % of the switch's samples at 30 calls a second. ``time.clock_gettime``
    reads the same clocks (sippy's own clock numbers) in 0.15 µs and keeps the lock."""
    from sippy.Security import SipNonce
    from sippy.Time import MonoTime

    MonoTime.clock_getdtime = time.clock_gettime  # type: ignore[attr-defined]
    SipNonce.clock_getntime = time.clock_gettime_ns  # type: ignore[attr-defined]


class _Attributes:
    """The answer to ``"my" in dir(value)``, from ``hasattr`` (see ``_ask_my_without_dir``)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and hasattr(self.value, name)


# The sippy modules that ask ``"my" in dir(value)`` while writing a message, and ask nothing else
# of ``dir`` (checked by the tests against the installed sippy).
SIPPY_MY_MODULES = ("SipURL", "SipVia", "SipConf", "SdpOrigin", "SipWWWAuthenticate")


def _ask_my_without_dir() -> None:
    """sippy marks "this switch's own address / port / transport" with an attribute ``my``
    (``SipConf.MyAddress`` …) and, writing each URL and Via, asks ``"my" in dir(value)`` of the
    host, port and transport: ``dir`` builds and sorts the list of all attributes of a ``str`` or
    ``int``, 8–9 µs a question, about 7 % of the switch's samples at 40 calls a second. Those
    modules get a ``dir`` of their own that answers the same question with ``hasattr``."""
    import importlib

    for name in SIPPY_MY_MODULES:
        module = importlib.import_module(f"sippy.{name}")
        module.dir = _Attributes  # type: ignore[attr-defined]


class _SipThread:
    """The one thread sippy lives on, started on first use and kept for the life of the process."""

    _lock = threading.Lock()
    _instance: _SipThread | None = None

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.sippy: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._run, name="sip", daemon=True)
        self.thread.start()
        self.ready.wait(10)
        if not self.sippy:
            raise RuntimeError("the SIP thread did not start")

    @classmethod
    def get(cls) -> _SipThread:
        with cls._lock:
            if cls._instance is None:
                cls._instance = _SipThread()
            return cls._instance

    def _run(self) -> None:
        from sippy.CCEvents import (
            CCEventConnect,
            CCEventDisconnect,
            CCEventFail,
            CCEventInfo,
            CCEventRedirect,
            CCEventRing,
            CCEventTry,
            CCEventUpdate,
        )
        from sippy.Core.EventDispatcher import ED2
        from sippy.MsgBody import MsgBody
        from sippy.SipCallId import SipCallId
        from sippy.SipConf import SipConf
        from sippy.SipHeader import SipHeader
        from sippy.SipLogger import SipLogger
        from sippy.SipRequest import SipRequest
        from sippy.SipTransactionManager import SipTransactionManager
        from sippy.SipWWWAuthenticate import SipWWWAuthenticate
        from sippy.UA import UA
        from sippy.Udp_server import Udp_server, Udp_server_opts

        # One sender and one receiver thread (sippy starts three of each): fewer threads to share
        # the interpreter lock with the loop, and responses leave in the order they were made.
        Udp_server_opts.nworkers = 1
        _read_clocks_without_ctypes()
        _ask_my_without_dir()

        self.sippy = {
            "ED2": ED2,
            "MsgBody": MsgBody,
            "SipCallId": SipCallId,
            "SipConf": SipConf,
            "SipHeader": SipHeader,
            "SipLogger": SipLogger,
            "SipRequest": SipRequest,
            "SipTransactionManager": SipTransactionManager,
            "SipWWWAuthenticate": SipWWWAuthenticate,
            "UA": UA,
            "Udp_server": Udp_server,
            "Udp_server_opts": Udp_server_opts,
            "CCEventConnect": CCEventConnect,
            "CCEventDisconnect": CCEventDisconnect,
            "CCEventFail": CCEventFail,
            "CCEventInfo": CCEventInfo,
            "CCEventRedirect": CCEventRedirect,
            "CCEventRing": CCEventRing,
            "CCEventTry": CCEventTry,
            "CCEventUpdate": CCEventUpdate,
        }
        self.ready.set()
        while True:
            try:
                ED2.loop()
            except Exception:
                log.exception("SIP dispatcher loop failed; restarting it")

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        self.sippy["ED2"].callFromThread(fn, *args)

    def call_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        if threading.current_thread() is self.thread:
            return fn(*args)
        return self.sippy["ED2"].callFromThreadSync(fn, *args)


# ---------------------------------------------------------------------------------------------
# Dialogs
# ---------------------------------------------------------------------------------------------


class Dialog:
    """One SIP dialog (one sippy UA). Methods may be called from the loop; they run on the SIP
    thread. ``key`` is the switch's name for the leg it carries."""

    def __init__(self, stack: SipStack, key: str = "") -> None:
        self.stack = stack
        self.key = key
        self.ua: Any = None
        self.sip_call_id = ""
        self.remote = ""  # "host:port" of the far end

    # events from sippy (SIP thread)
    def _event(self, event: Any, _ua: Any) -> None:
        s = self.stack.thread.sippy
        kind = ""
        code, reason, body = 0, "", None
        data = event.getData()
        if isinstance(event, s["CCEventTry"]):
            return  # the stack handles the initial INVITE itself
        if isinstance(event, s["CCEventRing"]):
            kind = "ringing"
            code, reason, body = data if data else (180, "Ringing", None)
        elif isinstance(event, s["CCEventConnect"]):
            kind = "connected"
            code, reason, body = data
        elif isinstance(event, s["CCEventUpdate"]):
            kind = "update"
            body = data
        elif isinstance(event, s["CCEventInfo"]):
            kind = "info"
            body = data
        elif isinstance(event, (s["CCEventFail"], s["CCEventRedirect"])):
            kind = "failed"
            code, reason = (data[0], data[1]) if data else (500, "Failed")
        elif isinstance(event, s["CCEventDisconnect"]):
            kind = "disconnected"
        else:
            return
        sdp = "" if body is None else _body_text(body)
        self.stack.to_loop(
            self.stack.handler.on_dialog_event, self, kind, int(code or 0), str(reason or ""), sdp
        )

    # commands (from the loop)
    def ring(self) -> None:
        self.stack.thread.call(self._send, "ring", 180, "Ringing", "")

    def answer(self, sdp: str) -> None:
        self.stack.thread.call(self._send, "connect", 200, "OK", sdp)

    def reject(self, code: int, reason: str) -> None:
        self.stack.thread.call(self._send, "fail", code, reason, "")

    def hangup(self) -> None:
        self.stack.thread.call(self._send, "disconnect", 0, "", "")

    def _send(self, what: str, code: int, reason: str, sdp: str) -> None:
        s = self.stack.thread.sippy
        if self.ua is None:
            return
        body = s["MsgBody"](sdp) if sdp else None
        try:
            if what == "ring":
                self.ua.recvEvent(s["CCEventRing"]((code, reason, None)))
            elif what == "connect":
                self.ua.recvEvent(s["CCEventConnect"]((code, reason, body)))
            elif what == "fail":
                self.ua.recvEvent(s["CCEventFail"]((code, reason)))
            elif what == "disconnect":
                self.ua.recvEvent(s["CCEventDisconnect"]())
        except Exception:
            log.exception("SIP %s on dialog %s failed", what, self.key)


def _body_text(body: Any) -> str:
    try:
        return body.localStr() if hasattr(body, "localStr") else str(body)
    except Exception:
        return str(body)


# ---------------------------------------------------------------------------------------------
# The stack
# ---------------------------------------------------------------------------------------------


class SipStack:
    """A SIP endpoint on ``listen:port``: one per process (sippy's configuration is global)."""

    def __init__(
        self,
        *,
        listen: str,
        port: int,
        handler: StackHandler,
        loop: asyncio.AbstractEventLoop,
        advertise: str = "",
        policy: AccessPolicy | None = None,
        user_agent: str = "Hotline",
    ) -> None:
        self.listen = listen
        self.port = port
        self.advertise = advertise or listen
        self.handler = handler
        self.loop = loop
        self.policy = policy or AccessPolicy()
        self.user_agent = user_agent
        self.thread = _SipThread.get()
        self.bindings: dict[str, dict[str, Binding]] = {}
        self.counters = {"invites": 0, "rejected": 0, "registers": 0, "malformed": 0, "sent_direct": 0}
        self._gc: dict[str, Any] = {}
        # what the stack hands to the loop runs in the context the stack was made in (the switch
        # service's), so it shares that context's database connection instead of opening its own
        self._context = contextvars.copy_context()
        self._tm: Any = None

    # lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        self.thread.call_sync(self._start)

    def _start(self) -> None:
        s = self.thread.sippy
        s["SipConf"].my_address = self.advertise
        s["SipConf"].my_port = self.port
        s["SipConf"].my_uaname = self.user_agent
        self._gc = {
            "_sip_address": self.listen,
            "_sip_port": self.port,
            "_sip_logger": s["SipLogger"]("hotline"),
        }
        stack = self

        base: Any = s["SipTransactionManager"]
        udp_base: Any = s["Udp_server"]

        class UdpServer(udp_base):  # type: ignore[misc]
            """sippy's UDP server, sending from the SIP thread itself. sippy hands every message to
            a sender thread, which looks the address up (``getaddrinfo``) before sending: two
            hand-overs of the interpreter lock per message, each a wait while the loop holds it.
            A message to a numeric IPv4 address is sent here without waiting (``MSG_DONTWAIT``);
            anything else, or a socket that is full, goes the old way."""

            def send_to(self, data: bytes | str, address: Any, delayed: bool = False) -> None:
                if isinstance(data, str):
                    data = data.encode()
                opts = self.uopts
                if opts.family == socket.AF_INET and not opts.ploss_out_rate and not opts.pdelay_out_max:
                    host, port = address
                    if _numeric_ipv4(host):
                        try:
                            if self.skt.sendto(data, socket.MSG_DONTWAIT, (host, int(port))) == len(data):
                                stack.counters["sent_direct"] += 1
                                return
                        except OSError:
                            pass  # full, or refused: the sender thread tries again
                super().send_to(data, address, delayed)

        class TransactionManager(base):  # type: ignore[misc]
            model_udp_server = (UdpServer, s["Udp_server_opts"])

            def handleIncoming(self, data_in: Any, ra: Any, server: Any, rtime: Any) -> Any:
                if isinstance(data_in, bytes):
                    data_in = _TRANSPORT_UPPER.sub(b";transport=udp", data_in)
                    if not data_in.startswith(b"SIP/2.0 ") and not stack._parses(data_in):
                        stack.counters["malformed"] += 1
                        reply = bad_request(data_in)
                        if reply:
                            server.send_to(reply, ra.address)
                        return None
                try:
                    return super().handleIncoming(data_in, ra, server, rtime)
                except Exception:
                    stack.counters["malformed"] += 1
                    log.warning("dropped a SIP message from %s that could not be handled", ra, exc_info=True)
                    return None

        self._tm = TransactionManager(self._gc, self._on_request)
        self._gc["_sip_tm"] = self._tm

    def _parses(self, data: bytes) -> bool:
        """Whether sippy can read the request's start line and the headers a transaction needs."""
        try:
            req = self.thread.sippy["SipRequest"](data.decode())
            req.getTIds()
            req.getHFBody("cseq").getCSeqNum()
            req.getHFBody("from")
            req.getHFBody("to").getTag()
            return True
        except Exception:  # sippy raises many kinds of error on bad input
            return False

    def stop(self) -> None:
        if self._tm is not None:
            self.thread.call_sync(self._tm.shutdown)
            self._tm = None

    def to_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while a message was in flight
            self.loop.call_soon_threadsafe(fn, *args, context=self._context)

    def set_policy(self, policy: AccessPolicy) -> None:
        self.policy = policy  # replaced whole: the SIP thread reads one snapshot or the other

    def restore_bindings(self, bindings: list[Binding]) -> None:
        table: dict[str, dict[str, Binding]] = {}
        for binding in bindings:
            table.setdefault(binding.extension, {})[binding.contact] = binding
        self.bindings = table

    def contacts(self, extension: str) -> list[Binding]:
        now = time.time()
        return [b for b in self.bindings.get(extension, {}).values() if b.expires_at > now]

    # outgoing calls ---------------------------------------------------------------------------

    def invite(
        self,
        *,
        key: str,
        host: str,
        port: int,
        user: str,
        caller_id: str,
        caller_name: str,
        sdp: str,
        headers: tuple[tuple[str, str], ...] = (),
        username: str = "",
        password: str = "",
    ) -> Dialog:
        dialog = Dialog(self, key)
        dialog.remote = f"{host}:{port}"

        def send() -> None:  # on the SIP thread
            s = self.thread.sippy
            try:
                ua = s["UA"](
                    self._gc,
                    event_cb=dialog._event,
                    nh_address=(host, port),
                    username=username or None,
                    password=password or None,
                )
                ua.local_ua = None
                dialog.ua = ua
                call_id = s["SipCallId"]()
                dialog.sip_call_id = str(call_id)
                event = s["CCEventTry"]((call_id, caller_id, user, s["MsgBody"](sdp), None, caller_name))
                if headers:
                    event.extra_headers = tuple(
                        s["SipHeader"](name=name, bodys=value) for name, value in headers
                    )
                ua.recvEvent(event)
            except Exception:
                log.exception("INVITE to %s@%s:%s failed", user, host, port)
                self.to_loop(self.handler.on_dialog_event, dialog, "failed", 500, "Local error", "")

        self.thread.call(send)
        return dialog

    # incoming requests (SIP thread) -----------------------------------------------------------

    def _on_request(self, req: Any, sip_t: Any) -> Any:
        try:
            return self._route(req, sip_t)
        except Exception:
            self.counters["malformed"] += 1
            log.warning("could not handle a %s request", _method(req), exc_info=True)
            try:
                return (req.genResponse(400, "Bad Request"), None, None)
            except Exception:
                return None

    def _route(self, req: Any, sip_t: Any) -> Any:
        method = req.getMethod()
        if req.getHFBody("to").getTag() is not None:
            if method == "ACK":
                return None
            return (req.genResponse(481, "Call Leg/Transaction Does Not Exist"), None, None)
        if method == "INVITE":
            return self._incoming_invite(req, sip_t)
        if method == "REGISTER":
            return self._register(req)
        if method == "OPTIONS":
            return (req.genResponse(200, "OK"), None, None)
        if method in ("ACK", "CANCEL"):
            return None
        return (req.genResponse(405, "Method Not Allowed"), None, None)

    def _source(self, req: Any) -> tuple[str, int]:
        source = req.getSource()
        return str(source[0]), int(source[1])

    def _incoming_invite(self, req: Any, sip_t: Any) -> Any:
        self.counters["invites"] += 1
        host, port = self._source(req)
        policy = self.policy
        trunk = next((t for t in policy.trunks if t.allows_address(host)), None)
        if trunk is None:
            with_auth = [t for t in policy.trunks if t.username]
            if not with_auth:
                self.counters["rejected"] += 1
                return (req.genResponse(403, "Forbidden"), None, None)
            header = "proxy-authorization"
            if req.countHFs(header) == 0:
                self.counters["rejected"] += 1
                return (
                    self._challenge(req, 407, "Proxy Authentication Required", "Proxy-Authenticate"),
                    None,
                    None,
                )
            auth = req.getHFBody(header)
            auth.parse()
            trunk = next((t for t in with_auth if t.username == auth.username), None)
            ha1 = digest_ha1(trunk.username, policy.realm, trunk.password) if trunk else ""
            if trunk is None or not auth.verifyHA1(ha1.encode(), "INVITE", None):
                self.counters["rejected"] += 1
                return (req.genResponse(403, "Forbidden"), None, None)
        s = self.thread.sippy
        dialog = Dialog(self)
        dialog.remote = f"{host}:{port}"
        ua = s["UA"](self._gc, dialog._event)
        dialog.ua = ua
        rval = ua.recvRequest(req, sip_t)
        dialog.sip_call_id = str(req.getHFBody("call-id"))
        caller = _user(req.getHFBody("from"))
        called = str(req.getRURI().username or "") or _user(req.getHFBody("to"))
        body = req.getBody()
        sdp = _body_text(body) if body is not None else ""
        self.to_loop(self.handler.on_invite, dialog, caller, called, sdp, trunk.code, host)
        return rval

    # registrar --------------------------------------------------------------------------------

    def _challenge(self, req: Any, code: int, reason: str, header: str) -> Any:
        """A digest challenge; sippy's nonces carry their own time and are valid for 32 s."""
        s = self.thread.sippy
        resp = req.genResponse(code, reason)
        challenge = s["SipWWWAuthenticate"](realm=self.policy.realm, algorithm="MD5")
        resp.appendHeader(s["SipHeader"](name=header, body=challenge))
        return resp

    def _register(self, req: Any) -> Any:
        self.counters["registers"] += 1
        policy = self.policy
        extension = _user(req.getHFBody("to"))
        ha1 = policy.phones.get(extension)
        if ha1 is None:
            return (req.genResponse(404, "Not Found"), None, None)
        if req.countHFs("authorization") == 0:
            return (self._challenge(req, 401, "Unauthorized", "WWW-Authenticate"), None, None)
        auth = req.getHFBody("authorization")
        auth.parse()
        if auth.username != extension:
            return (req.genResponse(403, "Forbidden"), None, None)
        if not auth.verifyHA1(ha1.encode(), "REGISTER", None):
            # a wrong password, or a nonce that expired: challenge again (a phone with the right
            # password answers it; one with a wrong password gives up after a few tries)
            return (self._challenge(req, 401, "Unauthorized", "WWW-Authenticate"), None, None)
        host, port = self._source(req)
        default_expires = _header_int(req, "expires", 3600)
        user_agent = _header_str(req, "user-agent")
        table = dict(self.bindings.get(extension, {}))
        now = time.time()
        for contact in req.getHFBodys("contact"):
            if getattr(contact, "asterisk", False):
                if default_expires == 0:
                    table = {}
                continue
            url = contact.getUrl()
            uri = str(url)
            # reach the phone where it says, unless its REGISTER came from another host (NAT): then
            # where the REGISTER came from
            c_host, c_port = str(url.host or ""), int(url.port or 5060)
            to_host, to_port = (c_host, c_port) if c_host == host else (host, port)
            expires = default_expires
            param = contact.getParam("expires") if hasattr(contact, "getParam") else None
            if param is not None and str(param).isdigit():
                expires = int(param)
            if expires == 0:
                table.pop(uri, None)
                continue
            expires = max(policy.min_expires, min(policy.max_expires, expires))
            table[uri] = Binding(extension, uri, to_host, to_port, now + expires, user_agent)
        table = {k: b for k, b in table.items() if b.expires_at > now}
        self.bindings = {**self.bindings, extension: table}
        resp = req.genResponse(200, "OK")
        s = self.thread.sippy
        for binding in table.values():
            left = int(binding.expires_at - now)
            resp.appendHeader(s["SipHeader"](name="Contact", bodys=f"<{binding.contact}>;expires={left}"))
        self.to_loop(self.handler.on_bindings, extension, list(table.values()))
        return (resp, None, None)


_COPIED = ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")


def bad_request(data: bytes) -> bytes:
    """``400 Bad Request`` for a request sippy cannot read, built from its raw header lines (the
    Via, From, To, Call-ID and CSeq are copied as they came, so the sender can match it); empty
    when the message does not even look like a request (then it is dropped)."""
    try:
        text = data.decode("utf-8", errors="replace")
    except Exception:
        return b""
    head = text.split("\r\n\r\n", 1)[0].replace("\r\n", "\n").split("\n")
    start = head[0].split(" ")
    if len(start) != 3 or not start[2].startswith("SIP/"):
        return b""
    lines = ["SIP/2.0 400 Bad Request"]
    for line in head[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name in _COPIED:
            lines.append(line.strip())
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def digest_ha1(username: str, realm: str, password: str) -> str:
    """HA1 of RFC 2617 digest authentication: what a registrar keeps instead of the password."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def _user(header: Any) -> str:
    try:
        return str(header.getUrl().username or "")
    except Exception:
        return ""


def _method(req: Any) -> str:
    try:
        return str(req.getMethod())
    except Exception:
        return "?"


def _header_int(req: Any, name: str, default: int) -> int:
    with contextlib.suppress(Exception):  # a malformed header counts as absent
        if req.countHFs(name):
            return int(req.getHFBody(name).getNum())
    return default


def _header_str(req: Any, name: str) -> str:
    with contextlib.suppress(Exception):  # a malformed header counts as absent
        if req.countHFs(name):
            return str(req.getHFBody(name))[:128]
    return ""

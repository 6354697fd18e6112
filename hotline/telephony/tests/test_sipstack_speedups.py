"""The switch's changes to how sippy asks ``"my" in dir(value)`` (``sipstack._ask_my_without_dir``):
the messages it writes stay byte for byte what sippy writes by itself."""

from __future__ import annotations

import importlib
import inspect
import re

from sippy.SdpOrigin import SdpOrigin
from sippy.SipConf import MyAddress, MyPort, MyTransport
from sippy.SipURL import SipURL
from sippy.SipVia import SipVia

from hotline.telephony.sipstack import SIPPY_MY_MODULES, _ask_my_without_dir

LOCAL = (("10.1.2.3", 5070), "udp")


URLS = [
    SipURL("sip:bob@192.0.2.1:5062;transport=udp"),
    SipURL("sip:12345@198.51.100.7"),
    SipURL("sip:alice@example.org:5061;transport=tcp;lr"),
    SipURL(host=MyAddress(), port=MyPort(5060), username="agent"),
    SipURL(host=MyAddress(), port=MyPort(5060), username="agent", transport=MyTransport("udp")),
]
VIAS = [SipVia(), SipVia("SIP/2.0/UDP 192.0.2.9:5080;branch=z9hG4bK-1;rport")]
ORIGINS = [SdpOrigin("- 1 1 IN IP4 192.0.2.44"), SdpOrigin()]


def _written() -> list[str]:
    out = [url.localStr(local_addr=LOCAL) for url in URLS] + [url.localStr() for url in URLS[:3]]
    out += [via.localStr(local_addr=LOCAL) for via in VIAS] + [VIAS[1].localStr()]
    out += [origin.localStr(local_addr=LOCAL) for origin in ORIGINS]
    return out


def test_the_modules_ask_dir_nothing_but_whether_my_is_there() -> None:
    for name in SIPPY_MY_MODULES:
        source = inspect.getsource(importlib.import_module(f"sippy.{name}"))
        uses = re.findall(r".{0,12}\bdir\(", source)
        assert uses, name
        assert all(re.search(r"'my' (not )?in dir\($", use) for use in uses), (name, uses)


def test_messages_are_written_as_sippy_writes_them_by_itself() -> None:
    modules = [importlib.import_module(f"sippy.{name}") for name in SIPPY_MY_MODULES]
    for module in modules:
        module.__dict__.pop("dir", None)  # the built-in dir, as sippy ships
    try:
        by_sippy = _written()
    finally:
        _ask_my_without_dir()
    assert all(module.dir is not dir for module in modules)  # type: ignore[attr-defined]
    assert _written() == by_sippy
    # the switch's own address, port and transport are filled in; anyone else's are kept
    assert "sip:agent@10.1.2.3:5070" in by_sippy
    assert "sip:bob@192.0.2.1:5062;transport=udp" in by_sippy
    assert any(line.startswith("SIP/2.0/UDP 10.1.2.3:5070") for line in by_sippy)

#!/usr/bin/env bash
# The media server (rtpengine) for the SIP switch, as the service manager starts it: the process
# becomes rtpengine, with the arguments docs/media-server.md explains.
#
# Settings come from the environment (/etc/hotline/hotline.env in production):
#   HOTLINE_RTPENGINE_BINARY      rtpengine (from the Debian package rtpengine-daemon)
#   HOTLINE_RTPENGINE_INTERFACE   address for RTP: 127.0.0.1; 10.0.0.2!203.0.113.4 behind NAT (bind!advertise);
#                                 several logical interfaces separated by ';' (internal/…;external/…)
#   HOTLINE_RTPENGINE_NG_HOST, HOTLINE_RTPENGINE_NG_PORT   where the switch sends ng requests (127.0.0.1:22222)
#   HOTLINE_RTPENGINE_DTMF_PORT   where rtpengine reports digits to the switch (22223)
#   HOTLINE_RTPENGINE_PORT_MIN, HOTLINE_RTPENGINE_PORT_MAX   RTP ports (30000-39999): open them in the firewall
#   HOTLINE_RTPENGINE_SPOOL       where call recordings (pcap) are written before conversion
# Check the command line without starting it:  manage.py run_media --print
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
exec "${HOTLINE_PYTHON:-$root/.venv/bin/python}" manage.py run_media "$@"

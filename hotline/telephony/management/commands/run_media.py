"""``manage.py run_media`` — the media server process: rtpengine with the project's arguments.

The process becomes rtpengine (exec), so a service manager sees and signals rtpengine itself. The
arguments come from ``settings.HOTLINE_RTPENGINE`` (docs/media-server.md); ``--print`` shows them
instead.
"""

from __future__ import annotations

import shlex
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hotline.telephony.mediaserver import (
    MediaServerError,
    MediaServerOptions,
    exec_rtpengine,
    rtpengine_argv,
    rtpengine_available,
)


class Command(BaseCommand):
    help = "Run the media server (rtpengine) for the SIP switch."
    requires_system_checks: list[str] = []  # it becomes rtpengine: no models, no database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--print", action="store_true", help="print the rtpengine command line instead of running it"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        media = MediaServerOptions.from_settings()
        try:
            argv = rtpengine_argv(media)
        except MediaServerError as exc:
            raise CommandError(str(exc)) from exc
        if options["print"]:
            self.stdout.write(shlex.join(argv))
            return
        if not rtpengine_available(media.binary):
            raise CommandError(
                f"rtpengine is not installed ({media.binary!r} not found): install the Debian package "
                "rtpengine-daemon, or set HOTLINE_RTPENGINE_BINARY"
            )
        self.stderr.write(f"media server: {shlex.join(argv)}")
        self.stderr.flush()
        try:
            exec_rtpengine(media)
        except (MediaServerError, OSError) as exc:
            raise CommandError(f"rtpengine could not be started: {exc}") from exc

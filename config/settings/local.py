"""Settings for a developer's machine and the embedded demo (`make run`)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("HOTLINE_DEBUG", default=True)

"""coopqa: trustworthy, cited knowledge from multilingual cultural-diplomacy news."""

from coopqa import offline as _offline

_offline.configure()

__version__ = "0.1.0"

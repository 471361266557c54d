"""obligraph: an event-driven knowledge graph of Chinese AI regulatory obligations."""

from __future__ import annotations

__version__ = "0.1.0"

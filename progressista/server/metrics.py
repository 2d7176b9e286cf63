"""Prometheus metrics, in a registry of the app's own (no process globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from progressista.protocol.statuses import TASK_STATUSES

from .alerts.engine import AlertStats
from .broadcast import BroadcastStats

__all__ = ["Metrics"]


class Metrics:
    """The counters and gauges behind ``GET /metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.tasks = Gauge("progressista_tasks", "Tasks held, by status", ["status"], registry=self.registry)
        self.events_accepted = Counter(
            "progressista_events_accepted", "Events accepted by POST /progress", registry=self.registry
        )
        self.events_rejected = Counter(
            "progressista_events_rejected",
            "Events (or request bodies that did not parse) refused by POST /progress",
            registry=self.registry,
        )
        self.ws_clients = Gauge("progressista_ws_clients", "Connected WebSocket dashboards", registry=self.registry)
        self.ws_messages = Counter(
            "progressista_ws_messages_sent", "Messages sent to WebSocket dashboards", registry=self.registry
        )
        self.ws_dropped = Counter(
            "progressista_ws_clients_dropped", "Dashboards dropped for falling behind", registry=self.registry
        )
        self.store_save_failures = Counter(
            "progressista_store_save_failures",
            "Saves of the storage file (PROGRESSISTA_STORAGE_PATH) that failed; each is retried",
            registry=self.registry,
        )
        self.alerts_sent = Counter(
            "progressista_alerts_sent", "Notifications a target took (one per target per alert)", registry=self.registry
        )
        self.alerts_failed = Counter(
            "progressista_alerts_failed",
            "Notifications that failed after every try (one per target per alert)",
            registry=self.registry,
        )
        self.alerts_dropped = Counter(
            "progressista_alerts_dropped", "Alerts dropped because the alerts queue was full", registry=self.registry
        )

        self.history_dropped = Counter(
            "progressista_history_dropped",
            "Finished runs not recorded in history because too many waited to be written",
            registry=self.registry,
        )

    def alert_stats(self) -> AlertStats:
        """Hooks for the alerts engine."""
        return AlertStats(sent=self.alerts_sent.inc, failed=self.alerts_failed.inc, dropped=self.alerts_dropped.inc)

    def broadcast_stats(self) -> BroadcastStats:
        """Hooks for the broadcaster."""
        return BroadcastStats(sent=self.ws_messages.inc, dropped=self.ws_dropped.inc)

    def render(self, counts: dict[str, int], ws_clients: int) -> bytes:
        """The text exposition, with the gauges read now."""
        for name in TASK_STATUSES:
            self.tasks.labels(status=name).set(counts.get(name, 0))
        self.ws_clients.set(ws_clients)
        return generate_latest(self.registry)

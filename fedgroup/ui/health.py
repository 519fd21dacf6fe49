"""/healthz for the container's health check and the reverse proxy, and /metrics for Prometheus (when the
operator turns it on). Neither says anything about members: only counts of the queues."""

from __future__ import annotations

import logging

from aiohttp import web

from fedgroup import actions
from fedgroup.ui.common import runtime_of

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers and no queue has stalled; 503 with the reason otherwise."""
    runtime = runtime_of(request)
    await runtime.db.scalar("SELECT 1")
    stalled = await actions.stalls(runtime)
    if stalled:
        reasons = "\n".join(s.reason for s in stalled)
        log.warning("health check failing: %s", reasons.replace("\n", "; "))
        return web.Response(status=503, text=f"{reasons}\n", headers={"Cache-Control": "no-store"})
    return web.Response(text="ok\n", headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.Response:
    """Gauges read from the database at each scrape (a fresh registry each time: nothing kept in between).
    Totals only: no per-host label (the hosts of followers), nothing of members."""
    runtime = runtime_of(request)
    if not runtime.config.metrics_enabled:
        raise web.HTTPNotFound()
    # Imported here, not at the top: metrics are off by default, and the library is 1.4 MB of memory.
    from prometheus_client import CollectorRegistry, Gauge, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    health = await actions.health(runtime)
    registry = CollectorRegistry(auto_describe=True)

    def gauge(name: str, help_text: str, value: float, labels: dict[str, str] | None = None) -> None:
        g = Gauge(name, help_text, list(labels or {}), registry=registry)
        (g.labels(**labels) if labels else g).set(value)

    inbox = Gauge("fedgroup_inbox_activities", "Received activities by state", ["state"], registry=registry)
    inbox.labels(state="pending").set(health.inbox.pending)
    inbox.labels(state="retrying").set(health.inbox.retrying)
    inbox.labels(state="given_up").set(health.inbox.given_up)
    deliveries = Gauge("fedgroup_deliveries", "Deliveries by state", ["state"], registry=registry)
    deliveries.labels(state="pending").set(health.deliveries.pending)
    deliveries.labels(state="retrying").set(health.deliveries.retrying)
    deliveries.labels(state="given_up").set(health.deliveries.given_up)
    gauge("fedgroup_delivery_hosts", "Remote hosts with deliveries queued", len(health.deliveries.hosts))
    gauge(
        "fedgroup_delivery_hosts_paused",
        "Remote hosts paused after failures",
        len(health.deliveries.paused_hosts),
    )
    now = runtime.now()
    oldest = [t for t in (health.inbox.oldest, health.deliveries.oldest) if t is not None]
    gauge(
        "fedgroup_oldest_waiting_seconds",
        "Age of the oldest undelivered or unprocessed item",
        max(((now - t).total_seconds() for t in oldest), default=0),
    )
    stalled = {s.queue for s in health.stalls}
    stall = Gauge("fedgroup_queue_stalled", "1 when a queue has stalled", ["queue"], registry=registry)
    for queue in ("deliveries", "inbox"):
        stall.labels(queue=queue).set(1 if queue in stalled else 0)
    if health.last_backup is not None:
        gauge(
            "fedgroup_last_backup_timestamp_seconds",
            "When the last backup finished",
            health.last_backup.at.timestamp(),
        )
    gauge("fedgroup_data_dir_bytes", "Bytes used by the data directory", health.disk.data_dir_bytes)
    gauge(
        "fedgroup_disk_free_bytes", "Bytes free on the data directory's file system", health.disk.free_bytes
    )
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

"""The server's health for its operator: both queues (deliveries per remote host), stalled workers, the last
backup and the disk. Read by `fedgroup status`, /admin/queues, /healthz and /metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fedgroup import store
from fedgroup.actions.context import Context


@dataclass(frozen=True)
class Health:
    inbox: store.inbox.QueueCounts
    deliveries: store.outbox.DeliveryCounts
    stalls: list[store.health.Stall]
    last_backup: store.health.LastBackup | None
    disk: store.health.DiskUse


async def stalls(runtime: Context) -> list[store.health.Stall]:
    after = timedelta(minutes=runtime.config.stall_minutes)
    return await runtime.db.read(store.health.stalls, runtime.now(), after)


async def health(runtime: Context) -> Health:
    now = runtime.now()
    data_dir = runtime.config.data_dir
    return Health(
        inbox=await runtime.db.read(store.inbox.counts),
        deliveries=await runtime.db.read(store.outbox.counts, now),
        stalls=await stalls(runtime),
        last_backup=store.health.last_backup(data_dir),
        disk=store.health.disk_use(data_dir),
    )

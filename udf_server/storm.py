"""Alert-storm protection: when the champion suddenly flags a large share of the payments (a
bad rollout, a broken feature), its alerts stop going down the alert path.

A healthy model flags about 1% of payments; one that flags a quarter of them is broken, and
forwarding every flag would flood the people receiving alerts and make the alert path (ksqlDB's
alerts query, the per-user escalation, the alerts sink) the most expensive part of the
pipeline. So the sidecar watches the champion's alert share over its last `window` scored
payments. Above `share` a storm begins: while it lasts, a batch's alerts are not written to
the flagged topic. Nothing is lost: every scored record still carries IS_ANOMALY, and the
monitoring counts add the batch's alerts to ALERTS and to ALERTS_SUPPRESSED, so the alert-rate
table shows the storm and how many alerts it held back. The storm ends once the share falls
below half of `share` (hysteresis: no flapping at the edge).
"""

from __future__ import annotations

import logging
from collections import deque

log = logging.getLogger("udf_server.storm")
#: a storm needs at least this many payments seen (or the whole window, if smaller)
MIN_EVENTS = 1000


class StormGuard:
    """Decides, batch by batch, whether the champion's alerts go down the alert path."""

    def __init__(self, share: float, window: int) -> None:
        self.share = share
        self.window = window
        self.active = False
        self._batches: deque[tuple[int, int]] = deque()  # (events, alerts), newest last
        self._events = 0
        self._alerts = 0

    def suppress(self, events: int, alerts: int, version: str) -> bool:
        """Record one batch; True when its alerts are to be held back (a storm is on)."""
        if self.share >= 1.0:  # turned off
            return False
        if events == 0:
            return self.active
        self._batches.append((events, alerts))
        self._events += events
        self._alerts += alerts
        while len(self._batches) > 1 and self._events - self._batches[0][0] >= self.window:
            old_events, old_alerts = self._batches.popleft()
            self._events -= old_events
            self._alerts -= old_alerts
        current = self._alerts / self._events
        if not self.active and self._events >= min(self.window, MIN_EVENTS) \
                and current > self.share:
            self.active = True
            log.warning("alert storm: model %s flags %.0f%% of the last %d payments (limit "
                        "%.0f%%): its alerts are held back (counted as ALERTS_SUPPRESSED in "
                        "the monitoring tables, IS_ANOMALY kept in the scored records)",
                        version, 100 * current, self._events, 100 * self.share)
        elif self.active and current < self.share / 2:
            self.active = False
            log.warning("alert storm over: model %s flags %.1f%% of the last %d payments; "
                        "alerts go out again", version, 100 * current, self._events)
        return self.active

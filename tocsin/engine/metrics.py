"""The engine's health in numbers, in a Prometheus registry of its own.

The registry is the engine's, not prometheus_client's global one: tests build many engines in one
process, and the operations work exposes this one registry (``exposition()``) where it chooses.
Callers record through the typed methods below; none of them names a metric or a label.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Why a step's run did not finish: it raised, or it ran past its budget and was cut off.
FailureKind = Literal["exception", "timeout"]

# Seconds: steps are meant to take milliseconds; the top buckets catch one stuck on a provider.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class EngineMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._step_seconds = Histogram(
            "tocsin_engine_step_seconds", "Duration of one run of an engine step (retries included).",
            ["step"], buckets=_BUCKETS, registry=self.registry)
        self._tick_seconds = Histogram(
            "tocsin_engine_tick_seconds", "Duration of one engine tick (every step once).",
            buckets=_BUCKETS, registry=self.registry)
        self._step_errors = Counter(
            "tocsin_engine_step_errors", "Runs of an engine step that raised or ran past their budget.",
            ["step", "kind"], registry=self.registry)
        self._oldest_due_lag = Gauge(
            "tocsin_engine_oldest_due_lag_seconds",
            "How late the oldest due but unprocessed timer or pending notification is (0 when none is late).",
            registry=self.registry)
        self._sends = Counter(
            "tocsin_engine_sends", "Notification send attempts by channel and outcome.",
            ["channel", "outcome"], registry=self.registry)
        self._repairs = Counter(
            "tocsin_engine_repairs", "Open incidents the reconciler found without the work they need.",
            registry=self.registry)
        # Sends counted again in a plain dict: reading the registry collects every metric (a
        # caller watching the count, a benchmark or a health check, would pay that each time).
        self._sent: dict[tuple[str, str], int] = {}

    # --- recording ---------------------------------------------------------------------------

    def step_ran(self, step: str, seconds: float) -> None:
        self._step_seconds.labels(step).observe(seconds)

    def tick_ran(self, seconds: float) -> None:
        self._tick_seconds.observe(seconds)

    def step_failed(self, step: str, kind: FailureKind) -> None:
        self._step_errors.labels(step, kind).inc()

    def oldest_due_lag(self, seconds: float) -> None:
        self._oldest_due_lag.set(max(0.0, seconds))

    def sent(self, channel: str, outcome: str, rows: int) -> None:
        """``rows`` send attempts: ``channel`` a Notification channel (email, sms, phone, push),
        ``outcome`` what became of them (e.g. sent, retry, failed, not_configured, suppressed)."""
        self._sends.labels(channel, outcome).inc(rows)
        self._sent[channel, outcome] = self._sent.get((channel, outcome), 0) + rows

    def repaired(self, n: int) -> None:
        if n > 0:
            self._repairs.inc(n)

    # --- reading (health logging, tests) -----------------------------------------------------

    def step_errors(self, step: str, kind: FailureKind) -> int:
        return int(self._value("tocsin_engine_step_errors_total", {"step": step, "kind": kind}))

    def step_runs(self, step: str) -> int:
        return int(self._value("tocsin_engine_step_seconds_count", {"step": step}))

    def step_seconds(self, step: str) -> float:
        """Seconds spent in the step's runs so far (benchmarks read where a tick's time goes)."""
        return self._value("tocsin_engine_step_seconds_sum", {"step": step})

    def ticks(self) -> int:
        return int(self._value("tocsin_engine_tick_seconds_count", {}))

    def lag_seconds(self) -> float:
        return self._value("tocsin_engine_oldest_due_lag_seconds", {})

    def sends(self, channel: str, outcome: str) -> int:
        return self._sent.get((channel, outcome), 0)

    def repairs(self) -> int:
        return int(self._value("tocsin_engine_repairs_total", {}))

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)

    def _value(self, sample: str, labels: dict[str, str]) -> float:
        return self.registry.get_sample_value(sample, labels) or 0.0

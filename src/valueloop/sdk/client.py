"""The Valueloop Python SDK client: local flag evaluation against a cached, refreshed SDK payload.

Invariants:
- No dependencies beyond the standard library (``urllib``) and ``valueloop.engines.flags``.
- Never raises into the host application: an unreachable server, bad JSON, a revoked or unknown key, a payload
  that does not decrypt, a failing callback or an unexpected bug are logged (and passed to ``on_error``) and
  the caller gets defaults: the last good payload, or nothing (``get_value`` then returns its ``default``).
- Evaluation is local and lock-free: the compiled payload is an immutable ``FeatureEvaluator`` swapped in one
  assignment when a refresh brings a new version (ETag; a 304 changes nothing).
- Exposures (experiment assignments) go into a bounded in-memory queue, at most once per (experiment,
  variation, user) per client, and are posted in batches by the background thread. A full queue drops the
  oldest exposure (counted in ``stats``); an events endpoint that answers 404 is not there (yet): its batches
  are dropped quietly (a debug log line) and it is tried again after ``events_retry_after`` seconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from valueloop.engines.flags import BatchResult, DecryptionError, FeatureEvaluator, FeatureResult

__all__ = ["Client"]

_log = logging.getLogger("valueloop.sdk")
SDK_NAME = "valueloop-python"
SDK_VERSION = "0.1.0"
MAX_PAYLOAD_BYTES = 20 * 1024 * 1024
_UNKNOWN = FeatureResult(None, "unknownFeature")


class _ClientError(Exception):
    """Why a refresh failed (what on_error receives)."""


class Client:
    """Evaluate Valueloop (or any GrowthBook-format) flags locally.

    api_host: e.g. ``"https://valueloop.example.com"``; the payload is read from ``{api_host}/api/features/{key}``.
    client_key: the environment's SDK key (``sdk-…``).
    refresh_interval: seconds between background refreshes (0 disables the background thread).
    timeout: seconds for each HTTP request.
    on_error: called with an exception whenever a refresh or an exposure upload fails (default: log only).
    decryption_key: for environments that serve an encrypted payload.
    events_url: where exposures are posted (default ``{api_host}/api/v1/events/batch``); ``track_exposures=False``
        turns exposure tracking off.
    payload: a payload to start from (e.g. a file shipped with the app), used until the first refresh succeeds.
    attributes: attributes merged under every call's attributes (e.g. ``{"app": "billing-api"}``).
    fetch_on_start: fetch the payload in the constructor (bounded by ``timeout``) so the first evaluations see
        real flags; otherwise the first fetch happens in the background.
    """

    def __init__(
        self,
        api_host: str,
        client_key: str,
        *,
        refresh_interval: float = 60,
        timeout: float = 2,
        on_error: Callable[[Exception], Any] | None = None,
        decryption_key: str | None = None,
        events_url: str | None = None,
        track_exposures: bool = True,
        flush_interval: float = 10,
        batch_size: int = 500,
        max_queue: int = 10_000,
        dedupe_size: int = 50_000,
        events_retry_after: float = 3600,
        payload: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
        fetch_on_start: bool = True,
    ) -> None:
        self.api_host = (api_host or "").rstrip("/")
        self.client_key = client_key or ""
        self.features_url = f"{self.api_host}/api/features/{urllib.parse.quote(self.client_key, safe='')}"
        self.events_url = events_url or f"{self.api_host}/api/v1/events/batch"
        self.refresh_interval = max(float(refresh_interval or 0), 0.0)
        self.timeout = float(timeout)
        self.on_error = on_error
        self.decryption_key = decryption_key
        self.track_exposures = track_exposures
        self.flush_interval = max(float(flush_interval), 0.05)
        self.batch_size = max(int(batch_size), 1)
        self.events_retry_after = events_retry_after
        self._attributes = dict(attributes or {})
        self._evaluator = FeatureEvaluator({})
        self._etag: str | None = None
        self.ready = threading.Event()  # set once a payload (given or fetched) is in use
        self.last_error: str | None = None
        self.last_refresh: float | None = None
        self._queue: deque[tuple[float, str | None, Any]] = deque(maxlen=max(int(max_queue), 1))
        self._seen: OrderedDict[tuple[Any, ...], None] = OrderedDict()
        self._dedupe_size = max(int(dedupe_size), 0)
        self._events_missing_until = 0.0
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.stats = {"refreshes": 0, "not_modified": 0, "errors": 0, "exposures": 0, "dropped": 0, "sent": 0}
        if payload:
            self._load(payload, etag=None)
        if fetch_on_start:
            self.refresh()
        self._thread: threading.Thread | None = None
        if self.refresh_interval > 0 or self.track_exposures:
            self._thread = threading.Thread(target=self._run, name="valueloop-sdk", daemon=True)
            self._thread.start()

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def close(self, timeout: float = 5) -> None:
        """Stop the background thread and send what is queued (best effort, bounded by ``timeout``)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        try:
            self.flush()
        except Exception:  # never raise into the host, even on shutdown
            _log.exception("valueloop sdk: flushing exposures on close failed")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        next_refresh = time.monotonic() + self.refresh_interval if self.refresh_interval else float("inf")
        next_flush = time.monotonic() + self.flush_interval
        while not self._stop.is_set():
            now = time.monotonic()
            self._wake.wait(max(min(next_refresh, next_flush) - now, 0.01))
            self._wake.clear()
            if self._stop.is_set():
                break
            now = time.monotonic()
            try:
                if now >= next_refresh:
                    self.refresh()
                    next_refresh = now + self.refresh_interval
                if now >= next_flush or len(self._queue) >= self.batch_size:
                    self.flush()
                    next_flush = now + self.flush_interval
            except Exception:  # the thread must survive anything
                _log.exception("valueloop sdk: background work failed")

    # -- payload --------------------------------------------------------------------------------------------------

    def _error(self, error: Exception, level: int = logging.WARNING) -> None:
        self.last_error = str(error)
        self.stats["errors"] += 1
        _log.log(level, "valueloop sdk: %s", error)
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception:
                _log.exception("valueloop sdk: the on_error callback raised")

    def _load(self, document: Mapping[str, Any], etag: str | None) -> None:
        evaluator = FeatureEvaluator(document, decryption_key=self.decryption_key)
        if (document.get("encryptedFeatures") and not self.decryption_key) or not isinstance(
            document.get("features", {}), Mapping
        ):
            raise _ClientError("the payload is encrypted or malformed and no decryption key is set")
        self._evaluator = evaluator  # one assignment: readers see the old or the new payload, never a mix
        self._etag = etag
        self.ready.set()

    def refresh(self) -> bool:
        """Fetch the payload now (conditional on the ETag). True if the client holds a current payload."""
        try:
            return self._refresh()
        except Exception as exc:  # invariant: never raise
            self._error(_ClientError(f"refresh failed unexpectedly: {exc!r}"))
            return False

    def _refresh(self) -> bool:
        headers = {"Accept": "application/json", "User-Agent": f"{SDK_NAME}/{SDK_VERSION}"}
        if self._etag:
            headers["If-None-Match"] = self._etag
        request = urllib.request.Request(self.features_url, headers=headers, method="GET")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(MAX_PAYLOAD_BYTES + 1)
                etag = response.headers.get("ETag")
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                self.stats["not_modified"] += 1
                self.last_refresh, self.last_error = time.time(), None
                return True
            detail = _error_detail(exc)
            self._error(_ClientError(f"{self.features_url} answered {exc.code}: {detail}; keeping the last payload"))
            return False
        except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            self._error(_ClientError(f"could not reach {self.features_url}: {reason}; keeping the last payload"))
            return False
        if len(body) > MAX_PAYLOAD_BYTES:
            self._error(_ClientError("the payload is larger than 20 MB; ignoring it"))
            return False
        try:
            document = json.loads(body.decode("utf-8"))
            if not isinstance(document, Mapping):
                raise ValueError("not a JSON object")
            self._load(document, etag)
        except (ValueError, UnicodeDecodeError) as exc:
            self._error(_ClientError(f"the payload from {self.features_url} is not valid JSON ({exc})"))
            return False
        except (DecryptionError, _ClientError) as exc:
            self._error(_ClientError(f"could not use the payload: {exc}"))
            return False
        self.stats["refreshes"] += 1
        self.last_refresh, self.last_error = time.time(), None
        return True

    @property
    def feature_keys(self) -> tuple[str, ...]:
        return self._evaluator.feature_keys

    # -- evaluation -----------------------------------------------------------------------------------------------

    def evaluate(self, feature_key: str, attributes: Mapping[str, Any] | None = None) -> FeatureResult:
        """The feature's value for this user, and why. Records an exposure for an experiment assignment."""
        try:
            if self._attributes:
                attributes = {**self._attributes, **(attributes or {})}
            result = self._evaluator.evaluate(feature_key, attributes)
            er = result.experiment_result
            if er is not None and self.track_exposures and er.in_experiment and er.hash_used:
                try:
                    self._expose(feature_key, result)
                except Exception:  # losing an exposure must not lose the value
                    _log.exception("valueloop sdk: recording an exposure failed")
            return result
        except Exception:
            _log.exception("valueloop sdk: evaluating %r failed; returning no value", feature_key)
            return _UNKNOWN

    def is_on(self, feature_key: str, attributes: Mapping[str, Any] | None = None) -> bool:
        try:
            return self.evaluate(feature_key, attributes).on
        except Exception:
            return False

    def get_value(self, feature_key: str, attributes: Mapping[str, Any] | None = None, default: Any = None) -> Any:
        """The feature's value, or ``default`` when the feature is unknown (or the payload is missing)."""
        value = self.evaluate(feature_key, attributes).value
        return default if value is None else value

    def evaluate_many(self, feature_key: str, users: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Every user's value at once (vectorised). No exposures are recorded: this is for back-office work."""
        if self._attributes:
            users = [{**self._attributes, **u} for u in users]
        return self._evaluator.evaluate_many(feature_key, users)

    def evaluate_many_features(
        self, feature_keys: Iterable[str], users: Sequence[Mapping[str, Any]]
    ) -> dict[str, BatchResult]:
        if self._attributes:
            users = [{**self._attributes, **u} for u in users]
        return self._evaluator.evaluate_many_features(feature_keys, users)

    # -- exposures ------------------------------------------------------------------------------------------------

    def _expose(self, feature_key: str, result: FeatureResult) -> None:
        er = result.experiment_result
        assert er is not None
        experiment_key = (result.experiment or {}).get("key", feature_key)
        value = er.hash_value if type(er.hash_value) is str else repr(er.hash_value)  # hashable, whatever it is
        dedupe = (experiment_key, er.variation_id, er.hash_attribute, value)
        if self._dedupe_size:
            if dedupe in self._seen:
                return
            self._seen[dedupe] = None
            if len(self._seen) > self._dedupe_size:
                try:
                    self._seen.popitem(last=False)
                except KeyError:
                    pass
        # A compact tuple on the hot path; the event's JSON is built when the batch is sent.
        if len(self._queue) == self._queue.maxlen:
            self.stats["dropped"] += 1
        self._queue.append((time.time(), None, (experiment_key, er, feature_key, result.rule_id)))
        self.stats["exposures"] += 1
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def track(self, event_type: str, properties: Mapping[str, Any]) -> None:
        """Queue an event for the events endpoint (OpenFeature's track() uses this)."""
        if len(self._queue) == self._queue.maxlen:
            self.stats["dropped"] += 1
        self._queue.append((time.time(), event_type, dict(properties)))
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def _event(self, item: tuple[float, str | None, Any]) -> dict[str, Any]:
        at, event_type, data = item
        event: dict[str, Any] = {
            "type": event_type or "experiment_viewed",
            "timestamp": datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z"),
            "client_key": self.client_key,
            "sdk": f"{SDK_NAME}/{SDK_VERSION}",
        }
        if event_type is None:
            experiment_key, er, feature_key, rule_id = data
            event.update(
                experiment_key=experiment_key,
                variation_id=er.variation_id,
                variation_key=er.key,
                feature_key=feature_key,
                rule_id=rule_id,
                hash_attribute=er.hash_attribute,
                hash_value=er.hash_value,
            )
        else:
            event.update(data)
        return event

    @property
    def queued(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Send queued events now, in batches. Returns how many were delivered. Never raises."""
        sent = 0
        with self._flush_lock:
            while self._queue:
                batch: list[tuple[float, str | None, Any]] = []
                while self._queue and len(batch) < self.batch_size:
                    try:
                        batch.append(self._queue.popleft())
                    except IndexError:
                        break
                if not batch:
                    break
                outcome = self._post(batch)
                if outcome == "retry":
                    for event in reversed(batch):  # back to the front, oldest first; the bound still holds
                        if len(self._queue) == self._queue.maxlen:
                            self.stats["dropped"] += 1
                            break
                        self._queue.appendleft(event)
                    break
                if outcome == "sent":
                    sent += len(batch)
        self.stats["sent"] += sent
        return sent

    def _post(self, batch: list[tuple[float, str | None, Any]]) -> str:
        if time.monotonic() < self._events_missing_until:
            return "dropped"
        data = json.dumps({"events": [self._event(item) for item in batch]}, default=str).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310
            self.events_url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"{SDK_NAME}/{SDK_VERSION}",
                "X-Valueloop-Client-Key": self.client_key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read(1024)
            return "sent"
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 405, 410):
                self._events_missing_until = time.monotonic() + self.events_retry_after
                _log.debug(
                    "valueloop sdk: no events endpoint at %s (%s); dropping exposures", self.events_url, exc.code
                )
                return "dropped"
            if exc.code in (400, 401, 403, 413, 422):
                self._error(_ClientError(f"the events endpoint refused {len(batch)} events: {exc.code}"))
                return "dropped"
            self._error(_ClientError(f"the events endpoint answered {exc.code}; will retry"))
            return "retry"
        except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
            self._error(_ClientError(f"could not send events: {getattr(exc, 'reason', exc)}; will retry"))
            return "retry"


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read(4096).decode("utf-8"))
        return str(body.get("error") or body.get("message") or exc.reason)
    except Exception:
        return str(exc.reason)

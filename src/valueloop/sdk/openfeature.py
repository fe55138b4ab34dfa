"""An OpenFeature provider (openfeature-sdk 0.10) backed by a Valueloop SDK client.

    from openfeature import api
    api.set_provider(ValueloopProvider(Client(api_host, client_key)))
    api.get_client().get_boolean_value("new-checkout", False, EvaluationContext(targeting_key=user_id))

Mapping: the context's targeting key is the ``id`` attribute (unless the context sets ``id`` itself);
datetimes become ISO strings. Reasons: experiment assignment → SPLIT, a matching rule → TARGETING_MATCH, the
flag's default → DEFAULT, a killed flag or failed prerequisite → DISABLED. Errors never raise: an unknown flag
is FLAG_NOT_FOUND, a value of the wrong type TYPE_MISMATCH, no payload yet PROVIDER_NOT_READY; each returns the
caller's default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata
from openfeature.track import TrackingEventDetails

from .client import Client

__all__ = ["ValueloopProvider"]

_REASONS = {
    "experiment": Reason.SPLIT,
    "force": Reason.TARGETING_MATCH,
    "defaultValue": Reason.DEFAULT,
    "prerequisite": Reason.DISABLED,
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def context_attributes(context: EvaluationContext | None, targeting_attribute: str = "id") -> dict[str, Any]:
    if context is None:
        return {}
    attributes = {str(k): _plain(v) for k, v in (context.attributes or {}).items()}
    if context.targeting_key and targeting_attribute not in attributes:
        attributes[targeting_attribute] = context.targeting_key
    return attributes


def _is_bool(v: Any) -> bool:
    return type(v) is bool


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_int(v: Any) -> bool:
    return not isinstance(v, bool) and (isinstance(v, int) or (isinstance(v, float) and v.is_integer()))


def _is_float(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float)


def _is_object(v: Any) -> bool:
    return isinstance(v, Mapping | list)


class ValueloopProvider(AbstractProvider):
    def __init__(self, client: Client, *, targeting_attribute: str = "id", owns_client: bool = False) -> None:
        super().__init__()
        self.client = client
        self.targeting_attribute = targeting_attribute
        self.owns_client = owns_client

    @classmethod
    def connect(cls, api_host: str, client_key: str, **client_options: Any) -> ValueloopProvider:
        """A provider with its own client (closed on shutdown)."""
        return cls(Client(api_host, client_key, **client_options), owns_client=True)

    def get_metadata(self) -> Metadata:
        return Metadata(name="Valueloop")

    def shutdown(self) -> None:
        if self.owns_client:
            self.client.close()

    def track(
        self,
        tracking_event_name: str,
        evaluation_context: EvaluationContext | None = None,
        tracking_event_details: TrackingEventDetails | None = None,
    ) -> None:
        try:
            details = tracking_event_details
            self.client.track(
                "track",
                {
                    "name": tracking_event_name,
                    "attributes": context_attributes(evaluation_context, self.targeting_attribute),
                    "value": details.value if details is not None else None,
                    "details": _plain(dict(details.attributes)) if details is not None else {},
                },
            )
        except Exception:  # a provider never raises into the application
            return

    # -- resolution ----------------------------------------------------------------------------------------------

    def _resolve(
        self,
        flag_key: str,
        default_value: Any,
        context: EvaluationContext | None,
        accepts: Callable[[Any], bool],
        coerce: Callable[[Any], Any],
        type_name: str,
    ) -> FlagResolutionDetails[Any]:
        try:
            if not self.client.ready.is_set():
                return FlagResolutionDetails(
                    default_value,
                    error_code=ErrorCode.PROVIDER_NOT_READY,
                    error_message=self.client.last_error or "No flags payload has been loaded yet.",
                    reason=Reason.ERROR,
                )
            result = self.client.evaluate(flag_key, context_attributes(context, self.targeting_attribute))
            metadata: dict[str, bool | int | float | str] = {"source": result.source}
            if result.rule_id:
                metadata["ruleId"] = result.rule_id
            if result.source == "unknownFeature":
                return FlagResolutionDetails(
                    default_value,
                    error_code=ErrorCode.FLAG_NOT_FOUND,
                    error_message=f"No flag {flag_key!r} in the payload.",
                    reason=Reason.ERROR,
                    flag_metadata=metadata,
                )
            if result.source == "cyclicPrerequisite":
                return FlagResolutionDetails(
                    default_value,
                    error_code=ErrorCode.GENERAL,
                    error_message=f"The prerequisites of {flag_key!r} form a cycle.",
                    reason=Reason.ERROR,
                    flag_metadata=metadata,
                )
            value = result.value
            if result.source == "prerequisite":  # a gating prerequisite is off: the flag is off for this user
                return FlagResolutionDetails(default_value, reason=Reason.DISABLED, flag_metadata=metadata)
            if value is None:
                return FlagResolutionDetails(default_value, reason=Reason.DEFAULT, flag_metadata=metadata)
            if not accepts(value):
                return FlagResolutionDetails(
                    default_value,
                    error_code=ErrorCode.TYPE_MISMATCH,
                    error_message=f"{flag_key!r} is {type(value).__name__}, not {type_name}.",
                    reason=Reason.ERROR,
                    flag_metadata=metadata,
                )
            variant = None
            er = result.experiment_result
            if er is not None and result.source == "experiment":
                variant = er.key
                metadata["experimentKey"] = str((result.experiment or {}).get("key", flag_key))
                metadata["variationId"] = er.variation_id
            elif result.source == "force":
                variant = result.rule_id or "forced"
            elif result.source == "defaultValue":
                variant = "default"
            return FlagResolutionDetails(
                coerce(value),
                reason=_REASONS.get(result.source, Reason.UNKNOWN),
                variant=variant,
                flag_metadata=metadata,
            )
        except Exception as exc:  # never raise into the application
            return FlagResolutionDetails(
                default_value, error_code=ErrorCode.GENERAL, error_message=str(exc), reason=Reason.ERROR
            )

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, _is_bool, bool, "a boolean")

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, _is_str, str, "a string")

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, _is_int, int, "an integer")

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, _is_float, float, "a number")

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[Any] | Mapping[str, Any],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[Any] | Mapping[str, Any]]:
        return self._resolve(flag_key, default_value, evaluation_context, _is_object, lambda v: v, "an object")

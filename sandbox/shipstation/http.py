"""Request plumbing of the ShipStation simulator: auth, rate limit, errors, query, paging."""
from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response, g, request

from ..base import RateDecision, body_response, is_control_request, set_credential
from .orders import INVALID
from .state import KEY, Account, format_ts, parse_date, parse_datetime, state

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
UNAUTHORIZED = "Authorization has been denied for this request."


class ApiError(Exception):
    """Any non-2xx answer of an API route; rendered as JSON with the given status."""

    def __init__(self, status: int, body: Any):
        super().__init__(str(body))
        self.status = status
        self.body = body


def invalid(model_state: dict[str, list[str]]) -> ApiError:
    return ApiError(400, {"Message": INVALID, "ModelState": model_state})


def not_found(what: str) -> ApiError:
    return ApiError(404, {"message": f"{what} not found."})


def account() -> Account:
    return g.ss_account


def read_json_body(param: str) -> Any:
    """Parse the body as a Web API JSON formatter would (415 for other media types)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise invalid({param: [f"The {param} field is required."]})
    if request.mimetype != "application/json":
        media = request.mimetype or "(none)"
        raise ApiError(415, {"Message": f"The request entity's media type '{media}' is not "
                                        "supported for this resource."})
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid({param: [f"The request body is not valid JSON: {exc}"]}) from None


# --------------------------------------------------------------------------- hooks

def _rate_headers(response: Response, decision: RateDecision) -> None:
    response.headers["X-Rate-Limit-Limit"] = str(decision.limit)
    response.headers["X-Rate-Limit-Remaining"] = str(decision.remaining)
    response.headers["X-Rate-Limit-Reset"] = str(decision.reset_seconds)


def _too_many() -> Response:
    return body_response(429, {"message": "Too Many Requests"})


def burst_rate_limited() -> Response:
    """The 429 of a ``rate_limit_burst`` fault, with the caller's real window in headers."""
    st = state()
    acct = st.authenticate()
    if acct is None:
        reset = max(1, math.ceil(st.default_window))
        g.ss_rate = RateDecision(False, st.default_limit, 0, reset)
        return _too_many()
    set_credential(acct.label, acct.secrets)
    peek = st.rt.limiter.peek(acct.api_key, acct.rate_limit, acct.window_seconds)
    g.ss_rate = RateDecision(False, peek.limit, 0, peek.reset_seconds)
    st.tenants.count(acct, "requests")
    st.tenants.count(acct, "rate_limited")
    return _too_many()


def install_hooks(bp: Blueprint) -> None:
    @bp.before_request
    def _authenticate_and_limit() -> Response | None:
        if is_control_request(KEY):
            return None
        st = state()
        acct = st.authenticate()
        if acct is None:
            return body_response(401, None if st.empty_401_body else {"message": UNAUTHORIZED})
        g.ss_account = acct
        decision = st.tenants.admit(acct)
        g.ss_rate = decision
        return None if decision.allowed else _too_many()

    @bp.after_request
    def _add_rate_headers(response: Response) -> Response:
        decision = g.get("ss_rate")
        if decision is not None:
            _rate_headers(response, decision)
        return response

    bp.register_error_handler(ApiError, lambda exc: body_response(exc.status, exc.body))


# --------------------------------------------------------------------------- query strings

class Query:
    """Case-insensitive query parameters (ASP.NET binds them that way); errors are
    collected and raised together by `done()`."""

    def __init__(self) -> None:
        self.args = {k.lower(): v for k, v in request.args.items()}
        self.errors: dict[str, list[str]] = {}

    def _err(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def text(self, name: str) -> str | None:
        value = self.args.get(name.lower())
        return value if value not in (None, "") else None

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            self._err(name, f"The value '{value}' is not valid for {name}.")
            return None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            self._err(name, f"The value '{value}' is not valid for {name}.")
            return default
        return value.lower() == "true"

    def datetime(self, name: str) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return format_ts(parse_datetime(value))
        except ValueError:
            self._err(name, f"The value '{value}' is not a valid date-time.")
            return None

    def date(self, name: str) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_date(value)
        except ValueError:
            self._err(name, f"The value '{value}' is not a valid date.")
            return None

    def choice(self, name: str, allowed: Iterable[str]) -> str | None:
        """Case-insensitive enum; returns the canonical spelling."""
        value = self.text(name)
        if value is None:
            return None
        for option in allowed:
            if option.lower() == value.lower():
                return option
        self._err(name, f"The value '{value}' is not valid for {name}.")
        return None

    def paging(self) -> tuple[int, int]:
        page = self.integer("page")
        size = self.integer("pageSize")
        if page is None:
            page = 1
        elif page < 1:
            self._err("page", "page must be 1 or greater.")
        if size is None:
            size = DEFAULT_PAGE_SIZE
        elif size > MAX_PAGE_SIZE and state().page_size_overflow == "clamp":
            size = MAX_PAGE_SIZE
        elif not 1 <= size <= MAX_PAGE_SIZE:
            self._err("pageSize", f"pageSize must be between 1 and {MAX_PAGE_SIZE}.")
        return page, size

    def range(self, base: str, kind: str = "datetime") -> tuple[str | None, str | None]:
        read = self.datetime if kind == "datetime" else self.date
        return read(base + "Start"), read(base + "End")

    def done(self) -> None:
        if self.errors:
            raise invalid(self.errors)


def in_range(value: str | None, bounds: tuple[str | None, str | None]) -> bool:
    """Inclusive range on fixed-width timestamp strings; a bound excludes null values."""
    start, end = bounds
    if start is None and end is None:
        return True
    if value is None:
        return False
    return (start is None or value >= start) and (end is None or value <= end)


def sort_and_page(items: list[dict], key: Callable[[dict], Any], descending: bool,
                  page: int, size: int, envelope: str,
                  render: Callable[[dict], dict] = copy.deepcopy) -> dict[str, Any]:
    """Sort, cut one page and wrap it in the V1 list envelope."""
    items = sorted(items, key=key, reverse=descending)
    total = len(items)
    window = items[(page - 1) * size: page * size]
    return {envelope: [render(item) for item in window], "total": total, "page": page,
            "pages": math.ceil(total / size) if total else 0}


def sort_key(field: str | None, id_field: str) -> Callable[[dict], Any]:
    """Nulls first, ties broken by id (ascending id is the V1 default order)."""
    if field is None:
        return lambda item: item[id_field]
    return lambda item: (item.get(field) is not None, item.get(field) or "", item[id_field])


def contains(haystack: Any, needle: str) -> bool:
    return isinstance(haystack, str) and needle.lower() in haystack.lower()

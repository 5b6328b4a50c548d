"""Raw message text -> normalized message, 'ignored', or a rejection reason.

Pure: no state. Follows shared/spec/events.md sections 2-4; where the spec is
silent, the resolutions of main/docs (see NOTES.md) are used.
"""
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

MAX_BYTES = 64 * 1024

BOOKING_TYPES = {
    "BookingCreated": "created",
    "BookingConfirmed": "confirmed",
    "BookingCancelled": "cancelled",
    "BookingExpired": "expired",
}
EVENT_TYPES = {"EventCreated", "EventUpdated", "EventDeleted"}
IGNORED_TYPES = {
    "BookingPaymentCompleted",
    "WaitlistJoined",
    "WaitlistCancelled",
    "WaitlistNotificationsSent",
    "WaitlistAvailabilityUpdated",
}
CLOUD_TYPES = {
    "evently.event.created": "EventCreated",
    "evently.event.updated": "EventUpdated",
    "evently.event.deleted": "EventDeleted",
    "evently.booking.created": "BookingCreated",
    "evently.booking.confirmed": "BookingConfirmed",
    "evently.booking.cancelled": "BookingCancelled",
    "evently.booking.expired": "BookingExpired",
}
# docs/metrics.md "Bounds beyond the spec's"
MAX_QUANTITY = 1_000_000
MAX_AMOUNT = Decimal(10) ** 11  # the service's bound (docs/metrics.md)
MAX_CAPACITY = 2_147_483_647

_TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}:\d{2})?$"
)


class Rejected(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def parse_ts(value):
    """ISO 8601 extended format -> aware UTC datetime; Rejected on anything else."""
    if not isinstance(value, str):
        raise Rejected("invalid_timestamp")
    m = _TS.match(value)
    if not m:
        raise Rejected("invalid_timestamp")
    y, mo, d, h, mi = (int(m.group(i)) for i in range(1, 6))
    s = int(m.group(6) or 0)
    frac = m.group(7) or ""
    micro = int((frac + "000000")[:6]) if frac else 0
    off = m.group(8)
    extra_day = False
    if h == 24:  # docs: 24:00 is the end of the day; 24:30 is invalid
        if mi or s or (frac and int(frac)):
            raise Rejected("invalid_timestamp")
        h, extra_day = 0, True
    try:
        dt = datetime(y, mo, d, h, mi, s, micro)
    except ValueError:
        raise Rejected("invalid_timestamp")
    if extra_day:
        try:
            dt += timedelta(days=1)
        except OverflowError:  # 9999-12-31T24:00 is the year 10000: outside 0000-9999 (docs)
            raise Rejected("invalid_timestamp")
    if off is None or off == "Z":
        tz = timezone.utc
    else:
        oh, om = int(off[1:3]), int(off[4:6])
        if oh > 23 or om > 59:
            raise Rejected("invalid_timestamp")
        delta = timedelta(hours=oh, minutes=om)
        tz = timezone(delta if off[0] == "+" else -delta)
    try:
        return dt.replace(tzinfo=tz).astimezone(timezone.utc)
    except OverflowError:  # outside the years 0000-9999 in UTC (docs)
        raise Rejected("invalid_timestamp")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


_DIGITS = re.compile(r"^[0-9]+$")


def _id(v):
    """An id: an integer, or a string of digits naming the same integer ("91" is 91).
    docs/metrics.md: a flat event's string `id` ("120") that names the event is its id; every
    digit-string id is read alike (NOTES.md, ambiguity 24).
    -> int, or None when v is not an id."""
    if _is_int(v):
        return v
    if isinstance(v, str) and _DIGITS.match(v):
        return int(v)
    return None


def _is_num(v):
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def _first(dicts, *names):
    """First (present, value) for the first name found in the first dict holding it."""
    for d in dicts:
        for n in names:
            if isinstance(d, dict) and n in d:
                return True, d[n]
    return False, None


def _envelope_time(msg, cloud):
    for name in (("time",) if cloud else ("timestamp", "occurred_at")):
        if name in msg and msg[name] is not None:
            return parse_ts(msg[name])
    return None


def _explicit_key(msg, cloud):
    if cloud:
        v = msg.get("id")
        return v if isinstance(v, str) else None
    if isinstance(msg.get("message_id"), str):
        return msg["message_id"]
    if isinstance(msg.get("id"), str):
        return msg["id"]
    return None


def _hash_key(msg):
    canon = json.dumps(msg, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def parse(raw):
    """-> ('rejected', reason) | ('ignored', None) | ('ok', message dict)."""
    try:
        return _parse(raw)
    except Rejected as r:
        return ("rejected", r.reason)


def _parse(raw):
    if len(raw.encode("utf-8")) > MAX_BYTES:
        raise Rejected("too_large")
    try:
        msg = json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Rejected("invalid_json")
    if not isinstance(msg, dict):
        raise Rejected("not_object")
    if "type" not in msg or msg["type"] is None:
        raise Rejected("missing_type")
    mtype = msg["type"]
    cloud = "specversion" in msg
    if cloud:
        mtype = CLOUD_TYPES.get(mtype) if isinstance(mtype, str) else None
        if mtype is None:
            raise Rejected("unknown_type")
    if not isinstance(mtype, str):
        raise Rejected("unknown_type")
    if mtype in IGNORED_TYPES and not cloud:
        return ("ignored", None)
    if mtype in BOOKING_TYPES:
        out = _booking(msg, mtype, cloud)
    elif mtype in EVENT_TYPES:
        out = _event(msg, mtype, cloud)
    else:
        raise Rejected("unknown_type")
    key = _explicit_key(msg, cloud)
    if (key is not None and not cloud and out["kind"] != "booking" and not isinstance(msg.get("event_data"), dict)
            and "message_id" not in msg and key == msg.get("id") and _id(key) == out["event_id"]):
        key = None  # docs: a flat event's string `id` that names the event is its id, not a key
    out["key"] = key or out.pop("default_key", None) or _hash_key(msg)
    out.pop("default_key", None)
    return ("ok", out)


def _no_constant(name):
    raise ValueError(name)  # NaN / Infinity are not JSON


def _booking(msg, mtype, cloud):
    payload = msg.get("data") if cloud else msg.get("booking_data")
    if not isinstance(payload, dict):
        payload = {}
    top = {} if cloud else msg
    have, bid = _first([top, payload], "booking_id")
    if not have and cloud:
        have, bid = _first([payload], "id")
    if not have and not cloud:
        have, bid = _first([payload], "id")
    bid = _id(bid)
    if bid is None:
        raise Rejected("missing_booking_id")
    attrs = {}
    have, ev = _first([top, payload], "event_id")
    if have and ev is not None:
        ev = _id(ev)
        if ev is None:
            raise Rejected("missing_event_id")
        attrs["event_id"] = ev
    have, user = _first([top, payload], "user_id")
    if have and user is not None:
        attrs["user_id"] = _id(user) if _id(user) is not None else user
    have, qty = _first([payload, top], "quantity")
    if have:
        if not _is_int(qty) or qty < 1 or qty > MAX_QUANTITY:
            raise Rejected("invalid_quantity")
        attrs["quantity"] = qty
    have, amount = _first([payload, top], "total_amount")
    if have:
        if not _is_num(amount) or Decimal(amount) < 0 or Decimal(amount) > MAX_AMOUNT:
            raise Rejected("invalid_amount")
        attrs["amount"] = Decimal(amount)
    have, cur = _first([payload, top], "currency")
    if have and isinstance(cur, str):
        attrs["currency"] = cur
    tr = BOOKING_TYPES[mtype]
    field = tr + "_at"
    if payload.get(field) is not None:
        when = parse_ts(payload[field])
    else:
        when = _envelope_time(msg, cloud)
    return {
        "kind": "booking",
        "tr": tr,
        "booking_id": bid,
        "attrs": attrs,
        "time": when,
        "bare": not all(k in attrs for k in ("event_id", "quantity", "amount")),
        "default_key": f"{mtype}:{bid}",
    }


def _event(msg, mtype, cloud):
    if cloud:
        payload = msg.get("data") if isinstance(msg.get("data"), dict) else {}
        have, eid = _first([payload], "event_id", "id")
    else:
        payload = msg.get("event_data")
        if not isinstance(payload, dict):
            payload = msg  # flat format: event fields at the top level
        have, eid = _first([msg], "event_id")
        if not have or eid is None:
            have, eid = _first([payload], "id", "event_id")
    eid = _id(eid)
    if eid is None:
        raise Rejected("missing_event_id")
    if mtype == "EventDeleted":
        return {"kind": "event_delete", "event_id": eid, "default_key": f"EventDeleted:{eid}"}
    fields = {}
    for name in ("name", "title"):
        if isinstance(payload.get(name), str):
            fields["event_name"] = payload[name]
            break
    if "category" in payload:
        fields["category"] = payload["category"]
    if "capacity" in payload:
        cap = payload["capacity"]
        if not _is_int(cap) or cap < 0 or cap > MAX_CAPACITY:
            raise Rejected("invalid_capacity")
        fields["total_capacity"] = cap
    created = None
    if payload.get("created_at") is not None:
        created = parse_ts(payload["created_at"])
    if mtype == "EventCreated":
        when = created if created is not None else _envelope_time(msg, cloud)
        if created is None:
            created = when  # docs: an EventCreated without created_at was created when it occurred
        default_key = f"EventCreated:{eid}"
    else:
        upd = payload.get("updated_at")
        when = parse_ts(upd) if upd is not None else _envelope_time(msg, cloud)
        default_key = f"EventUpdated:{eid}:{upd if upd is not None else ''}"
    return {
        "kind": "event_upsert",
        "event_id": eid,
        "fields": fields,
        "created": created,
        "time": when,
        "default_key": default_key,
    }

"""Message builders for gen.py: the three envelope formats, ignored types, and one
malformed message of every rejection kind (each with exactly one defect)."""
import json
from datetime import timedelta, timezone

OFFSETS = ["+05:30", "+05:45", "-03:00", "-04:00", "+10:30", "+14:00", "-09:30", "+01:00", "+00:00", "-12:00"]
STATUS = {"created": "pending", "confirmed": "confirmed", "cancelled": "cancelled", "expired": "expired"}
PAYMENT = {"created": "pending", "confirmed": "completed", "cancelled": "completed", "expired": "pending"}
TYPE = {"created": "BookingCreated", "confirmed": "BookingConfirmed",
        "cancelled": "BookingCancelled", "expired": "BookingExpired"}
CLOUD = {"created": "evently.booking.created", "confirmed": "evently.booking.confirmed",
         "cancelled": "evently.booking.cancelled", "expired": "evently.booking.expired"}


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False)


def money(d):
    """Decimal -> JSON number the way producers write it (75, 199.98, 25.0)."""
    return int(d) if d == d.to_integral_value() and d.as_tuple().exponent >= 0 else float(d)


def fmt_ts(rng, t, style=None, frac=False):
    """UTC instant -> ISO 8601 text in one of the accepted spellings (same instant)."""
    style = style or rng.choice(["naive"] * 6 + ["Z"] * 2 + ["offset"] * 2)
    ms = ""
    if frac and t.microsecond == 0 and rng.random() < 0.5:
        ms = "." + f"{rng.randrange(1000):03d}"
    if style == "naive":
        return t.strftime("%Y-%m-%dT%H:%M:%S") + ms
    if style == "Z":
        return t.strftime("%Y-%m-%dT%H:%M:%S") + ms + "Z"
    off = rng.choice(OFFSETS)
    sign = 1 if off[0] == "+" else -1
    delta = sign * timedelta(hours=int(off[1:3]), minutes=int(off[4:6]))
    local = t.astimezone(timezone(delta))
    return local.strftime("%Y-%m-%dT%H:%M:%S") + ms + off


class Builder:
    def __init__(self, rng):
        self.rng = rng

    def uid(self):
        return f"{self.rng.getrandbits(64):016x}"

    # -- bookings ---------------------------------------------------------
    def booking(self, b, tr, fmt, when, bare=False, envelope=None, type_field=True,
                message_id=None, attrs=None):
        """One booking message. `envelope`: extra instant written as timestamp/occurred_at/time.
        `type_field`: whether <tr>_at is written (else the envelope time is the fallback)."""
        rng = self.rng
        a = dict(b["attrs"], **(attrs or {}))
        field = tr + "_at"
        if bare:
            data = {}
        else:
            data = {"id": b["id"], "event_id": a["event_id"], "user_id": a["user_id"],
                    "booking_reference": f"BK{b['id']:06d}", "quantity": a["quantity"],
                    "total_amount": money(a["amount"]), "currency": a["currency"],
                    "status": STATUS[tr], "payment_status": PAYMENT[tr]}
        if type_field:
            data[field] = fmt_ts(rng, when, frac=(tr != "created"))
        if tr == "created" and not bare:
            data["expires_at"] = fmt_ts(rng, when + timedelta(minutes=15), "naive")
        if tr == "cancelled" and not bare:
            data["cancellation_reason"] = rng.choice(["user request", "changed mind", "payment failed"])
        if fmt == "ce":
            if bare:
                data["id"] = b["id"]
            msg = {"specversion": "1.0", "id": message_id or f"ce-{TYPE[tr]}-{b['id']}-{rng.getrandbits(32)}",
                   "source": "/evently/bookings", "type": CLOUD[tr]}
            if envelope is not None:
                msg["time"] = fmt_ts(rng, envelope)
            msg["data"] = data
        else:
            msg = {"type": TYPE[tr], "booking_id": b["id"]}
            if not bare:
                msg["event_id"], msg["user_id"] = a["event_id"], a["user_id"]
            if message_id:
                msg["message_id"] = message_id
            if envelope is not None:
                msg[rng.choice(["timestamp", "occurred_at"])] = fmt_ts(rng, envelope)
            msg["booking_data"] = data
        return "evently:bookings:" + tr, dumps(msg)

    def payment(self, b, when):
        a = b["attrs"]
        msg = {"type": "BookingPaymentCompleted", "booking_id": b["id"], "event_id": a["event_id"],
               "user_id": a["user_id"], "booking_data": {
                   "id": b["id"], "event_id": a["event_id"], "user_id": a["user_id"],
                   "booking_reference": f"BK{b['id']:06d}", "quantity": a["quantity"],
                   "total_amount": money(a["amount"]), "currency": a["currency"], "status": "confirmed",
                   "payment_status": "completed", "payment_completed_at": fmt_ts(self.rng, when, "naive")}}
        return "evently:bookings:payment_completed", dumps(msg)

    def waitlist(self, event_id, user_id, entry_id):
        kind = self.rng.choice(["joined", "cancelled", "notifications_sent", "availability_updated"])
        if kind == "joined":
            msg = {"type": "WaitlistJoined", "waitlist_entry_id": entry_id, "event_id": event_id,
                   "user_id": user_id, "waitlist_data": {"id": entry_id, "quantity": self.rng.randint(1, 4)}}
        elif kind == "cancelled":
            msg = {"type": "WaitlistCancelled", "waitlist_entry_id": entry_id, "event_id": event_id,
                   "user_id": user_id}
        elif kind == "notifications_sent":
            msg = {"type": "WaitlistNotificationsSent", "event_id": event_id,
                   "notified_users": [user_id], "available_quantity": self.rng.randint(1, 5)}
        else:
            msg = {"type": "WaitlistAvailabilityUpdated", "event_id": event_id,
                   "available_seats": self.rng.randint(0, 50)}
        return "evently:bookings:waitlist_" + kind, dumps(msg)

    # -- events -------------------------------------------------------------
    def event(self, kind, eid, fields, when, fmt, created_at=None, envelope=None, message_id=None):
        """EventCreated / EventUpdated. `fields`: name, category, capacity, price, status,
        event_date (only the keys present are written; category may be None)."""
        rng = self.rng
        data = {"id": eid}
        if "name" in fields:
            if fmt == "flat" and rng.random() < 0.3:
                data["title"] = fields["name"]
            else:
                data["name"] = fields["name"]
                if fmt != "flat":
                    data["title"] = fields["name"]
        for k in ("category", "capacity", "price", "status", "event_date"):
            if k in fields:
                data[k] = fields[k]
        if kind == "created":
            if when is not None:
                data["created_at"] = fmt_ts(rng, when)
        else:
            if created_at is not None:
                data["created_at"] = fmt_ts(rng, created_at)
            if when is not None:
                data["updated_at"] = fmt_ts(rng, when)
        mtype = "EventCreated" if kind == "created" else "EventUpdated"
        if fmt == "ce":
            msg = {"specversion": "1.0", "id": message_id or f"ce-{mtype}-{eid}-{rng.getrandbits(32)}",
                   "source": "/evently/events", "type": "evently.event." + kind}
            if envelope is not None:
                msg["time"] = fmt_ts(rng, envelope)
            msg["data"] = data
        elif fmt == "flat":
            msg = dict(data, type=mtype)
            if envelope is not None:
                msg["timestamp"] = fmt_ts(rng, envelope)
        else:
            msg = {"type": mtype, "event_id": eid}
            if message_id:
                msg["message_id"] = message_id
            if envelope is not None:
                msg[rng.choice(["timestamp", "occurred_at"])] = fmt_ts(rng, envelope)
            msg["event_data"] = data
        return "evently:events:" + kind, dumps(msg)

    def event_deleted(self, eid, fmt, when):
        if fmt == "ce":
            msg = {"specversion": "1.0", "id": f"ce-EventDeleted-{eid}-{self.rng.getrandbits(32)}",
                   "source": "/evently/events", "type": "evently.event.deleted",
                   "time": fmt_ts(self.rng, when), "data": {"id": eid}}
        else:
            msg = {"type": "EventDeleted", "event_id": eid}
        return "evently:events:deleted", dumps(msg)

    # -- malformed ------------------------------------------------------------
    def malformed(self, kind, fresh_booking, fresh_event, when):
        """One message rejected for `kind`; fresh ids so it touches nothing else."""
        rng = self.rng
        ts = fmt_ts(rng, when, "naive")
        good = {"type": "BookingCreated", "booking_id": fresh_booking, "event_id": 1, "user_id": 1,
                "booking_data": {"id": fresh_booking, "event_id": 1, "user_id": 1, "quantity": 2,
                                 "total_amount": 20, "currency": "USD", "status": "pending",
                                 "created_at": ts}}
        ch = "evently:bookings:created"
        if kind == "invalid_json":
            return ch, rng.choice(["{not json", '{"type": "BookingCreated", "booking_id": 5',
                                   "{'type': 'BookingCreated'}", '{"type": "BookingCreated",}', ""])
        if kind == "not_object":
            return ch, rng.choice(["[1, 2, 3]", '"BookingCreated"', "42", "null", "true"])
        if kind == "missing_type":
            return ch, rng.choice(['{"event_id": 3}', dumps({k: v for k, v in good.items() if k != "type"})])
        if kind == "unknown_type":
            if rng.random() < 0.2:
                return ch, dumps({"specversion": "1.0", "id": self.uid(), "source": "/evently/bookings",
                                  "type": "evently.booking.refunded", "data": good["booking_data"]})
            return ch, dumps(dict(good, type=rng.choice(
                ["SomethingElse", "constructor", "toString", "hasOwnProperty", "bookingcreated",
                 "Booking_Created", "__proto__"])))
        if kind == "missing_booking_id":
            variant = rng.randrange(3)
            msg = {k: v for k, v in good.items() if k != "booking_id"}
            msg["booking_data"] = {k: v for k, v in good["booking_data"].items() if k != "id"}
            if variant == 1:
                msg["booking_id"] = "'; DROP TABLE event_stats; --"
            elif variant == 2:
                msg["booking_id"] = None
            return ch, dumps(msg)
        if kind == "missing_event_id":
            variant = rng.randrange(3)
            if variant == 0:
                return "evently:events:created", dumps(
                    {"type": "EventCreated", "event_data": {"name": "no id", "capacity": 10, "created_at": ts}})
            if variant == 1:
                return "evently:events:deleted", dumps({"type": "EventDeleted"})
            return "evently:events:updated", dumps(
                {"type": "EventUpdated", "event_id": "seven",
                 "event_data": {"name": "bad id", "updated_at": ts}})
        if kind in ("invalid_quantity", "invalid_amount"):
            bad = rng.choice([0, -1, 1.5, "2", 2_000_000] if kind == "invalid_quantity"
                             else [-5, -0.01, "free", 1e13])
            msg = json.loads(dumps(good))
            msg["booking_data"]["quantity" if kind == "invalid_quantity" else "total_amount"] = bad
            return ch, dumps(msg)
        if kind == "invalid_capacity":
            return "evently:events:created", dumps(
                {"type": "EventCreated", "event_id": fresh_event, "event_data": {
                    "id": fresh_event, "name": "x", "capacity": rng.choice([-3, 12.5, "100", 3_000_000_000]),
                    "created_at": ts}})
        if kind == "invalid_timestamp":
            bad = rng.choice(["yesterday", "2026-13-01T00:00:00", "2027-02-29T10:00:00",
                              "2026-11-18T24:30:00", "2026-11-18T10:00:00+05:99", "2026-11-18T25:00:00",
                              "18/11/2026 10:00", "2026-11-31T09:00:00"])
            msg = json.loads(dumps(good))
            msg["booking_data"]["created_at"] = bad
            return ch, dumps(msg)
        if kind == "unknown_booking":
            tr = rng.choice(["confirmed", "cancelled", "expired"])
            return "evently:bookings:" + tr, dumps(
                {"type": TYPE[tr], "booking_id": fresh_booking, "booking_data": {tr + "_at": ts}})
        if kind == "too_large":
            msg = json.loads(dumps(good))
            msg["booking_data"]["pad"] = "x" * (66_000 + rng.randrange(4000))
            return ch, dumps(msg)
        raise ValueError(kind)


MALFORMED_KINDS = ["invalid_json", "not_object", "missing_type", "unknown_type", "missing_booking_id",
                   "missing_event_id", "invalid_quantity", "invalid_amount", "invalid_capacity",
                   "invalid_timestamp", "unknown_booking", "too_large"]

#!/usr/bin/env python3
"""Hand-checked scenarios for the model's trickiest rules: `python3 selftest.py`."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import compute  # noqa: E402


def line(msg):
    return json.dumps({"channel": "evently:test", "raw": msg if isinstance(msg, str) else json.dumps(msg)})


def bk(tr, bid, at, ev=1, user=1, qty=1, amount=10, cur="USD", **extra):
    t = {"created": "BookingCreated", "confirmed": "BookingConfirmed",
         "cancelled": "BookingCancelled", "expired": "BookingExpired"}[tr]
    m = {"type": t, "booking_id": bid, "event_id": ev, "user_id": user,
         "booking_data": {"id": bid, "event_id": ev, "user_id": user, "quantity": qty,
                          "total_amount": amount, "currency": cur, tr + "_at": at}}
    m.update(extra)
    return m


def bare(tr, bid, at):
    t = {"confirmed": "BookingConfirmed", "cancelled": "BookingCancelled", "expired": "BookingExpired"}[tr]
    return {"type": t, "booking_id": bid, "booking_data": {tr + "_at": at}}


def run(msgs, tz="UTC", as_of="2026-11-20", frm="2026-11-01", to="2026-11-20", base="USD"):
    cfg = {"REPORTING_TIMEZONE": tz, "BASE_CURRENCY": base, "as_of": as_of, "daily_from": frm, "daily_to": to}
    return compute([line(m) for m in msgs], cfg)


def day(out, d):
    return next(r for r in out["daily"]["day"] if r["date"] == d)


CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


@check
def santiago_day_without_midnight():
    out = run([bk("created", 1, "2026-09-06T03:30:00Z"), bk("created", 2, "2026-09-06T04:00:00Z")],
              tz="America/Santiago", as_of="2026-09-07", frm="2026-09-05", to="2026-09-07")
    assert day(out, "2026-09-05")["new_bookings"] == 1 and day(out, "2026-09-06")["new_bookings"] == 1


@check
def kolkata_and_offsets():
    out = run([bk("created", 1, "2026-11-19T18:29:59Z"), bk("created", 2, "2026-11-20T00:00:00+05:30")],
              tz="Asia/Kolkata")
    assert day(out, "2026-11-19")["new_bookings"] == 1 and day(out, "2026-11-20")["new_bookings"] == 1


@check
def end_of_day_2400():
    out = run([bk("created", 1, "2026-11-18T23:50:00"), bk("confirmed", 1, "2026-11-18T24:00:00")])
    assert day(out, "2026-11-19")["confirmed_bookings"] == 1 and day(out, "2026-11-19")["total_revenue"] == 10.0


@check
def bare_transition_parked_then_released():
    out = run([bare("confirmed", 7, "2026-11-10T10:05:00"), bk("created", 7, "2026-11-10T10:00:00")])
    assert out["outcomes"] == {"duplicate": 0, "ignored": 0, "processed": 2, "rejected": 0}, out["outcomes"]
    assert out["events"]["1"]["confirmed_bookings"] == 1 and out["rejections"] == []


@check
def bare_transition_never_known_stays_rejected():
    out = run([bare("confirmed", 7, "2026-11-10T10:05:00")])
    assert out["rejections"] == [{"index": 0, "reason": "unknown_booking"}]


@check
def conflicting_retry_earlier_time_wins():
    out = run([bk("created", 1, "2026-11-10T10:00:00"),
               bk("confirmed", 1, "2026-11-12T10:00:00", message_id="b"),
               bk("confirmed", 1, "2026-11-11T10:00:00", message_id="a")])
    assert day(out, "2026-11-11")["confirmed_bookings"] == 1 and day(out, "2026-11-12")["confirmed_bookings"] == 0


@check
def status_precedence_and_late_confirmation():
    out = run([bk("created", 1, "2026-11-10T10:00:00"), bk("cancelled", 1, "2026-11-10T11:00:00"),
               bk("confirmed", 1, "2026-11-10T12:00:00")])
    e = out["events"]["1"]
    assert e["cancelled_bookings"] == 1 and e["confirmed_bookings"] == 0 and e["total_revenue"] == 0
    d = day(out, "2026-11-10")
    assert d["confirmed_bookings"] == 1 and d["cancelled_bookings"] == 1 and d["total_revenue"] == 0.0


@check
def event_fields_newest_per_field():
    c = {"type": "EventCreated", "event_id": 1, "event_data": {"id": 1, "name": "A", "category": "music",
                                                              "capacity": 10, "created_at": "2026-11-01T00:00:00"}}
    u3 = {"type": "EventUpdated", "event_id": 1, "event_data": {"id": 1, "name": "C", "category": None,
                                                               "updated_at": "2026-11-03T00:00:00"}}
    u2 = {"type": "EventUpdated", "event_id": 1, "event_data": {"id": 1, "name": "B", "capacity": 50,
                                                               "category": "jazz", "updated_at": "2026-11-02T00:00:00"}}
    e = run([c, u3, u2])["events"]["1"]
    assert (e["event_name"], e["category"], e["total_capacity"]) == ("C", None, 50), e


@check
def deleted_event_keeps_its_bookings_in_totals():
    out = run([bk("created", 1, "2026-11-10T10:00:00", ev=5), {"type": "EventDeleted", "event_id": 5},
               {"type": "EventUpdated", "event_id": 5, "event_data": {"id": 5, "name": "back?",
                                                                      "updated_at": "2026-11-11T00:00:00"}}])
    assert out["events"] == {} and out["deleted_events"] == [5]
    assert out["system"]["total_bookings"] == 1 and out["system"]["total_events"] == 0


@check
def money_rounded_once():
    msgs = []
    for i, a in enumerate(["0.005", "0.005", "0.005", "1234567.005"], start=1):
        msgs += [bk("created", i, "2026-11-10T10:00:00", amount=a), bk("confirmed", i, "2026-11-10T10:01:00", amount=a)]
    raw = [json.dumps(m).replace('"total_amount": "', '"total_amount": ').replace('", "currency"', ', "currency"')
           for m in msgs]
    out = run(raw)
    assert out["system"]["total_revenue"] == 1234567.02, out["system"]["total_revenue"]


@check
def negative_previous_revenue_growth():
    msgs = [bk("created", 1, "2026-09-01T10:00:00", amount=100), bk("confirmed", 1, "2026-09-01T10:01:00", amount=100),
            bk("cancelled", 1, "2026-10-01T10:00:00", amount=100),
            bk("created", 2, "2026-11-10T10:00:00", amount=50), bk("confirmed", 2, "2026-11-10T10:01:00", amount=50)]
    out = run(msgs)
    assert out["system"]["recent_revenue"] == 50.0 and out["system"]["revenue_growth_rate"] == -150.0


@check
def other_currency_reported_apart():
    out = run([bk("created", 1, "2026-11-10T10:00:00", cur="EUR", amount=0),
               bk("confirmed", 1, "2026-11-10T10:01:00", cur="EUR", amount=0),
               bk("created", 2, "2026-11-10T10:00:00", amount=30), bk("confirmed", 2, "2026-11-10T10:01:00", amount=30)])
    e = out["events"]["1"]
    assert e["other_currency_revenue"] == {"EUR": 0.0} and e["avg_booking_value"] == 30.0
    assert day(out, "2026-11-10")["avg_booking_value"] == 30.0 and day(out, "2026-11-10")["confirmed_bookings"] == 2


@check
def envelope_time_is_only_a_fallback():
    m = bk("created", 1, "2026-11-10T23:59:00")
    m["timestamp"] = "2026-11-11T00:30:00"
    n = bk("created", 2, "x")
    del n["booking_data"]["created_at"]
    n["occurred_at"] = "2026-11-12T08:00:00"
    out = run([m, n])
    assert day(out, "2026-11-10")["new_bookings"] == 1 and day(out, "2026-11-12")["new_bookings"] == 1


@check
def rejection_reasons():
    out = run(["{not json", "[1]", '{"event_id": 3}', '{"type": "toString"}',
               {"type": "BookingCreated", "booking_id": "x", "event_id": 1, "booking_data": {"quantity": 1}},
               {"type": "EventDeleted"}, bk("created", 9, "2026-11-10T10:00:00", qty=0),
               bk("created", 9, "2026-11-10T10:00:00", amount=-1),
               {"type": "EventCreated", "event_id": 4, "event_data": {"capacity": -1, "created_at": "2026-11-01T00:00:00"}},
               bk("created", 9, "2026-11-10T24:30:00"), "x" * 70000])
    assert [r["reason"] for r in out["rejections"]] == [
        "invalid_json", "not_object", "missing_type", "unknown_type", "missing_booking_id", "missing_event_id",
        "invalid_quantity", "invalid_amount", "invalid_capacity", "invalid_timestamp", "too_large"], out["rejections"]


@check
def booking_moves_to_the_event_and_user_of_its_highest_message():
    # docs/metrics.md: event and user come from the highest-ranked message that carries them
    msgs = [bk("created", 1, "2026-11-10T10:00:00", ev=3, user=1),
            bk("confirmed", 1, "2026-11-12T10:00:00", ev=5, user=2),
            bk("created", 2, "2026-11-11T10:00:00", ev=3, user=2),
            {"type": "EventCreated", "event_id": 3, "event_data": {"id": 3, "name": "Three", "capacity": 10,
                                                                  "created_at": "2026-11-01T00:00:00"}}]
    for order in (msgs, msgs[::-1]):
        out = run(order)
        e3, e5 = out["events"]["3"], out["events"]["5"]
        assert e3["total_bookings"] == 1 and e3["first_booking"] == "2026-11-11T10:00:00Z", e3
        assert e5["confirmed_bookings"] == 1 and e5["first_booking"] == "2026-11-10T10:00:00Z", e5
        assert e5["event_name"] == "Unknown Event" and out["system"]["total_users"] == 1
        assert day(out, "2026-11-10")["new_users"] == 1 and day(out, "2026-11-11")["new_users"] == 0
        assert day(out, "2026-11-10")["active_events"] == 1 and day(out, "2026-11-11")["active_events"] == 1


@check
def earlier_creation_under_another_key_wins():
    msgs = [bk("created", 1, "2026-11-12T10:00:00", ev=3), bk("created", 1, "2026-11-10T10:00:00", ev=4, message_id="x")]
    for order in (msgs, msgs[::-1]):
        out = run(order)
        assert set(out["events"]) == {"4"} and out["events"]["4"]["first_booking"] == "2026-11-10T10:00:00Z"
        assert day(out, "2026-11-10")["new_bookings"] == 1 and day(out, "2026-11-12")["new_bookings"] == 0


@check
def digit_string_ids_are_the_same_ids():
    c = bk("created", 1, "2026-11-10T10:00:00", ev=3, user=1)
    s = json.loads(json.dumps(bk("confirmed", 1, "2026-11-10T11:00:00", ev=3, user=1))
                   .replace('"booking_id": 1', '"booking_id": "1"').replace('"user_id": 1', '"user_id": "1"')
                   .replace('"event_id": 3', '"event_id": "3"'))
    d = json.loads(json.dumps(c).replace('"booking_id": 1', '"booking_id": "1"'))  # same key BookingCreated:1
    flat_c = {"type": "EventCreated", "id": "3", "name": "Three", "capacity": 4, "created_at": "2026-11-01T00:00:00"}
    flat_u = {"type": "EventUpdated", "id": "3", "capacity": 8, "updated_at": "2026-11-02T00:00:00"}
    out = run([c, s, d, flat_c, flat_u])
    assert out["outcomes"] == {"duplicate": 1, "ignored": 0, "processed": 4, "rejected": 0}, out["outcomes"]
    e = out["events"]["3"]
    assert e["confirmed_bookings"] == 1 and e["total_capacity"] == 8 and out["system"]["total_users"] == 1, e


if __name__ == "__main__":
    failed = 0
    for fn in CHECKS:
        try:
            fn()
            print("ok  ", fn.__name__)
        except AssertionError as e:
            failed += 1
            print("FAIL", fn.__name__, e)
    sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""Generate a conformance-style case: `python3 gen.py OUTDIR SEED N [options]`.

Options: --small (force one of every feature: for small fixtures), --zone IANA,
--base CUR, --anchor I (index into ANCHORS: as_of and its DST/leap/year-end story),
--no-too-large (leave out the >64 KiB message, to keep a fixture small), --moves (bookings
whose event/user changes, rival messages for one slot, digit-string ids; NOTES.md "Moves"),
--moves-safe (the same without the two patterns the service diverges on).

Writes OUTDIR/input.jsonl (about N lines), OUTDIR/config.json and OUTDIR/expected.json
(computed by model.py), plus OUTDIR/features.json describing what the stream contains.
"""
import json
import os
import random
import re
import sys
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from genmsg import MALFORMED_KINDS, Builder  # noqa: E402
from model import dumps as dump_expected, run  # noqa: E402

UTC = timezone.utc
# (as_of, preferred zone, why)
ANCHORS = [
    ("2026-11-03", "America/New_York", "US DST end 2026-11-01"),
    ("2026-03-10", "America/New_York", "US DST start 2026-03-08"),
    ("2026-09-08", "America/Santiago", "Chile DST start 2026-09-06 (no local midnight)"),
    ("2026-04-07", "America/Santiago", "Chile DST end 2026-04-05"),
    ("2026-10-06", "Australia/Sydney", "AU DST start 2026-10-04"),
    ("2026-04-06", "Australia/Lord_Howe", "Lord Howe half-hour DST end 2026-04-05"),
    ("2026-10-05", "Australia/Lord_Howe", "Lord Howe half-hour DST start 2026-10-04"),
    ("2028-03-01", "Asia/Kathmandu", "leap day 2028-02-29"),
    ("2024-03-02", "Asia/Kolkata", "leap day 2024-02-29"),
    ("2027-01-02", "Pacific/Kiritimati", "year end"),
    ("2026-12-31", "Asia/Kathmandu", "year end, as_of on Dec 31"),
    ("2026-11-20", "Asia/Kolkata", "like the shared cases"),
    ("2026-05-31", "Pacific/Chatham", "month end, +12:45/+13:45"),
    ("2026-03-01", "Europe/London", "after a short February"),
    ("2026-11-02", "America/St_Johns", "-03:30 DST end"),
    ("2027-01-01", "UTC", "as_of on Jan 1"),
]
ZONES = ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "America/Santiago",
         "Australia/Sydney", "Pacific/Kiritimati", "America/New_York", "Pacific/Chatham",
         "America/St_Johns", "Europe/London", "Pacific/Marquesas", "Pacific/Pago_Pago"]
CURRENCIES = ["USD", "EUR", "GBP", "INR", "JPY", "AUD", "CLP"]
NAMES = ["Jazz Night", "Rock Fest", "Tech Summit", "Comedy Live", "Food Fair", "Film Club",
         "Opera Gala", "Chess Cup", "Salsa Social", "Poetry Slam"]
CATEGORIES = ["music", "tech", "comedy", "food", "theatre", "sports", None]
CAPACITIES = [0, 0, 5, 10, 20, 50, 100, 250, 500, 1000]
FATES = ["normal", "late_create", "never_created", "update_only", "deleted"]
STORIES = ["pending", "confirmed", "confirmed_cancelled", "cancelled", "expired",
           "confirmed_expired", "cancel_then_confirm", "orphan"]
PRICES = ["0", "10", "12.5", "25", "40", "99.99", "150", "19.995", "0.005", "1234.5678"]


class Stream:
    """Messages with a delivery key; sorted by it at the end."""

    def __init__(self, rng):
        self.rng, self.items = rng, []

    def add(self, deliver_at, channel_raw, tag):
        self.items.append([deliver_at, self.rng.random(), channel_raw[0], channel_raw[1], tag])


class Gen:
    def __init__(self, seed, n, small=False, zone=None, base=None, anchor=None, too_large=None, moves=False,
                 moves_safe=False):
        """small: force one of every feature (fixtures). zone/base/anchor (index into ANCHORS)
        override the seed's choice; too_large: include the >64 KiB message (default: yes).
        moves: also bookings whose event or user changes between messages, rival messages
        for one slot under other keys (created_at conflicts), and digit-string ids (NOTES.md,
        "Moves"). Off by default: without it a seed gives the same case as before.
        moves_safe: moves without the two patterns known to diverge (review-moves.md): an event
        id that only a superseded message names, and a bare and a full message in one slot."""
        self.rng = rng = random.Random(seed)
        self.b = Builder(rng)
        self.n, self.small = n, small
        self.too_large = too_large if too_large is not None else True
        chosen = ANCHORS[seed % len(ANCHORS)] if rng.random() < 0.8 else rng.choice(ANCHORS)
        anchor = ANCHORS[anchor] if anchor is not None else chosen
        self.as_of = date.fromisoformat(anchor[0])
        self.zone_name = anchor[1] if rng.random() < 0.7 else rng.choice(ZONES)
        self.zone_name = zone or self.zone_name
        self.zone = ZoneInfo(self.zone_name)
        self.base = rng.choice(["USD"] * 3 + CURRENCIES[1:])
        self.base = base or self.base
        self.others = rng.sample([c for c in CURRENCIES if c != self.base], rng.randint(1, 3))
        self.back = rng.choice([20, 45, 70, 100, 120])      # days of data before as_of
        self.ahead = rng.choice([0, 3, 10, 25])             # days of data after as_of
        self.start = self._local_midnight(self.as_of - timedelta(days=self.back))
        self.end = self._local_midnight(self.as_of + timedelta(days=self.ahead + 1))
        self.stream = Stream(rng)
        self.features = {"anchor": anchor[2], "zone": self.zone_name, "base": self.base,
                         "others": self.others, "counts": {}}
        self.moves = moves or moves_safe
        self.moves_safe = moves_safe
        moves = self.moves
        if moves:  # a separate generator: the decisions of the base stream stay those of the seed
            self.mrng = random.Random(f"moves-{seed}-{n}")
            self.p_string_id = self.mrng.choice([0.05, 0.2, 0.5])
            self.p_move = self.mrng.choice([0.08, 0.15, 0.3])
            self.p_rival = self.mrng.choice([0.05, 0.1, 0.2])
            self.features["moves"] = {"p_string_id": self.p_string_id, "p_move": self.p_move,
                                      "p_rival": self.p_rival, "safe": moves_safe}

    def count(self, what, k=1):
        self.features["counts"][what] = self.features["counts"].get(what, 0) + k

    def _local_midnight(self, d):
        return datetime.combine(d, time(0), self.zone).astimezone(UTC)

    def instant(self, lo=None, hi=None):
        """A random instant; a third of them within a minute of a local midnight."""
        lo, hi = lo or self.start, hi or self.end
        span = int((hi - lo).total_seconds())
        t = lo + timedelta(seconds=self.rng.randrange(max(span, 1)))
        if self.rng.random() < 0.3:
            m = self._local_midnight(t.astimezone(self.zone).date())
            t = m + timedelta(seconds=self.rng.choice([-60, -1, 0, 1, 59, 3599, -3600]))
        return t.replace(microsecond=0)

    # -- events ----------------------------------------------------------------
    def make_events(self):
        rng = self.rng
        n_events = max(6, min(40, self.n // 35))
        self.events = []
        for eid in range(1, n_events + 1):
            created = self.instant(self.start - timedelta(days=40), self.end - timedelta(days=2))
            fields = {"name": f"{rng.choice(NAMES)} {eid}", "category": rng.choice(CATEGORIES),
                      "capacity": rng.choice(CAPACITIES), "price": rng.choice(PRICES),
                      "status": "published",
                      "event_date": (created + timedelta(days=rng.randint(5, 90))).strftime("%Y-%m-%dT%H:%M:%S")}
            ev = {"id": eid, "fields": fields, "created": created,
                  "fate": rng.choices(FATES, [70, 10, 6, 6, 8])[0]}
            if self.small and eid <= len(FATES):
                ev["fate"] = FATES[eid - 1]
            self.events.append(ev)
            self._event_messages(ev)
        # a delete of an event id nobody ever mentioned, now and then
        if rng.random() < 0.3:
            eid = n_events + 50
            self.stream.add(self.instant(), self.b.event_deleted(eid, "evently", self.instant()), "delete_unknown")
            self.count("delete_unknown")

    def _fmt(self):
        return self.rng.choices(["evently", "flat", "ce"], [55, 15, 30])[0]

    def _event_messages(self, ev):
        rng, eid, f = self.rng, ev["id"], ev["fields"]
        fate = ev["fate"]
        self.count("event_" + fate)
        wire = {k: (float(Decimal(v)) if k == "price" else v) for k, v in f.items()}
        if fate in ("normal", "late_create", "deleted"):
            fmt = self._fmt()
            no_created_at = fmt in ("ce", "flat") and rng.random() < 0.15
            msg = self.b.event("created", eid, wire, None if no_created_at else ev["created"], fmt,
                               envelope=ev["created"] if (no_created_at or rng.random() < 0.2) else None)
            if no_created_at:
                self.count("event_created_from_envelope_time")
            deliver = ev["created"] if fate != "late_create" else self.end + timedelta(hours=rng.randint(1, 300))
            self.stream.add(deliver, msg, "event_created")
            if rng.random() < 0.1:
                self.stream.add(self.instant(), msg, "duplicate")
                self.count("duplicate_exact")
            if rng.random() < 0.1:  # the same fact under another idempotency key
                other = "ce" if fmt != "ce" else "evently"
                self.stream.add(self.instant(), self.b.event("created", eid, wire, ev["created"], other,
                                                             message_id=f"evt-{self.b.uid()}"), "event_created_rekeyed")
                self.count("event_created_rekeyed")
        # updates: changed / cleared fields, delivered in any order
        n_upd = rng.choices([0, 1, 2, 3], [45, 30, 15, 10])[0]
        if self.small and eid == 1:
            n_upd = 3
        if self.small and fate == "never_created":
            n_upd = 0  # a pure placeholder: "Unknown Event", capacity 0
        if fate == "update_only":
            n_upd = max(1, n_upd)
        times = sorted({self.instant(ev["created"] + timedelta(minutes=1),
                                     max(self.end, ev["created"] + timedelta(days=3))) for _ in range(n_upd)}
                       - ({ev["created"]} if self.moves else set()))  # moves: never at the creation's time (a tie)
        cur = dict(wire)
        for i, t in enumerate(times):
            upd = {}
            for k in ("name", "category", "capacity", "price", "status", "event_date"):
                if rng.random() < 0.75 or (k == "name" and fate in ("update_only", "never_created")):
                    upd[k] = cur[k]
            r = rng.random()
            if self.small and eid == 1:
                r = [0.35, 0.1, 0.5][i]
            if r < 0.3:
                upd["capacity"] = cur["capacity"] = rng.choice(CAPACITIES)
            elif r < 0.45:
                upd["category"] = cur["category"] = None
                self.count("category_cleared")
            elif r < 0.6:
                upd["name"] = cur["name"] = f"{rng.choice(NAMES)} {eid} (updated)"
            elif r < 0.7:
                upd["category"] = cur["category"] = rng.choice(CATEGORIES[:-1])
            fmt = self._fmt()
            carry_created = fate == "update_only" and rng.random() < 0.5
            msg = self.b.event("updated", eid, upd, t, fmt, created_at=ev["created"] if carry_created else None,
                               envelope=t if rng.random() < 0.2 else None)
            late = rng.random() < 0.35 or (self.small and eid == 1 and i == 0)
            deliver = t if not late else self.instant()
            self.stream.add(deliver, msg, "event_updated")
            if rng.random() < 0.1:
                self.stream.add(self.instant(), msg, "duplicate")
                self.count("duplicate_exact")
            self.count("event_updated")
            self.count("event_update_out_of_order", late)
        if fate == "deleted":
            t = self.instant(ev["created"], self.end)
            fmt = rng.choice(["evently", "ce"])
            msg = self.b.event_deleted(eid, fmt, t)
            self.stream.add(t if rng.random() < 0.6 else self.instant(), msg, "event_deleted")
            if rng.random() < 0.3:
                self.stream.add(self.instant(), msg, "duplicate")
                self.count("duplicate_exact")
            if rng.random() < 0.3 or self.small:  # after the delete: an update that must not revive it
                u = t + timedelta(hours=rng.randint(1, 48))
                self.stream.add(u + timedelta(days=1), self.b.event(
                    "updated", eid, {"name": f"Revived {eid}", "capacity": 10}, u, "evently"), "update_after_delete")
                self.count("update_after_delete")

    # -- bookings ----------------------------------------------------------------
    def make_bookings(self):
        rng = self.rng
        n_book = max(12, int(self.n / 3.0))
        users = list(range(1, max(6, n_book // 3) + 1))
        self.n_users = len(users)
        weights = [rng.random() ** 2 + 0.05 for _ in self.events]
        self.bookings = []
        for i in range(n_book):
            bid = i + 1
            ev = rng.choices(self.events, weights)[0]
            qty = rng.choice([1, 1, 2, 2, 3, 4, 6])
            price = Decimal(ev["fields"]["price"])
            cur = self.base if rng.random() < 0.78 else rng.choice(self.others)
            b = {"id": bid, "attrs": {"event_id": ev["id"], "user_id": rng.choice(users), "quantity": qty,
                                      "amount": price * qty, "currency": cur}}
            self.bookings.append(b)
            self._booking_messages(b)

    def _booking_messages(self, b):
        rng = self.rng
        created = self.instant()
        story = rng.choices(STORIES, [10, 50, 15, 7, 11, 2, 3, 2])[0]
        if self.small and b["id"] <= len(STORIES):
            story = STORIES[b["id"] - 1]
        if self.small and 9 <= b["id"] <= 13 and story == "orphan":
            story = "confirmed"
        self.count("story_" + story)
        times = {"created": created}
        t = created
        if "confirmed" in story or story == "cancel_then_confirm":
            t = times["confirmed"] = created + timedelta(seconds=rng.randint(20, 900 if rng.random() < 0.8 else 86400 * 5))
        if story in ("confirmed_cancelled", "cancelled"):
            times["cancelled"] = t + timedelta(seconds=rng.randint(60, 86400 * rng.choice([1, 3, 20])))
        if story in ("expired", "confirmed_expired"):
            times["expired"] = max(t, created + timedelta(minutes=15)) + timedelta(seconds=rng.randint(0, 120))
        if story == "cancel_then_confirm":  # confirmation arrives (and may happen) after the cancellation
            times["cancelled"] = created + timedelta(seconds=rng.randint(30, 600))
            times["confirmed"] = times["cancelled"] + timedelta(seconds=rng.randint(-20, 600))
        if story == "orphan":  # never a BookingCreated: full transitions only
            del times["created"]
            times.setdefault("confirmed", created + timedelta(minutes=3))
        changed = None
        if "confirmed" in times and (rng.random() < 0.03 or (self.small and b["id"] == 2)):  # price changed at confirmation
            changed = {"amount": b["attrs"]["amount"] + Decimal("5.25"), "quantity": b["attrs"]["quantity"] + 1}
            b["attrs_confirmed"] = changed
            self.count("attrs_changed_at_confirmation")
        known_at = min(times.values())
        force = {}
        if self.small:  # fixtures: one of each delivery oddity on the first bookings
            force = {9: {"confirmed": "parked", "created": "in_order"}, 10: {"confirmed": "conflict"}, 11: {"created": "rekeyed"},
                     12: {"confirmed": "duplicate"}, 13: {"confirmed": "envelope_only"}}.get(b["id"], {})
            if force:
                times.setdefault("confirmed", created + timedelta(minutes=4))
            if b["id"] == 9:  # everything else in order, so the bare confirmation is really first
                force = dict({tr: "in_order" for tr in times}, confirmed="parked")
        over = {tr: dict(changed or {}) if tr == "confirmed" else {} for tr in times}
        if self.moves:
            self._plan_moves(b, times, over, story)
        bare = set()
        for tr, when in times.items():
            if self._one_transition(b, tr, when, known_at, over[tr] or None,
                                    orphan=story == "orphan", force=force.get(tr)):
                bare.add(tr)
        if self.moves:
            self._rivals(b, times, over, story, bare)
        if "confirmed" in times and rng.random() < 0.35:
            self.stream.add(times["confirmed"] + timedelta(seconds=2), self.b.payment(b, times["confirmed"]), "ignored")
        if rng.random() < 0.04:
            self.stream.add(self.instant(), self.b.waitlist(b["attrs"]["event_id"], b["attrs"]["user_id"], b["id"] + 500000), "ignored")

    # -- moves (option --moves) ---------------------------------------------------
    def _other_event(self, current):
        m = self.mrng
        if self.moves_safe:  # only events that exist anyway (an event message names them)
            ids = [e["id"] for e in self.events if e["fate"] != "never_created" and e["id"] != current]
            return m.choice(ids or [current])
        if m.random() < 0.25:  # an id no event message ever names: a placeholder
            self.count("move_to_placeholder")
            return len(self.events) + 200 + m.randrange(5)
        return m.choice([e["id"] for e in self.events if e["id"] != current] or [current + 1])

    def _other_user(self, current):
        m = self.mrng
        if m.random() < 0.3:
            return self.n_users + 100 + m.randrange(10)  # a user seen nowhere else
        return m.choice([u for u in range(1, self.n_users + 1) if u != current] or [current + 1])

    def _plan_moves(self, b, times, over, story):
        """A booking whose event and/or user differs between its messages. The messages from
        a split point up carry the new value (or, the other way round, the lower ones do and
        the highest carries the old one explicitly). docs/metrics.md: each attribute comes
        from the highest-ranked message that carries it."""
        m = self.mrng
        trs = [tr for tr in ("created", "confirmed", "expired", "cancelled") if tr in times]
        if len(trs) < 2 or m.random() >= self.p_move:
            return
        if self.moves_safe and self._fate(b["attrs"]["event_id"]) == "never_created":
            return
        what = m.choice(["event_id", "user_id", "both"])
        attrs = ["event_id", "user_id"] if what == "both" else [what]
        k = m.randrange(1, len(trs))
        upper = m.random() < 0.7
        for attr in attrs:
            cur = b["attrs"][attr]
            new = self._other_event(cur) if attr == "event_id" else self._other_user(cur)
            for i, tr in enumerate(trs):
                if (i >= k) == upper:
                    over[tr][attr] = new
                elif i == len(trs) - 1:
                    over[tr][attr] = cur  # the highest carries the old value explicitly
            self.count(f"move_{attr}_{'up' if upper else 'down'}")

    def _fate(self, eid):
        return next((e["fate"] for e in self.events if e["id"] == eid), None)

    def _rivals(self, b, times, over, story, bare):
        """A second message for one slot under another key, with another time and maybe another
        event/user: the earlier occurrence wins the slot with its attributes (design.md)."""
        m = self.mrng
        if m.random() >= self.p_rival:
            return
        trs = [tr for tr in times if not (tr == "created" and story == "orphan")]
        if self.moves_safe:
            trs = [tr for tr in trs if tr not in bare]
            if not trs or self._fate(b["attrs"]["event_id"]) == "never_created":
                return
        tr = "created" if "created" in trs and m.random() < 0.6 else m.choice(trs)
        when = times[tr]
        if m.random() < 0.5:
            t2 = self.instant()
        else:
            t2 = when + timedelta(seconds=m.choice([-1, 1]) * m.randint(60, 86400 * m.choice([1, 3, 40])))
        if abs((t2 - when).total_seconds()) < 60:
            t2 = when + timedelta(seconds=61)
        attrs = dict(over[tr])
        r = m.random()
        if r < 0.3:
            attrs["user_id"] = self._other_user(b["attrs"]["user_id"])
        elif r < 0.6:
            attrs["event_id"] = self._other_event(b["attrs"]["event_id"])
        fmt = m.choice(["ce", "evently"])
        mid = f"rival-{self.b.uid()}" if fmt == "evently" else None
        self.stream.add(self.instant(), self.b.booking(b, tr, fmt, t2, message_id=mid, attrs=attrs or None), "rival")
        self.count(f"rival_{tr}_{'earlier' if t2 < when else 'later'}{'_other_attrs' if r < 0.6 else ''}")

    def _one_transition(self, b, tr, when, known_at, attrs, orphan, force=None):
        rng = self.rng
        fmt = "ce" if rng.random() < 0.3 else "evently"
        # a bare transition never carries changed attributes (which message's would win is unspecified)
        bare = tr != "created" and not orphan and attrs is None and rng.random() < 0.12
        deliver = when
        if rng.random() < 0.15:  # out of order: delivered any time
            deliver = self.instant()
        if force:  # fixtures: exactly the oddity asked for
            bare, deliver = False, when
        if force == "parked":  # bare, and delivered before the booking's creation
            bare, deliver = True, known_at - timedelta(days=1)
        if bare:
            self.count("bare_transition")
            self.count("bare_delivered_before_first_transition", deliver < known_at)
        r = rng.random()
        type_field, envelope = True, None
        if force == "envelope_only":
            r = 0
        if r < 0.08:
            type_field, envelope = False, when
            self.count("time_from_envelope")
        elif r < 0.16:
            envelope = when + timedelta(seconds=rng.randint(1, 7200))  # publish time; the type field wins
            self.count("envelope_and_type_time")
        msg_id = f"msg-{self.b.uid()}" if fmt == "evently" and rng.random() < 0.15 else None
        ch_raw = self.b.booking(b, tr, fmt, when, bare=bare, envelope=envelope, type_field=type_field,
                                message_id=msg_id, attrs=attrs)
        self.stream.add(deliver, ch_raw, "booking_" + tr)
        # re-deliveries
        r = {"duplicate": 0, "rekeyed": 0.08, "conflict": 0.11}.get(force, 1 if force else rng.random())
        if r < 0.07:
            self.stream.add(self.instant(), ch_raw, "duplicate")
            self.count("duplicate_exact")
        elif r < 0.10:  # the same fact under another idempotency key
            other = "evently" if fmt == "ce" else "ce"
            self.stream.add(self.instant(), self.b.booking(b, tr, other, when, bare=bare, envelope=envelope,
                                                           type_field=type_field, attrs=attrs), "rekeyed")
            self.count("same_fact_other_key")
        elif r < 0.115 and tr != "created" and not bare and attrs is None:
            # a conflicting retry under another key: the earlier time wins (design.md)
            later = when + timedelta(seconds=rng.randint(60, 86400 * 2))
            self.stream.add(self.instant(), self.b.booking(b, tr, "evently", later, message_id=f"retry-{self.b.uid()}",
                                                           attrs=attrs), "conflict")
            self.count("conflicting_retry_later_time")
        return bare

    # -- noise -------------------------------------------------------------------
    def make_malformed(self):
        rng = self.rng
        n_bad = max(len(MALFORMED_KINDS), int(self.n * 0.05))
        kinds = list(MALFORMED_KINDS) + [rng.choice(MALFORMED_KINDS[:-1]) for _ in range(n_bad - len(MALFORMED_KINDS))]
        kinds = [k for k in kinds if k != "too_large"] + (["too_large"] if self.too_large else [])
        for i, kind in enumerate(kinds):
            ch_raw = self.b.malformed(kind, 90_000_000 + i, 900_000 + i, self.instant())
            self.stream.add(self.instant(), ch_raw, "malformed")
            self.count("malformed_" + kind)
            if rng.random() < 0.1 and kind != "too_large":
                self.stream.add(self.instant(), ch_raw, "malformed_again")

    _ID = re.compile(r'"(booking_id|event_id|user_id|id)": (\d+)(?=[,}])')

    def _string_ids(self, raw):
        """Some messages spell their ids as digit strings ("booking_id": "91"): each id of a
        chosen message independently, so one message may mix both spellings."""
        m = self.mrng
        if m.random() >= self.p_string_id:
            return raw
        hit = []

        def sub(mo):
            if m.random() < 0.6:
                hit.append(mo.group(1))
                return f'"{mo.group(1)}": "{mo.group(2)}"'
            return mo.group(0)
        out = self._ID.sub(sub, raw)
        if hit:
            self.count("string_ids")
        return out

    def special_times(self):
        """A confirmation written with 24:00 (end of the day, docs) for a fresh booking."""
        rng = self.rng
        if rng.random() < 0.5 and not self.small:
            return
        ev = rng.choice(self.events)
        d = (self.start + timedelta(days=rng.randint(1, max(1, self.back)))).date()
        bid = len(self.bookings) + 1
        b = {"id": bid, "attrs": {"event_id": ev["id"], "user_id": 1, "quantity": 1,
                                  "amount": Decimal("42.5"), "currency": self.base}}
        self.bookings.append(b)
        created = datetime.combine(d, time(23, 50), UTC)
        self.stream.add(created, self.b.booking(b, "created", "evently", created), "booking_created")
        ch, raw = self.b.booking(b, "confirmed", "evently", created)
        msg = json.loads(raw)
        msg["booking_data"]["confirmed_at"] = d.isoformat() + "T24:00:00"
        self.stream.add(created, (ch, json.dumps(msg)), "booking_confirmed")
        self.count("ts_24_00")

    def build(self):
        self.make_events()
        self.make_bookings()
        self.special_times()
        self.make_malformed()
        items = sorted(self.stream.items, key=lambda x: (x[0], x[1]))
        if self.moves:
            items = [(d, r, ch, self._string_ids(raw) if not tag.startswith("malformed") else raw, tag)
                     for d, r, ch, raw, tag in items]
        lines = [json.dumps({"channel": ch, "raw": raw}, ensure_ascii=False) for _, _, ch, raw, _ in items]
        frm = self.as_of - timedelta(days=self.rng.choice([6, 13, 30, 45, 75, 100]))
        to = self.as_of + timedelta(days=self.rng.choice([0, 0, 0, 2, 9]))
        config = {"REPORTING_TIMEZONE": self.zone_name, "BASE_CURRENCY": self.base,
                  "as_of": self.as_of.isoformat(), "daily_from": frm.isoformat(), "daily_to": to.isoformat()}
        return lines, config


def write_case(outdir, seed, n, **opts):
    g = Gen(seed, n, **opts)
    lines, config = g.build()
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "input.jsonl"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(os.path.join(outdir, "config.json"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(config, indent=1) + "\n")
    state, expected = run(lines, config)
    with open(os.path.join(outdir, "expected.json"), "w", encoding="utf-8") as fh:
        fh.write(dump_expected(expected) + "\n")
    g.features.update(seed=seed, lines=len(lines), outcomes=expected["outcomes"],
                      parked_then_released=state.released, config=config)
    if state.slot_ties:  # the generator promises never to rely on the "smaller record" tie-break
        g.features["slot_ties"] = state.slot_ties
        print(f"warning: {outdir}: {state.slot_ties} slot ties with different attributes", file=sys.stderr)
    with open(os.path.join(outdir, "features.json"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(g.features, indent=1, sort_keys=True) + "\n")
    return len(lines)


def main(argv):
    args, opts = [], {}
    it = iter(argv)
    for a in it:
        if a == "--small":
            opts["small"] = True
        elif a == "--no-too-large":
            opts["too_large"] = False
        elif a == "--moves":
            opts["moves"] = True
        elif a == "--moves-safe":
            opts["moves_safe"] = True
        elif a in ("--zone", "--base", "--anchor"):
            v = next(it)
            opts[a[2:]] = int(v) if a == "--anchor" else v
        else:
            args.append(a)
    if len(args) != 3:
        sys.exit(__doc__)
    print(write_case(args[0], int(args[1]), int(args[2]), **opts))


if __name__ == "__main__":
    main(sys.argv[1:])

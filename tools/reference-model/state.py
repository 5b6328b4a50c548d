"""Ingest normalized messages in arrival order: outcomes, idempotency, parking,
and the order-independent state (booking slots, event metadata, tombstones)."""
import json

from parse import parse

PRECEDENCE = ["created", "confirmed", "expired", "cancelled"]  # low -> high
ATTRS = ["event_id", "user_id", "quantity", "amount", "currency"]


class State:
    def __init__(self):
        self.keys = set()         # idempotency keys of processed messages
        self.outcome = {}         # line index -> "processed" | "duplicate" | "ignored" | "rejected"
        self.reason = {}          # line index -> rejection reason (only while rejected)
        self.slots = {}           # booking_id -> {transition: (time, tiebreak, attrs)}
        self.parked = {}          # booking_id -> [(index, msg)] bare transitions waiting
        self.upserts = {}         # event_id -> [(time, seq, fields, created)]
        self.deleted = set()
        self.seq = 0
        self.released = 0         # parked messages re-processed (for gen.py's features.json)
        self.slot_ties = 0        # same slot, same time, other attributes ("smaller record" decides)

    # -- arrival ---------------------------------------------------------
    def ingest(self, index, raw):
        status, value = parse(raw)
        if status == "rejected":
            self._reject(index, value)
        elif status == "ignored":
            self.outcome[index] = "ignored"
        else:
            self._accept(index, value)

    def _reject(self, index, reason):
        self.outcome[index] = "rejected"
        self.reason[index] = reason

    def _accept(self, index, msg):
        if msg["key"] in self.keys:
            self.outcome[index] = "duplicate"
            self.reason.pop(index, None)  # a released parked message may turn out a duplicate
            return
        if msg["kind"] == "booking" and msg["bare"] and msg["booking_id"] not in self.slots:
            # spec: rejected as unknown_booking; docs: parked and re-processed
            # once the booking becomes known (design.md "Order independence").
            self._reject(index, "unknown_booking")
            self.parked.setdefault(msg["booking_id"], []).append((index, msg))
            return
        self.keys.add(msg["key"])
        self.outcome[index] = "processed"
        self.reason.pop(index, None)
        if msg.get("time", True) is None:
            raise ValueError(f"line {index}: no occurrence time (would be the receive time)")
        self.seq += 1
        if msg["kind"] == "booking":
            self._apply_booking(msg)
        elif msg["kind"] == "event_upsert":
            self.upserts.setdefault(msg["event_id"], []).append(
                (msg["time"], self.seq, msg["fields"], msg["created"]))
        else:
            self.deleted.add(msg["event_id"])

    def _apply_booking(self, msg):
        bid = msg["booking_id"]
        slots = self.slots.setdefault(bid, {})
        tiebreak = json.dumps({k: str(v) for k, v in msg["attrs"].items()}, sort_keys=True)
        new = (msg["time"], tiebreak, msg["attrs"])
        old = slots.get(msg["tr"])
        if old is not None and old[0] == new[0] and old[1] != new[1]:
            self.slot_ties += 1
        # design.md: two messages claiming one slot -> earlier occurrence time wins,
        # then the smaller record.
        if old is None or new[:2] < old[:2]:
            slots[msg["tr"]] = new
        for index, parked in self.parked.pop(bid, []):
            self.released += 1
            self._accept(index, parked)

    # -- derived state ---------------------------------------------------
    def bookings(self):
        """booking_id -> dict(status, times per transition, attributes)."""
        out = {}
        for bid, slots in self.slots.items():
            b = {"booking_id": bid}
            for tr in PRECEDENCE:
                b[tr + "_at"] = slots[tr][0] if tr in slots else None
            b["status"] = {"created": "pending"}.get(
                max(slots, key=PRECEDENCE.index), max(slots, key=PRECEDENCE.index))
            for attr in ATTRS:
                b[attr] = None
                for tr in reversed(PRECEDENCE):
                    if tr in slots and attr in slots[tr][2]:
                        b[attr] = slots[tr][2][attr]
                        break
            out[bid] = b
        return out

    def events(self, bookings):
        """event_id -> metadata for every event not deleted (placeholders included)."""
        ids = set(self.upserts) | {b["event_id"] for b in bookings.values() if b["event_id"] is not None}
        out = {}
        for eid in ids - self.deleted:
            ev = {"event_id": eid, "event_name": "Unknown Event", "category": None,
                  "total_capacity": 0, "created_at": None}
            # newest occurrence time wins per field; ties: the later message
            for when, seq, fields, created in sorted(self.upserts.get(eid, []), key=lambda u: u[:2]):
                ev.update(fields)
            created = [u[3] for u in self.upserts.get(eid, []) if u[3] is not None]
            ev["created_at"] = min(created) if created else None
            out[eid] = ev
        return out

    def outcomes(self):
        counts = {"duplicate": 0, "ignored": 0, "processed": 0, "rejected": 0}
        for v in self.outcome.values():
            counts[v] += 1
        rejections = [{"index": i, "reason": self.reason[i]} for i in sorted(self.reason)]
        return counts, rejections

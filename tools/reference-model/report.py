"""Figures of shared/spec/metrics.md from the derived state, shaped like expected.json."""
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal, ROUND_HALF_UP
from fractions import Fraction
from zoneinfo import ZoneInfo

ZERO = Decimal(0)


def r2(x):
    """Exact value -> float rounded half away from zero to 2 decimals; None stays None."""
    if x is None:
        return None
    if isinstance(x, Fraction):
        x = Decimal(x.numerator) / Decimal(x.denominator)
    return float(Decimal(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def iso_utc(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + "Z" if dt is not None else None


def pct(num, den):
    return Fraction(100) * Fraction(num) / Fraction(den)


def days(first, last):
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


class Report:
    def __init__(self, state, config):
        self.tz = ZoneInfo(config.get("REPORTING_TIMEZONE") or "UTC")
        self.base = config.get("BASE_CURRENCY") or "USD"
        self.as_of = date.fromisoformat(config["as_of"])
        self.config = config
        self.state = state
        self.bookings = state.bookings()
        self.meta = state.events(self.bookings)
        self.stats = {eid: self._event_stats(ev) for eid, ev in self.meta.items()}
        self._daily_flows()

    def local(self, dt):
        return dt.astimezone(self.tz).date()

    # -- per event ---------------------------------------------------------
    def _event_stats(self, ev):
        bs = [b for b in self.bookings.values() if b["event_id"] == ev["event_id"]]
        by = defaultdict(list)
        for b in bs:
            by[b["status"]].append(b)
        conf = by["confirmed"]
        cap = ev["total_capacity"]
        held = sum(b["quantity"] or 0 for b in conf + by["pending"])
        sold = sum(b["quantity"] or 0 for b in conf)
        base_conf = [b for b in conf if b["currency"] == self.base]
        revenue = sum((b["amount"] or ZERO for b in base_conf), ZERO)
        other = {}
        for b in conf:
            if b["currency"] != self.base and b["currency"] is not None:
                other[b["currency"]] = other.get(b["currency"], ZERO) + (b["amount"] or ZERO)
        created = [b["created_at"] for b in bs if b["created_at"] is not None]
        return {
            "event_id": ev["event_id"],
            "event_name": ev["event_name"],
            "category": ev["category"],
            "total_capacity": cap,
            "total_bookings": len(bs),
            "confirmed_bookings": len(conf),
            "cancelled_bookings": len(by["cancelled"]),
            "expired_bookings": len(by["expired"]),
            "pending_bookings": len(by["pending"]),
            "tickets_sold": sold,
            "utilization": pct(held, cap) if cap else None,
            "sell_through": pct(sold, cap) if cap else None,
            "revenue": revenue,
            "cancellation_rate": pct(len(by["cancelled"]), len(bs)) if bs else Fraction(0),
            "avg_booking_value": Fraction(revenue) / len(base_conf) if base_conf else Fraction(0),
            "first_booking": min(created) if created else None,
            "last_booking": max(created) if created else None,
            "other": other,
        }

    def event_row(self, s):
        return {
            "avg_booking_value": r2(s["avg_booking_value"]),
            "cancellation_rate": r2(s["cancellation_rate"]),
            "cancelled_bookings": s["cancelled_bookings"],
            "capacity_utilization": r2(s["utilization"]),
            "category": s["category"],
            "confirmed_bookings": s["confirmed_bookings"],
            "event_id": s["event_id"],
            "event_name": s["event_name"],
            "expired_bookings": s["expired_bookings"],
            "first_booking": iso_utc(s["first_booking"]),
            "last_booking": iso_utc(s["last_booking"]),
            "other_currency_revenue": {c: r2(v) for c, v in sorted(s["other"].items())},
            "pending_bookings": s["pending_bookings"],
            "sell_through": r2(s["sell_through"]),
            "tickets_sold": s["tickets_sold"],
            "total_bookings": s["total_bookings"],
            "total_capacity": s["total_capacity"],
            "total_revenue": r2(s["revenue"]),
        }

    # -- per day -------------------------------------------------------------
    def _daily_flows(self):
        f = defaultdict(lambda: {"new": 0, "conf": 0, "canc": 0, "exp": 0, "net": ZERO,
                                 "gross": ZERO, "base_conf": 0, "events": set(), "users": 0})
        first_of_user = {}
        for b in self.bookings.values():
            base = b["currency"] == self.base
            amount = b["amount"] or ZERO
            for tr in ("created", "confirmed", "cancelled", "expired"):
                t = b[tr + "_at"]
                if t is not None and b["event_id"] is not None:
                    f[self.local(t)]["events"].add(b["event_id"])
            if b["created_at"] is not None:
                f[self.local(b["created_at"])]["new"] += 1
                u = b["user_id"]
                if u is not None and (u not in first_of_user or b["created_at"] < first_of_user[u]):
                    first_of_user[u] = b["created_at"]
            if b["confirmed_at"] is not None:
                d = f[self.local(b["confirmed_at"])]
                d["conf"] += 1
                if base:
                    d["net"] += amount
                    d["gross"] += amount
                    d["base_conf"] += 1
            if b["cancelled_at"] is not None:
                d = f[self.local(b["cancelled_at"])]
                d["canc"] += 1
                if base and b["confirmed_at"] is not None:
                    d["net"] -= amount
            if b["expired_at"] is not None:
                f[self.local(b["expired_at"])]["exp"] += 1
        for t in first_of_user.values():
            f[self.local(t)]["users"] += 1
        self.flows = f
        self.created_days = sorted(self.local(b["created_at"]) for b in self.bookings.values()
                                   if b["created_at"] is not None)

    def running_total(self, d):
        import bisect
        return bisect.bisect_right(self.created_days, d)

    def bucket(self, label, ds):
        fl = [self.flows[d] for d in ds if d in self.flows]
        s = lambda k: sum((x[k] for x in fl), ZERO if k in ("net", "gross") else 0)
        base_conf = s("base_conf")
        return {
            "active_events": len(set().union(*(x["events"] for x in fl))) if fl else 0,
            "avg_booking_value": r2(Fraction(s("gross")) / base_conf if base_conf else 0),
            "cancelled_bookings": s("canc"),
            "confirmed_bookings": s("conf"),
            "date": label.isoformat(),
            "expired_bookings": s("exp"),
            "new_bookings": s("new"),
            "new_users": s("users"),
            "total_bookings": self.running_total(max(ds)),
            "total_revenue": r2(s("net")),
        }

    def series(self, first, last, granularity):
        groups = {}
        for d in days(first, last):
            if granularity == "day":
                key = d
            elif granularity == "week":
                key = d - timedelta(days=d.weekday())
            else:
                key = d.replace(day=1)
            groups.setdefault(key, []).append(d)
        return [self.bucket(k, ds) for k, ds in sorted(groups.items())]

    def window_sum(self, last, n, key):
        first = last - timedelta(days=n - 1)
        return sum((self.flows[d][key] for d in days(first, last) if d in self.flows),
                   ZERO if key == "net" else 0)

    # -- system, rankings, capacity, revenue ---------------------------------
    def system(self):
        live = list(self.stats.values())
        prev_end = self.as_of - timedelta(days=30)
        recent_b, prev_b = self.window_sum(self.as_of, 30, "new"), self.window_sum(prev_end, 30, "new")
        recent_r, prev_r = self.window_sum(self.as_of, 30, "net"), self.window_sum(prev_end, 30, "net")
        start = self.as_of - timedelta(days=29)
        with_cap = [s["utilization"] for s in live if s["utilization"] is not None]
        with_b = [s["cancellation_rate"] for s in live if s["total_bookings"] > 0]
        base_conf = [b for b in self.bookings.values()
                     if b["status"] == "confirmed" and b["currency"] == self.base]
        return {
            "avg_cancellation_rate": r2(sum(with_b, Fraction(0)) / len(with_b) if with_b else 0),
            "avg_capacity_utilization": r2(sum(with_cap, Fraction(0)) / len(with_cap) if with_cap else 0),
            "booking_growth_rate": r2(pct(recent_b - prev_b, prev_b)) if prev_b else None,
            "recent_bookings": recent_b,
            "recent_events": sum(1 for e in self.meta.values() if e["created_at"] is not None
                                 and start <= self.local(e["created_at"]) <= self.as_of),
            "recent_revenue": r2(recent_r),
            "revenue_growth_rate": r2(pct(recent_r - prev_r, prev_r)) if prev_r else None,
            "total_bookings": len(self.bookings),
            "total_events": len(self.meta),
            "total_revenue": r2(sum((b["amount"] or ZERO for b in base_conf), ZERO)),
            "total_users": len({b["user_id"] for b in self.bookings.values() if b["user_id"] is not None}),
        }

    def order(self, by):
        live = list(self.stats.values())
        if by == "bookings":
            k = lambda s: (-s["total_bookings"], s["event_id"])
        elif by == "revenue":
            k = lambda s: (-s["revenue"], s["event_id"])
        else:
            k = lambda s: (s["utilization"] is None, -(s["utilization"] or 0), s["event_id"])
        return sorted(live, key=k)

    def capacity(self):
        util = [s for s in self.order("utilization") if s["utilization"] is not None and s["total_capacity"] > 0]
        under = sorted((s for s in util if s["utilization"] < 50), key=lambda s: (s["utilization"], s["event_id"]))
        row = lambda s: {"event_id": s["event_id"], "event_name": s["event_name"], "utilization": r2(s["utilization"])}
        return {
            "average_utilization": r2(sum((s["utilization"] for s in util), Fraction(0)) / len(util) if util else 0),
            "top_utilized_events": [row(s) for s in util[:10]],
            "total_events": len(util),
            "underutilized_events": [row(s) for s in under[:10]],
            "utilization_distribution": {
                "high": sum(1 for s in util if s["utilization"] >= 80),
                "low": sum(1 for s in util if s["utilization"] < 50),
                "medium": sum(1 for s in util if 50 <= s["utilization"] < 80),
            },
        }

    def revenue(self, n):
        total = self.window_sum(self.as_of, n, "net")
        prev = self.window_sum(self.as_of - timedelta(days=n), n, "net")
        first = self.as_of - timedelta(days=n - 1)
        return {
            "average_daily_revenue": r2(Fraction(total) / n),
            "daily_revenue_breakdown": [
                {"bookings": self.flows[d]["new"] if d in self.flows else 0, "date": d.isoformat(),
                 "revenue": r2(self.flows[d]["net"] if d in self.flows else ZERO)}
                for d in days(first, self.as_of)],
            "revenue_growth_rate": r2(pct(total - prev, prev)) if prev else None,
            "top_revenue_events": [
                {"avg_booking_value": r2(s["avg_booking_value"]), "event_id": s["event_id"],
                 "event_name": s["event_name"], "revenue": r2(s["revenue"])}
                for s in self.order("revenue")[:10]],
            "total_revenue": r2(total),
        }

    def expected(self):
        counts, rejections = self.state.outcomes()
        first = date.fromisoformat(self.config["daily_from"])
        last = date.fromisoformat(self.config["daily_to"])
        return {
            "capacity": self.capacity(),
            "daily": {g: self.series(first, last, g) for g in ("day", "week", "month")},
            "deleted_events": sorted(self.state.deleted),
            "events": {str(eid): self.event_row(s) for eid, s in self.stats.items()},
            "outcomes": counts,
            "rejections": rejections,
            "revenue_30": self.revenue(30),
            "revenue_7": self.revenue(7),
            "system": self.system(),
            "top_events": {k: [s["event_id"] for s in self.order(k)[:50]]
                           for k in ("bookings", "revenue", "utilization")},
        }

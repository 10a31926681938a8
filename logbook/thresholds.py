"""Pure rules of the supervisor's warnings (SPEC §11): when an enterprise is inspected too often, when a scan was
made far from the site, when an agency's exempt share stands out. Time, places and counts arrive as arguments."""

import math
from dataclasses import dataclass
from datetime import timedelta

EARTH_RADIUS_M = 6_371_000


@dataclass(frozen=True)
class Thresholds:
    """The settings behind the warnings (LOGBOOK_FREQUENT_DAY and the rest), with SPEC §11's defaults."""

    day: int = 1                 # Chengdu: more than once on a calendar day ...
    week: int = 2                # ... more than twice in 7 days ...
    month: int = 3               # ... more than three times in 30 days
    exempt_factor: float = 2.0   # an agency's exempt share more than this many times everyone's
    site_radius_m: int = 500     # a scan further than this from the enterprise's coordinates
    open_days: int = 7           # an inspection still open after this many days
    confirm_days: int = 7        # not confirmed by the firm after this many days
    complaint_days: int = 7      # a complaint unanswered after this many days
    approval_days: int = 3       # a task waiting for its head's approval after this many days
    min_inspections: int = 10    # the exempt share of an agency with fewer inspections says nothing


DEFAULTS = Thresholds()
PERIODS = (("day", None), ("week", 7), ("month", 30))


def frequency_breaches(starts, at, tz, limits):
    """The thresholds an enterprise goes over with the inspection started at `at`: [(period, count, first start)].

    `starts` are the aware start times of its live inspections (visits left out) within 30 days either side, `at`
    among them. "day" is the local calendar day of `at`; "week" and "month" the busiest window of 7 or 30 days that
    holds `at` (a late entry can take a later window over too)."""
    found = []
    for period, days in PERIODS:
        most = {"day": limits.day, "week": limits.week, "month": limits.month}[period]
        if days is None:
            inside = [s for s in starts if s.astimezone(tz).date() == at.astimezone(tz).date()]
        else:
            span = timedelta(days=days)
            ends = [at] + [s for s in starts if at < s < at + span]
            inside = max(([s for s in starts if end - span < s <= end] for end in ends), key=len)
        if len(inside) > most:
            found.append((period, len(inside), min(inside)))
    return found


def distance_m(lat1, lon1, lat2, lon2):
    """The great-circle distance in metres between two points given in degrees (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def far_from_site(location, site, limits):
    """The distance in whole metres when a scan's reported location lies further than the radius from the
    enterprise's coordinates; None when it does not, or when either is unknown."""
    if not location or site[0] is None or site[1] is None:
        return None
    metres = distance_m(location["lat"], location["lon"], site[0], site[1])
    return round(metres) if metres > limits.site_radius_m else None


def exempt_outliers(by_agency, limits):
    """The agencies whose exempt share stands out: [(agency, total, exempt)] of those with at least min_inspections
    whose exempt / total is more than exempt_factor times the share of all agencies together."""
    total = sum(t for _, t, _ in by_agency)
    exempt = sum(e for _, _, e in by_agency)
    if not total:
        return []
    share = exempt / total
    return [(agency, t, e) for agency, t, e in by_agency
            if t >= limits.min_inspections and e / t > limits.exempt_factor * share]

"""Where a learner studies, against where the colleagues of their city's organisation study.

A paid proxy studies from the proxy's own city. When the owner never studied at all, there
is no earlier device, address or habit to compare with (R08 has nothing to go on), but the
org tree still says where the learner works: the colleagues under the same city-level
organisation study from that city's networks, at work and at home. Credit earned almost
entirely from a network region that is not theirs but another city's (the home of another
organisation's people), over several days, is what a remote proxy leaves and what an
honest trip rarely does (a trip is a few days of a learner's year, and
the learner studies at home before and after it). The comparison is with the colleagues'
own data, so it needs no table of which network belongs to which city.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from proctor.detection.groups import Floats, Ints, distinct, sums, unique_pairs

# A network region is the colleagues' when it is where at least this share of them earned
# most of their credit. Counting people, not hours: a farm's accounts study all day from one
# place and would otherwise make it everyone's.
HOME_SHARE = 0.2
# An organisation is judged only where one network region is clearly home: at least this
# share of its people earn most of their credit there. Where addresses say nothing about
# where people work (a national mobile carrier, a VPN everyone uses, addresses unrelated to
# the org tree), no region is home and nobody is away.
CLEAR_HOME = 0.5
# Fewer colleagues with credit than this: the region's networks are not known well enough.
MIN_PEERS = 3


@dataclass(frozen=True)
class Regions:
    """The city-level organisation of every learner (``codes``) and their own unit
    (``units``, the full org path): ``ids`` ascending, codes >= 0."""

    ids: Ints
    codes: Ints
    units: Ints

    @classmethod
    def from_paths(cls, rows: list[tuple[int, str]]) -> Regions:
        """(learner id, org path) pairs; the region is the path's first two levels
        ("/1/4/17/" belongs to "/1/4/"), the city under the province."""
        if not rows:
            return cls.empty()
        rows = sorted(rows)
        prefixes = ["/".join(path.strip("/").split("/")[:2]) for _, path in rows]
        _, codes = np.unique(np.asarray(prefixes), return_inverse=True)
        _, units = np.unique(np.asarray([path for _, path in rows]), return_inverse=True)
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        return cls(
            ids,
            np.asarray(codes, dtype=np.int64).ravel(),
            np.asarray(units, dtype=np.int64).ravel(),
        )

    @classmethod
    def empty(cls) -> Regions:
        """No learner has a known organisation (every region feature is 0)."""
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty, empty)

    def of(self, learner_ids: Ints) -> Ints:
        """Region code per learner id (-1 where unknown)."""
        return self._lookup(learner_ids, self.codes)

    def unit_of(self, learner_ids: Ints) -> Ints:
        """Unit code per learner id (-1 where unknown)."""
        return self._lookup(learner_ids, self.units)

    def _lookup(self, learner_ids: Ints, values: Ints) -> Ints:
        if len(self.ids) == 0:
            return np.full(len(learner_ids), -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.ids, learner_ids), 0, len(self.ids) - 1)
        return np.where(self.ids[pos] == learner_ids, values[pos], -1)


def away_from_region(
    g: Ints, city: Ints, verified: Floats, day: Ints, region: Ints, n: int
) -> tuple[Floats, Floats]:
    """Per learner: the share of their verified time from network regions (cities) that are
    not their colleagues' (fewer than :data:`HOME_SHARE` of the colleagues earned most of
    their credit there) but are another organisation's, and on how many days they earned
    credit there. ``g`` is each
    session's learner (0..n-1), ``region`` each learner's city-level organisation (-1
    unknown); colleagues are the others of the same organisation with credit."""
    share = np.zeros(n)
    days = np.zeros(n)
    r = region[g]
    known = (r >= 0) & (verified > 0)
    if not known.any():
        return share, days
    g, city, verified, day = g[known], city[known], verified[known], day[known]
    # Each learner's main city: where most of their verified time came from.
    pg, pc, pair = unique_pairs(g, city)
    pair_v = sums(pair, verified, len(pg))
    order = np.lexsort((-pair_v, pg))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pg[order][1:] != pg[order][:-1]
    main = np.full(n, -1, dtype=np.int64)
    main[pg[order][first]] = pc[order][first]
    has = np.flatnonzero(main >= 0)  # learners with credit and a known organisation
    learner_region = region[has]
    regions = int(region.max()) + 1
    people = np.bincount(learner_region, minlength=regions)
    cities = int(city.max()) + 1
    home_count = np.bincount(learner_region * cities + main[has], minlength=regions * cities)
    counts = home_count.reshape(regions, cities)
    clear = counts.max(axis=1) >= CLEAR_HOME * np.maximum(people, 1)
    # Where each network region is home: to which organisations (clear, enough people).
    home = clear[:, None] & (people[:, None] > MIN_PEERS) & (counts >= HOME_SHARE * people[:, None])
    homes = home.sum(axis=0)
    rr = region[g]
    peers = people[rr] - 1  # every learner here has credit, so is counted once in people
    others_home = home_count[rr * cities + city] - (main[g] == city)
    # Away means somewhere known: a network that is home to another organisation's people.
    # A network home to nobody (a VPN, a mobile carrier, an address no cohort uses) says
    # nothing about where the learner was.
    elsewhere = homes[city] - home[rr, city] > 0
    foreign = clear[rr] & (peers >= MIN_PEERS) & (others_home < HOME_SHARE * peers) & elsewhere
    own = sums(g, verified, n)
    share = sums(g, np.where(foreign, verified, 0.0), n) / np.maximum(own, 1.0)
    away = np.flatnonzero(foreign)
    days = distinct(g[away], day[away], n)
    return share, days

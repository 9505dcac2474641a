"""Configuration of exam forensics: every threshold, with its default and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ForensicConfig:
    """Thresholds of :func:`proctor.exams.forensics.analyse.analyse` (all have defaults).

    Answer copying (ω and identical wrong answers, exact generalised-binomial nulls):

    * ``all_pairs_max`` – exams with at most this many attempts test every pair; larger
      ones test candidate pairs (same address, same unit, submitted within
      ``submit_window_s``) plus ``random_pairs`` random pairs; ``max_candidate_pairs``
      bounds them by narrowing the submission window (a sitting of thousands hands in
      within minutes, and its close pairs grow with the square of its size).
    * ``copy_alpha`` – per-pair significance level. The pair p-value is exact for the
      weighted match statistic and corrected for the two directions, so the Type I error
      per honest pair is at most ``copy_alpha``: 3e-5 by default, thirty times under the
      0.001 target, because every examinee of a 300-person exam is in 299 pairs. At 1e-4
      about 0.6 % of honest examinees (up to 0.9 % in some groups) had a copying flag and
      a medium-or-high flag was right 63 % of the time at a 1 % base rate of misconduct;
      at 3e-5, 0.2 % and 88 %, for power at 30 % copied of 0.875 instead of 0.925 on
      concurrent rings (seeds 8101-8103, docs/exams-forensics.md).
    * ``copy_gamma`` – the share of copied items the weighted statistic is tuned for;
      ``copy_use_times`` / ``copy_fast_shift`` – weight items the suspected copier answered
      fast (copied answers take less time; the shift is in residual SDs). These shape the
      power only: the null stays exact.
    * ``copy_correction`` – "none" (per-pair ``copy_alpha``) or "bonferroni"
      (``copy_alpha`` / pairs tested: the family-wise error of the whole exam).
    * ``copy_use_saved_at`` – add the timing-alignment test (:mod:`.timing`) where the
      attempts carry the server's save timestamps: the count of matched items the suspected
      copier saved within ``timing_window_s`` seconds *after* the source, against its
      randomisation null (the server's random item order). The pair is then flagged when
      ``2 × min(p_answers, p_timing) < copy_alpha`` (Bonferroni over the two tests, each
      already corrected for the two directions), so the per-pair Type I error stays at most
      ``copy_alpha``; a pair without timestamps is tested on its answers alone, as before.
      ``timing_bound`` – "exact" (the exact randomisation tail where it matters, the
      sequential bound elsewhere; the default), "sequential" (a valid bound for drawing
      times without replacement) or "independent" (c_i / n_c, not guaranteed).
      ``timing_strata`` – "correct" permutes the copier's save times separately among the
      items he got right and the others, so that an examinee who leaves the items he finds
      hard for the end does not break the null; "none" permutes over all his items.
    * ``copy_use_burst`` – add the burst test (:mod:`.burst`) to the timing test: the count
      of matched items the suspected copier saved within ``burst_window_s`` seconds
      (15 minutes) *after* the source submitted, against its exact randomisation null
      (hypergeometric, stratified like ``timing_strata``). With it the pair is flagged when
      ``3 × min(p_answers, p_timing, p_burst) < copy_alpha`` (Bonferroni over the three
      tests, each corrected for the two directions; four with ``copy_use_order``); without save times nothing changes.
      ``burst_statistic`` – "count" (matched answers in the window) or "weighted" (each
      weighted by −log P(the copier picks the source's option), in half-nat units up to
      10, so that shared rare options count more; same exact null, a subset-sum law).
    * ``copy_use_order`` – add the window tests (:mod:`.order`): over the copier's saves
      after the source submitted (while he was still sitting; at most ``order_window_s``
      seconds after, ``None`` for no limit), the answer test restricted to those items
      (weights for "copied with probability ``order_gamma``") and the order test (matched
      items entered in the source's order, against the Mahonian law of a random order),
      Fisher-combined. With it the pair is flagged when ``4 × min(p_answers, p_timing,
      p_answers+burst, p_window+order) < copy_alpha``.
    * ``together_alpha`` – a pair that **sat together** (one network address or one unit,
      and one of them still answering when the other handed in: where a ring sits) is also
      flagged when the window answer test alone (W_win, both directions) is below this
      level: a weighted Bonferroni that gives such pairs a larger share of the error budget
      (their per-pair error is at most ``copy_alpha + together_alpha``; every other pair's is
      unchanged). A copier who waits for the source to hand in and then enters the answers
      in a shuffled order at a reading pace defeats the order test, and the answer test over
      all items is diluted by the items he worked himself; W_win is what he cannot avoid.
      The reported pair p-value is then min(p_pair, p_Wwin × copy_alpha / level), the
      level being this one or the pair's share of it (``together_partners``).
      5e-4 keeps the bound of such a pair (5.3e-4 with the default ``copy_alpha``) under
      the 1e-3 pair target; on about 4,800 honest pairs that sat together (dev seeds 11-12,
      spread exams and scheduled sittings) none fell below 1e-3. 0 disables it.
      ``together_partners`` – an examinee who sat with more than this many others (a large
      unit at one address) shares the wider level among them: each pair's level is
      ``together_alpha × min(1, together_partners / k)``, k the larger partner count of
      the two, so one examinee's budget is at most ``together_alpha × together_partners``
      (7.5e-3 at the defaults) whatever the size of his unit. 15: the simulator's units.
    * ``min_common_items`` – pairs with fewer common answered items are not tested.
    * ``bandwidth`` – kernel width on the Rasch ability scale for the option model
      (``None``: Silverman's rule); ``smoothing`` – pseudo-count toward the item's
      overall option shares.
    * ``copy_group_prior`` – colleagues who learned together share wrong beliefs, and a
      shared wrong option is the answer tests' strongest evidence. With a value > 0 the
      probability that an examinee picks an option is at least its share among the other
      members of his unit (the pair left out), shrunk toward the ability model with this
      many pseudo-answers; 0 turns it off. It only ever raises the null probabilities, so
      every answer test stays at least as conservative. 5: on dev seeds it took honest
      colleagues who share a misconception on a tenth to a fifth of the items from 14
      copying flags to 4 (540 pair-exams); on seeds 10101-10103 honest pairs flagged went
      from 6 to 1 of 537,013 and colleagues' flags from 2 to 0. The cost falls on copiers
      whose ring-mates in the unit copied the same source (they share its answers too):
      shuffled copiers found at 30 % went from 28 to 18 of 68 on those seeds; the
      combination over exams (:mod:`.repeated`) is what recovers them.

    Pairs that sit exam after exam together (:mod:`.repeated`):

    * ``repeated_tau`` – each exam keeps the window-answer p-value (C08's) of a pair that
      sat together when it is at or below this; ``repeated_days`` – how far back the
      earlier exams count; ``repeated_alpha`` – the level of the truncated product over
      the exams both learners sat (every exam both sat counts, kept or not, so the law is
      exact or conservative). 1e-4 keeps the per-pair bound of the three levels together
      (copy_alpha + together_alpha + repeated_alpha = 6.3e-4) under the 1e-3 target.

    Response times (van der Linden's lognormal model):

    * ``fast_z`` – a response is aberrantly fast when its standardised log-time residual is
      below ``-fast_z``; its null probability is Φ(-fast_z) = 0.025 at 1.96.
    * ``preknowledge_alpha`` – per-examinee level of the binomial test on the count of
      fast-and-correct responses; ``preknowledge_min_items`` – and at least this many.
      With the leaked-set test the two share the level (each at half of it).
    * ``leak_set_min`` / ``leak_set_share`` – an item is in the leaked set revealed to an
      examinee when at least this many of the *other* examinees the count test screened,
      and at least this share of those shown it, answered it correctly and fast;
      ``leak_min_items`` – the examinee answered at least this many of the set correctly
      and faster than expected before the set's rank test can flag him, and his count
      test's p-value is below ``leak_count_gate`` (more fast right answers than expected).
    * ``rapid_fraction`` / ``rapid_cap_s`` – normative rapid-guess threshold per item:
      ``min(rapid_fraction × median time, rapid_cap_s)`` (Wise & Ma's NT10 cap).
    * ``rapid_min_share`` / ``rapid_min_items`` – rapid responses needed to flag, provided
      the accuracy on them is not significantly above chance (``rapid_chance_alpha``).
    * ``compromised_min_share`` – an item is a candidate compromised item when at least this
      share of the examinees flagged for pre-knowledge answered it fast and correctly
      (and at least ``compromised_min_count`` of them).

    Proxy test-taker (rule):

    * ``proxy_min_hours`` / ``proxy_min_share`` – verified study of the course below
      ``proxy_min_hours``, or below this share of the course's lecture time when that is
      shorter, is "almost nothing" (a 45-minute course studied whole is 0.75 h);
    * ``proxy_high_score`` – proportion correct at or above this is "scored high";
    * ``missing_history_is_zero_hours`` – a learner without any study record counts as 0 h.
    * ``proxy_jump_alpha`` / ``proxy_jump_min`` – P03: the score is far above the learner's
      own past exams (binomial tail below the level and at least this many points above).
    * ``proxy_speed_z`` – P05: the attempt's speed differs from the learner's own past
      exams by more than this many standard deviations of his past speeds (with a floor).
    * ``proxy_machine_min_learners`` / ``proxy_machine_max_devices`` – P08 (:mod:`.machines`):
      a device, or an address with at most this many devices in the exam, that this many
      learners of more than one organisation sat the exam on, new to every one of them;
      ``proxy_machine_lookback_days`` – earlier exams closed this many days before this one
      closed count too (their sittings on the same machines).

    Risk bands: ``band_high`` / ``band_medium`` cut points on the risk in [0, 1].
    """

    all_pairs_max: int = 400
    submit_window_s: float = 300.0
    max_candidate_pairs: int = 2_000_000
    random_pairs: int = 20000
    copy_alpha: float = 3e-5
    copy_correction: str = "none"
    copy_gamma: float = 0.3
    copy_use_times: bool = True
    copy_fast_shift: float = 1.5
    copy_use_saved_at: bool = True
    timing_window_s: float = 120.0
    timing_bound: str = "exact"
    timing_strata: str = "correct"
    copy_use_burst: bool = True
    burst_window_s: float = 900.0
    burst_statistic: str = "count"
    copy_use_order: bool = True
    order_window_s: float | None = None
    order_gamma: float = 0.5
    together_alpha: float = 5e-4
    together_partners: int = 15
    min_common_items: int = 10
    bandwidth: float | None = None
    smoothing: float = 1.0
    copy_group_prior: float = 5.0
    repeated_alpha: float = 1e-4
    repeated_tau: float = 0.05
    repeated_days: int = 366

    fast_z: float = 1.96
    preknowledge_alpha: float = 1e-3
    preknowledge_min_items: int = 4
    leak_set_min: int = 2
    leak_set_share: float = 0.5
    leak_min_items: int = 3
    leak_count_gate: float = 0.1
    rapid_fraction: float = 0.10
    rapid_cap_s: float = 10.0
    rapid_min_share: float = 0.1
    rapid_min_items: int = 4
    rapid_chance_alpha: float = 0.01
    compromised_min_share: float = 0.5
    compromised_min_count: int = 2

    proxy_min_hours: float = 1.0
    proxy_min_share: float = 0.25
    proxy_high_score: float = 0.85
    missing_history_is_zero_hours: bool = True
    proxy_jump_alpha: float = 1e-3
    proxy_jump_min: float = 0.2
    proxy_speed_z: float = 3.0
    proxy_machine_min_learners: int = 3
    proxy_machine_max_devices: int = 3
    proxy_machine_lookback_days: int = 365

    band_high: float = 0.75
    band_medium: float = 0.5
    random_state: int = 0

    def band(self, risk: float) -> str:
        """ "high", "medium" or "low" for a risk in [0, 1]."""
        if risk >= self.band_high:
            return "high"
        if risk >= self.band_medium:
            return "medium"
        return "low"

"""Prioritisation engines: Cost of Delay, urgency profiles, CD3, WSJF, RICE, ICE, Kano and opportunity scores.

Pure, typed functions over plain data (mappings, TypedDicts, numbers, numpy arrays) returning frozen dataclasses.
Nothing here touches Django, the database or any other valueloop package; only the standard library and numpy.

Invariants
----------
* Units: money is per week (Cost of Delay, "CoD"), durations are in weeks, CD3 is money per week per week of
  duration. No currency is assumed.
* Every input is validated. Bad input raises :class:`PrioritisationError` (a ``ValueError``) whose ``field``
  names the offending field and whose ``item_id`` names the row, e.g. ``"duration_weeks must be > 0 (item 42)"``.
  Booleans, strings, NaN and infinities are never accepted as numbers; ``decimal.Decimal`` is (the app stores money
  as decimals).
* A ranking returns every item it was given, exactly once. Higher scores rank first in every framework. Equal
  scores are broken by id ascending (integer ids numerically, before string ids, strings lexicographically), so
  the order is total and reproducible. Duplicate ids are rejected rather than guessed at.
* The scalar functions (``cd3``, ``rice``...) and the vectorised ``*_batch`` functions compute the same numbers;
  the batch functions exist to score and rank 100,000 items in milliseconds.
* Scores are never rounded here; rounding is a presentation concern.

Sources
-------
* Cost of Delay and CD3: Donald G. Reinertsen, *The Principles of Product Development Flow* (2009), ch. 2 and the
  weighted-shortest-job-first principle (F16); Joshua J. Arnold, Black Swan Farming, "Cost of Delay Divided by
  Duration" and "Urgency Profiles" (blackswanfarming.com). CD3 is WSJF weighted by Cost of Delay.
* Urgency classes expedite / fixed date / standard / intangible: the Kanban classes of service (David J. Anderson,
  *Kanban*, 2010), which Black Swan Farming maps onto Cost of Delay urgency profiles.
* WSJF: Scaled Agile Framework (SAFe), "WSJF": CoD = user-business value + time criticality + risk reduction and/or
  opportunity enablement, each estimated relative to the smallest item (which gets 1) on the modified Fibonacci
  scale 1, 2, 3, 5, 8, 13, 20, 40, 100; WSJF = CoD / job size.
* RICE: Sean McBride, "RICE: Simple prioritization for product managers", Intercom blog (2016). Impact on the scale
  3 / 2 / 1 / 0.5 / 0.25; confidence 100 / 80 / 50 %; effort in person-months; score = R x I x C / E.
* ICE: Sean Ellis (GrowthHackers): impact, confidence, ease, each 1-10; published both as the average and as the
  product of the three, so both are offered.
* Kano: N. Kano et al. (1984); evaluation table and better/worse ("customer satisfaction") coefficients from
  Berger et al., "Kano's methods for understanding customer-defined quality", Center for Quality of Management
  Journal 2(4), 1993.
* Opportunity score: Anthony W. Ulwick, *What Customers Want* (2005) and "Turn customer input into innovation",
  HBR (2002): opportunity = importance + max(importance - satisfaction, 0), importance and satisfaction being the
  share of respondents rating 4 or 5 on a 1-5 scale, times 10.

Modules
-------
One module per framework, re-exported here so that ``from valueloop.engines.prioritisation import cd3`` keeps
working: :mod:`.base` (errors, number and id checks), :mod:`.cost_of_delay`, :mod:`.urgency` (urgency profiles),
:mod:`.cd3`, :mod:`.wsjf`, :mod:`.rice`, :mod:`.ice`, :mod:`.kano`, :mod:`.opportunity` and :mod:`.ranking`. Custom
scoring formulas are compiled and evaluated by :mod:`valueloop.engines.formula` and ranked with :func:`rank_scores`.
"""

from .base import EngineInputError, ItemId, PrioritisationError
from .cd3 import Cd3Batch, Cd3Result, DurationRange, cd3, cd3_batch, duration_range
from .cost_of_delay import CodComponent, CodLine, CodLineInput, CostOfDelay, cost_of_delay
from .ice import IceMethod, IceResult, ice, ice_batch
from .kano import (
    KANO_TABLE,
    KanoAnswer,
    KanoCategory,
    KanoResult,
    kano_classify,
    kano_classify_batch,
    kano_feature,
    kano_summary_from_counts,
)
from .opportunity import (
    OpportunityBand,
    OpportunityBatch,
    OpportunityResult,
    opportunity,
    opportunity_batch,
    top_two_box,
)
from .ranking import FRAMEWORK_FIELDS, BatchRanking, Framework, RankedItem, rank, rank_batch, rank_scores
from .rice import RICE_CONFIDENCE, RICE_IMPACT, RiceResult, rice, rice_batch
from .urgency import (
    Expedite,
    FixedDate,
    Intangible,
    LongLifePeakAffected,
    ShortLifePeakAffected,
    Standard,
    UrgencyProfile,
    make_profile,
)
from .wsjf import FIBONACCI_SCALE, WsjfBatch, WsjfInput, WsjfResult, snap_to_scale, wsjf, wsjf_batch, wsjf_score

__all__ = [
    "FIBONACCI_SCALE",
    "FRAMEWORK_FIELDS",
    "KANO_TABLE",
    "RICE_CONFIDENCE",
    "RICE_IMPACT",
    "BatchRanking",
    "Cd3Batch",
    "Cd3Result",
    "CodComponent",
    "CodLine",
    "CodLineInput",
    "CostOfDelay",
    "DurationRange",
    "EngineInputError",
    "Expedite",
    "FixedDate",
    "Framework",
    "IceMethod",
    "IceResult",
    "Intangible",
    "ItemId",
    "KanoAnswer",
    "KanoCategory",
    "KanoResult",
    "LongLifePeakAffected",
    "OpportunityBand",
    "OpportunityBatch",
    "OpportunityResult",
    "PrioritisationError",
    "RankedItem",
    "RiceResult",
    "ShortLifePeakAffected",
    "Standard",
    "UrgencyProfile",
    "WsjfBatch",
    "WsjfInput",
    "WsjfResult",
    "cd3",
    "cd3_batch",
    "cost_of_delay",
    "duration_range",
    "ice",
    "ice_batch",
    "kano_classify",
    "kano_classify_batch",
    "kano_feature",
    "kano_summary_from_counts",
    "make_profile",
    "opportunity",
    "opportunity_batch",
    "rank",
    "rank_batch",
    "rank_scores",
    "rice",
    "rice_batch",
    "snap_to_scale",
    "top_two_box",
    "wsjf",
    "wsjf_batch",
    "wsjf_score",
]

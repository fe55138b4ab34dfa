"""Reads for planning: features, rankings, sequences, schedules, forecasts, the backlog.

Every query starts from the actor's workspace. Rankings load the open features' inputs in one
query as numpy columns (``scoring.Table``) and rank them with the engines' batch functions, so a
workspace of thousands of features ranks in milliseconds. Nothing here writes: the what-if panel
passes ``overrides`` that change a copy of the table, never the database. Selectors return the
database rows or small view objects; the API lays those out with the shape functions in
``planning.schemas``.

One module per idea, each re-exported here (``selectors.ranking(...)`` and ``from
valueloop.planning.selectors import ...`` keep working):

- ``features``: features, settings, score history, formulas, delivery items;
- ``table``: the open features as numpy columns, and what-if overrides of them;
- ``rankings``: rankings under a framework or a formula, their rows, the what-if;
- ``sequencing``: delay cost of work orders, teams and the CD3 team schedule;
- ``backlog``: the product owner's backlog order and its hand moves;
- ``forecast``: throughput history and Monte Carlo forecasts;
- ``surveys``: Kano results and outcome (opportunity) scores;
- ``prioritisation``: one feature's prioritisation inputs and the Cost of Delay suggestion.
"""

from .backlog import BacklogRow, backlog_list, backlog_moves, backlog_order, backlog_page, backlog_rows
from .features import (
    access_delivery_item,
    access_feature,
    access_formula,
    delivery_item_list,
    feature_list,
    feature_ref,
    formula_list,
    score_history,
    settings_get,
    today_for,
)
from .forecast import (
    ForecastView,
    access_throughput,
    forecast_how_many,
    forecast_when,
    remaining_items,
    throughput_history,
    throughput_list,
    week_start,
)
from .prioritisation import AT_RISK_SHARE, PrioritisationView, cod_suggestion, prioritisation_get
from .rankings import (
    FRAMEWORK_NAMES,
    RankingView,
    RankRow,
    formula_error_message,
    ranking,
    ranking_page,
    ranking_rows,
    row_for,
    whatif,
)
from .sequencing import (
    SEQUENCE_EXTRA,
    ScheduleView,
    SequenceView,
    access_team,
    cents,
    order_total,
    sequence_comparison,
    team_list,
    team_schedule,
)
from .surveys import KANO_LABELS, KanoRow, access_problem, kano_by_feature, kano_results, outcome_get, outcome_list
from .table import DB_NUMERIC, FRAMEWORK_COLUMNS, Override, apply_overrides, load_table

__all__ = [
    "AT_RISK_SHARE",
    "DB_NUMERIC",
    "FRAMEWORK_COLUMNS",
    "FRAMEWORK_NAMES",
    "KANO_LABELS",
    "SEQUENCE_EXTRA",
    "BacklogRow",
    "ForecastView",
    "KanoRow",
    "Override",
    "PrioritisationView",
    "RankRow",
    "RankingView",
    "ScheduleView",
    "SequenceView",
    "access_delivery_item",
    "access_feature",
    "access_formula",
    "access_problem",
    "access_team",
    "access_throughput",
    "apply_overrides",
    "backlog_list",
    "backlog_moves",
    "backlog_order",
    "backlog_page",
    "backlog_rows",
    "cents",
    "cod_suggestion",
    "delivery_item_list",
    "feature_list",
    "feature_ref",
    "forecast_how_many",
    "forecast_when",
    "formula_error_message",
    "formula_list",
    "kano_by_feature",
    "kano_results",
    "load_table",
    "order_total",
    "outcome_get",
    "outcome_list",
    "prioritisation_get",
    "ranking",
    "ranking_page",
    "ranking_rows",
    "remaining_items",
    "row_for",
    "score_history",
    "sequence_comparison",
    "settings_get",
    "team_list",
    "team_schedule",
    "throughput_history",
    "throughput_list",
    "today_for",
    "week_start",
    "whatif",
]

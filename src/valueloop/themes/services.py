"""Writes for themes that people make: rename, pin, merge, split, move items, turn a theme into a
problem (or link it to one), ask for a re-clustering, and the weekly digest.

Invariants:
- Every write runs in one transaction under the workspace's theme lock (``ThemeState``), bumps the
  workspace's theme revision (so a re-clustering computed meanwhile is computed again rather than
  swapped over the edit) and writes its audit record(s) in the same transaction.
- Edits by people are what re-clusterings keep: a rename sets ``name_set_by_pm``; moving, merging
  and splitting mark the items ``placed_by="pm"``; a merged theme stays merged (its items belong to
  the target as PM-placed items); pinning keeps every item of the theme where it is.
- Theme edits carry ``version``: an edit against an old version is refused (Conflict). A split is
  applied only if the theme still splits as the preview showed (``token``).
- Turning a theme into a problem is all-or-nothing: the problem, every evidence link and the
  theme's link to the problem are written together or not at all.
- The weekly digest is recorded once per workspace and ISO week (a unique constraint), and its
  emails leave only after that record commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from valueloop.collaboration import facade as collaboration_facade
from valueloop.core.audit import audit_record
from valueloop.core.errors import Conflict, Invalid, NotFound
from valueloop.core.permissions import Role, Scope
from valueloop.core.services import check_version
from valueloop.core.tenancy import Actor

from . import runs, selectors
from .models import ItemEmbedding, Theme, ThemeAssignment, ThemeDigest

logger = logging.getLogger(__name__)

# Curating themes shapes what the team believes customers need: product managers and owners.
WRITE_SCOPE = Scope.PORTFOLIO_WRITE
MAX_NAME = 120
MIN_SPLIT_ITEMS = 4
DIGEST_ROLES = (Role.ADMIN.value, Role.PRODUCT_MANAGER.value)
ARR_GREW_FACTOR = Decimal("1.25")


def _audit(actor: Actor, theme: Theme, action: str, changes: dict) -> None:
    audit_record(
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="theme",
        entity_id=theme.pk,
        entity_label=theme.name,
        action=action,
        changes=changes,
    )


def _editable(actor: Actor, theme_id: int, expected_version: int | None = None) -> Theme:
    theme = selectors.access_theme(actor=actor, id=theme_id, scope=WRITE_SCOPE, for_update=True)
    check_version(theme, expected_version)
    if theme.status != "active":
        raise Invalid(
            f"“{theme.name}” is {theme.get_status_display().lower()}; only active themes can be changed.",
            fields={"theme_id": "Not an active theme."},
        )
    return theme


def _save(theme: Theme, fields: list[str], *, bump: bool = True) -> None:
    if bump:
        theme.version += 1
        fields = [*fields, "version"]
    theme.updated_at = timezone.now()
    theme.save(update_fields=[*fields, "updated_at"])


# --- rename and pin ------------------------------------------------------------------------------


@transaction.atomic
def theme_update(
    *,
    actor: Actor,
    theme_id: int,
    expected_version: int | None = None,
    name: str | None = None,
    pinned: bool | None = None,
) -> Theme:
    """Rename (an empty name gives the theme back its automatic name) and/or pin a theme."""
    runs.state_for(actor.workspace, lock=True)
    theme = _editable(actor, theme_id, expected_version)
    changes: dict[str, list] = {}
    fields: list[str] = []
    if name is not None:
        name = " ".join(str(name).replace("\x00", "").split())
        if len(name) > MAX_NAME:
            raise Invalid(f"A theme name is at most {MAX_NAME} characters.", fields={"name": "Too long."})
        if name:
            new_name, by_pm = name, True
        else:
            from valueloop.engines import themes as engine

            new_name, by_pm = engine.theme_name(theme.keyphrases or [])[:MAX_NAME], False
        if new_name != theme.name or by_pm != theme.name_set_by_pm:
            changes["name"] = [theme.name, new_name]
            theme.name, theme.name_set_by_pm = new_name, by_pm
            fields += ["name", "name_set_by_pm"]
    if pinned is not None and bool(pinned) != theme.pinned:
        changes["pinned"] = [theme.pinned, bool(pinned)]
        theme.pinned = bool(pinned)
        fields.append("pinned")
    if fields:
        _save(theme, fields)
        runs.bump_revision(actor.workspace)
        _audit(actor, theme, "updated", changes)
    return theme


def theme_rename(*, actor: Actor, theme_id: int, name: str, expected_version: int | None = None) -> Theme:
    return theme_update(actor=actor, theme_id=theme_id, name=name, expected_version=expected_version)


def theme_pin(*, actor: Actor, theme_id: int, pinned: bool, expected_version: int | None = None) -> Theme:
    return theme_update(actor=actor, theme_id=theme_id, pinned=pinned, expected_version=expected_version)


# --- merge ---------------------------------------------------------------------------------------


def _merged_phrases(first: list[str], second: list[str], top: int = 5) -> list[str]:
    out: list[str] = []
    for pair in zip(first + [""] * len(second), second + [""] * len(first), strict=False):
        for phrase in pair:
            if phrase and phrase not in out:
                out.append(phrase)
    return out[:top]


@transaction.atomic
def theme_merge(*, actor: Actor, theme_id: int, into_id: int, expected_version: int | None = None) -> Theme:
    """Merge theme ``theme_id`` into ``into_id``: its items move (as PM-placed items) and it is kept as
    "merged" pointing at the target. Returns the target."""
    runs.state_for(actor.workspace, lock=True)
    if int(theme_id) == int(into_id):
        raise Invalid("A theme cannot be merged into itself.", fields={"into_id": "Choose another theme."})
    source = _editable(actor, theme_id, expected_version)
    try:
        target = _editable(actor, into_id)
    except Invalid:
        raise Invalid("Merge into an active theme.", fields={"into_id": "Not an active theme."}) from None
    moved = ThemeAssignment.objects.filter(workspace=actor.workspace, theme=source).update(
        theme=target, placed_by="pm", assigned_at=timezone.now()
    )
    Theme.objects.filter(workspace=actor.workspace, merged_into=source).update(merged_into=target)
    source.status, source.merged_into, source.size, source.emerging = "merged", target, 0, False
    source.emerging_explanation = ""
    _save(source, ["status", "merged_into", "size", "emerging", "emerging_explanation"])
    target.keyphrases = _merged_phrases(list(target.keyphrases or []), list(source.keyphrases or []))
    target.representatives = list(target.representatives or [])[:2] + list(source.representatives or [])[:1]
    fields = ["keyphrases", "representatives"]
    if target.problem_id is None and source.problem_id is not None:
        target.problem_id = source.problem_id
        fields.append("problem")
    _save(target, fields, bump=False)
    runs.recompute_centroids(actor.workspace, [target.pk])
    runs.refresh_sizes(actor.workspace, [target.pk])
    runs.bump_revision(actor.workspace)
    _audit(actor, source, "merged", {"merged_into": [None, target.pk], "items": [None, moved]})
    _audit(actor, target, "merged_in", {"from_theme": [None, source.pk], "items": [None, moved]})
    transaction.on_commit(lambda: _refresh_emerging_quietly(actor.workspace))
    target.refresh_from_db()
    return target


def _refresh_emerging_quietly(workspace) -> None:
    try:
        runs.refresh_emerging(workspace)
    except Exception:  # flags refresh again on the next run; an edit must not fail for them
        logger.exception("themes: emerging refresh after an edit failed for workspace %s", workspace.pk)


# --- split ---------------------------------------------------------------------------------------


@dataclass
class SplitPart:
    index: int
    size: int
    keyphrases: list[str]
    name: str
    quotes: list
    item_ids: list[int]


@dataclass
class SplitPreview:
    theme: Theme
    parts: list[SplitPart]
    token: str


def _split(actor: Actor, theme: Theme) -> SplitPreview:
    from valueloop.engines import themes as engine

    rows = list(
        ItemEmbedding.objects.filter(workspace=actor.workspace, assignment__theme=theme, skip_reason="")
        .exclude(dimension=0)
        .order_by("id")
        .values_list("id", "vector", "dimension")
    )
    dims = {d for _, _, d in rows}
    if len(rows) < MIN_SPLIT_ITEMS or len(dims) != 1:
        raise Invalid(
            f"A theme needs at least {MIN_SPLIT_ITEMS} items to be split.", fields={"theme_id": "Too few items."}
        )
    ids = [pk for pk, _, _ in rows]
    matrix = np.vstack([runs.from_bytes(v, d) for _, v, d in rows])
    labels = np.asarray(engine.split(matrix, parts=2, seed=0), dtype=np.int64)
    if len(set(labels.tolist())) < 2:
        raise Invalid("Its items are too alike to split in two.", fields={"theme_id": "No clear split."})
    texts = runs._texts_for(ids)
    phrases = engine.keyphrases([texts.get(pk, "") for pk in ids], labels)
    centroids = np.vstack([runs._normalise(matrix[labels == p].sum(axis=0)) for p in (0, 1)])
    reps = engine.representatives(matrix, labels, centroids)
    items = {i.pk: i for i in selectors._items_query(actor).filter(pk__in=[ids[i] for r in reps.values() for i in r])}
    parts = []
    for p in (0, 1):
        kp = [str(x) for x in phrases.get(p, [])]
        members = [pk for pk, lab in zip(ids, labels, strict=True) if lab == p]
        parts.append(
            SplitPart(
                index=p,
                size=len(members),
                keyphrases=kp,
                name=engine.theme_name(kp)[:MAX_NAME],
                quotes=[selectors._quote(actor, items[ids[i]]) for i in reps.get(p, []) if ids[i] in items],
                item_ids=members,
            )
        )
    # Exact duplicates follow their originals: count them in the part they will join.
    followers = Counter(
        ItemEmbedding.objects.filter(
            workspace=actor.workspace, assignment__theme=theme, skip_reason="duplicate", duplicate_of_id__in=ids
        ).values_list("duplicate_of_id", flat=True)
    )
    for part in parts:
        part.size += sum(followers.get(pk, 0) for pk in part.item_ids)
    parts.sort(key=lambda part: -part.size)  # the larger part stays in the theme
    digest = hashlib.sha256(repr((theme.pk, theme.version, [part.item_ids for part in parts])).encode()).hexdigest()[
        :32
    ]
    return SplitPreview(theme, parts, digest)


def theme_split_preview(*, actor: Actor, theme_id: int) -> SplitPreview:
    theme = selectors.access_theme(actor=actor, id=theme_id, scope=WRITE_SCOPE)
    if theme.status != "active":
        raise Invalid("Only active themes can be split.", fields={"theme_id": "Not an active theme."})
    return _split(actor, theme)


@transaction.atomic
def theme_split(*, actor: Actor, theme_id: int, token: str, expected_version: int | None = None) -> tuple[Theme, Theme]:
    """Apply the split the preview showed: the larger part stays, the other becomes a new theme; both
    parts' items become PM-placed so that re-clusterings keep the split."""
    runs.state_for(actor.workspace, lock=True)
    theme = _editable(actor, theme_id, expected_version)
    preview = _split(actor, theme)
    if not token or token != preview.token:
        raise Conflict(
            "The theme changed since the split was proposed. Look at the new proposal before applying it.",
            code="stale_split",
        )
    keep, other = preview.parts
    now = timezone.now()
    new = Theme.objects.create(
        workspace=actor.workspace,
        name=other.name,
        keyphrases=other.keyphrases,
        representatives=[q.item_id for q in other.quotes],
        backend=theme.backend,
    )
    ThemeAssignment.objects.filter(workspace=actor.workspace, item_id__in=other.item_ids).update(
        theme=new, placed_by="pm", assigned_at=now
    )
    # Duplicates follow their originals.
    ThemeAssignment.objects.filter(
        workspace=actor.workspace, theme=theme, item__duplicate_of_id__in=other.item_ids
    ).update(theme=new, placed_by="pm", assigned_at=now)
    ThemeAssignment.objects.filter(workspace=actor.workspace, theme=theme).update(placed_by="pm")
    theme.keyphrases = keep.keyphrases
    theme.representatives = [q.item_id for q in keep.quotes]
    fields = ["keyphrases", "representatives"]
    if not theme.name_set_by_pm:
        theme.name = keep.name
        fields.append("name")
    _save(theme, fields)
    runs.recompute_centroids(actor.workspace, [theme.pk, new.pk])
    runs.refresh_sizes(actor.workspace, [theme.pk, new.pk])
    runs.bump_revision(actor.workspace)
    _audit(actor, theme, "split", {"new_theme": [None, new.pk], "items_moved": [None, other.size]})
    _audit(actor, new, "created", {"split_from": [None, theme.pk], "items": [None, other.size]})
    transaction.on_commit(lambda: _refresh_emerging_quietly(actor.workspace))
    theme.refresh_from_db()
    new.refresh_from_db()
    return theme, new


# --- move an item --------------------------------------------------------------------------------


MAX_MOVE = 500


@transaction.atomic
def items_move(*, actor: Actor, item_ids: list[int], theme_id: int) -> list[ThemeAssignment]:
    """Put items in a theme by hand (they stay there through re-clusterings); all or nothing."""
    runs.state_for(actor.workspace, lock=True)
    actor.require(WRITE_SCOPE)
    ids = list(dict.fromkeys(int(i) for i in item_ids))
    if not ids:
        raise Invalid("Select at least one item.", fields={"item_ids": "Nothing selected."})
    if len(ids) > MAX_MOVE:
        raise Invalid(f"At most {MAX_MOVE} items at once.", fields={"item_ids": f"{len(ids)} selected."})
    items = [selectors.access_item(actor=actor, id=pk, scope=WRITE_SCOPE) for pk in ids]
    try:
        target = _editable(actor, theme_id)
    except (Invalid, NotFound):
        raise Invalid("Move it to an active theme of this workspace.", fields={"theme_id": "Unknown theme."}) from None
    centroid = None
    now = timezone.now()
    touched = {target.pk}
    out = []
    for item in items:
        if item.skip_reason not in ("", "duplicate") or not item.dimension:
            raise Invalid(
                f"Item {item.pk} is not grouped into themes ({item.skip_reason or 'not embedded yet'}).",
                fields={"item_ids": "Skipped item."},
            )
        if centroid is None and target.centroid and len(bytes(target.centroid)) == 4 * item.dimension:
            centroid = runs.from_bytes(target.centroid, item.dimension)
        similarity = (
            float(np.dot(runs.from_bytes(item.vector, item.dimension), centroid)) if centroid is not None else 0.0
        )
        assignment = getattr(item, "assignment", None)
        before = assignment.theme_id if assignment else None
        if assignment is None:
            assignment = ThemeAssignment.objects.create(
                workspace=actor.workspace,
                item=item,
                theme=target,
                similarity=similarity,
                placed_by="pm",
                assigned_at=now,
            )
        else:
            touched.add(assignment.theme_id)
            assignment.theme, assignment.similarity, assignment.placed_by = target, similarity, "pm"
            assignment.assigned_at = now
            assignment.save(update_fields=["theme", "similarity", "placed_by", "assigned_at"])
        _audit(actor, target, "item_moved", {"item": [None, item.pk], "from_theme": [None, before]})
        out.append(assignment)
    runs.recompute_centroids(actor.workspace, sorted(touched))
    runs.refresh_sizes(actor.workspace, sorted(touched))
    runs.bump_revision(actor.workspace)
    return out


def _describe(actor: Actor, theme: Theme, contrast: int = 600) -> dict:
    """Keyphrases (distinctive against a sample of the other themes' items) and representatives of a
    theme built by hand; the next re-clustering recomputes both with everything."""
    from valueloop.engines import themes as engine

    mine = list(
        ItemEmbedding.objects.filter(workspace=actor.workspace, assignment__theme=theme)
        .exclude(dimension=0)
        .values_list("id", "vector", "dimension")
    )
    others = list(
        ThemeAssignment.objects.filter(workspace=actor.workspace, theme__status="active")
        .exclude(theme=theme)
        .order_by("-item_id")
        .values_list("item_id", flat=True)[:contrast]
    )
    if not mine:
        return {}
    ids = [pk for pk, _, _ in mine]
    texts = runs._texts_for(ids + others)
    labels = np.array([0] * len(ids) + [1] * len(others))
    phrases = [str(x) for x in engine.keyphrases([texts.get(pk, "") for pk in ids + others], labels).get(0, [])]
    dims = {d for _, _, d in mine}
    reps: list[int] = []
    if len(dims) == 1:
        matrix = np.vstack([runs.from_bytes(v, d) for _, v, d in mine])
        centroid = runs._normalise(matrix.sum(axis=0))[None, :]
        reps = [ids[i] for i in engine.representatives(matrix, np.zeros(len(ids), dtype=np.int64), centroid).get(0, [])]
    return {"keyphrases": phrases, "representatives": reps}


@transaction.atomic
def theme_create(*, actor: Actor, name: str, item_ids: list[int]) -> Theme:
    """A new theme, named by a person, made of these items (moved into it as PM-placed items)."""
    actor.require(WRITE_SCOPE)
    runs.state_for(actor.workspace, lock=True)
    name = " ".join(str(name or "").replace("\x00", "").split())
    if not name:
        raise Invalid("Name the new theme.", fields={"name": "This field is required."})
    if len(name) > MAX_NAME:
        raise Invalid(f"A theme name is at most {MAX_NAME} characters.", fields={"name": "Too long."})
    if not item_ids:
        raise Invalid("Select the items of the new theme.", fields={"item_ids": "Nothing selected."})
    theme = Theme.objects.create(workspace=actor.workspace, name=name, name_set_by_pm=True)
    items_move(actor=actor, item_ids=item_ids, theme_id=theme.pk)
    backend = (
        ItemEmbedding.objects.filter(workspace=actor.workspace, assignment__theme=theme)
        .values_list("backend", flat=True)
        .first()
    )
    Theme.objects.filter(pk=theme.pk).update(backend=backend or "", **_describe(actor, theme))
    _audit(actor, theme, "created", {"name": [None, name], "items": [None, len(item_ids)]})
    theme.refresh_from_db()
    return theme


def item_move(*, actor: Actor, item_id: int, theme_id: int) -> ThemeAssignment:
    """Put one item in a theme by hand (it stays there through re-clusterings)."""
    return items_move(actor=actor, item_ids=[item_id], theme_id=theme_id)[0]


# --- problems ------------------------------------------------------------------------------------


@dataclass
class ProblemLink:
    problem: object
    created: bool
    linked: int  # evidence links created
    already: int  # items that were evidence for it already
    not_linked: int  # interview highlights that can no longer be evidence (consent withdrawn, detached)


def _link_items(actor: Actor, theme: Theme, problem_id: int) -> tuple[int, int, int]:
    from valueloop.core.errors import Invalid as InvalidError
    from valueloop.evidence import facade as evidence

    rows = list(
        ThemeAssignment.objects.filter(workspace=actor.workspace, theme=theme).values_list(
            "item__feedback_id", "item__highlight_id"
        )
    )
    feedback_ids = [f for f, _ in rows if f]
    linked = (
        evidence.evidence_link_feedback_many(
            actor=actor, target_type="problem", target_id=problem_id, feedback_ids=feedback_ids
        )
        if feedback_ids
        else 0
    )
    already = len(feedback_ids) - linked
    not_linked = 0
    for _, highlight_id in rows:
        if not highlight_id:
            continue
        try:
            if evidence.evidence_link_highlight(
                actor=actor, target_type="problem", target_id=problem_id, highlight_id=highlight_id
            ):
                linked += 1
            else:
                already += 1
        except InvalidError:
            not_linked += 1
    return linked, already, not_linked


def _problem_description(actor: Actor, theme: Theme) -> str:
    quotes = selectors.representative_quotes(actor=actor, theme=theme)
    lines = [f"Found by Valueloop in the feedback theme “{theme.name}”."]
    if theme.keyphrases:
        lines.append("Keyphrases: " + ", ".join(theme.keyphrases) + ".")
    if quotes:
        lines.append("")
        lines += [f"> {q.text}" + (f" ({q.customer_name})" if q.customer_name else "") for q in quotes]
    return "\n".join(lines)[:50000]


@transaction.atomic
def theme_create_problem(*, actor: Actor, theme_id: int, title: str = "", description: str = "") -> ProblemLink:
    """One click: a problem named after the theme, with every item of the theme as its evidence."""
    from valueloop.discovery import facade as discovery

    actor.require(WRITE_SCOPE)
    runs.state_for(actor.workspace, lock=True)
    theme = _editable(actor, theme_id)
    if theme.problem_id:
        raise Conflict(
            f"This theme already became the problem “{theme.problem}”. Link it to another problem instead.",
            code="already_linked",
        )
    title = " ".join((title or theme.name).split())[:200]
    problem = discovery.problem_create(
        actor=actor, title=title, description=description or _problem_description(actor, theme)
    )
    linked, already, not_linked = _link_items(actor, theme, problem.pk)
    theme.problem = problem
    _save(theme, ["problem"])
    _audit(actor, theme, "problem_created", {"problem": [None, problem.pk], "evidence": [None, linked]})
    return ProblemLink(problem, True, linked, already, not_linked)


@transaction.atomic
def theme_link_problem(*, actor: Actor, theme_id: int, problem_id: int) -> ProblemLink:
    """Link the theme to an existing problem: its items become evidence (those already linked are kept)."""
    from valueloop.discovery import facade as discovery

    actor.require(WRITE_SCOPE)
    runs.state_for(actor.workspace, lock=True)
    theme = _editable(actor, theme_id)
    try:
        problem = discovery.access_problem(actor=actor, id=problem_id, scope=WRITE_SCOPE)
    except NotFound:
        raise Invalid("No such problem in this workspace.", fields={"problem_id": "Unknown problem."}) from None
    linked, already, not_linked = _link_items(actor, theme, problem.pk)
    before = theme.problem_id
    theme.problem = problem
    _save(theme, ["problem"])
    _audit(actor, theme, "problem_linked", {"problem": [before, problem.pk], "evidence": [None, linked]})
    return ProblemLink(problem, False, linked, already, not_linked)


# --- re-clustering by hand -----------------------------------------------------------------------


@transaction.atomic
def recluster_request(*, actor: Actor) -> None:
    """Queue a re-clustering of the workspace (runs in the background once this commits)."""
    actor.require(WRITE_SCOPE)
    running = selectors.running_recluster(actor=actor)
    if running is not None and running.started_at > timezone.now() - dt.timedelta(minutes=15):
        raise Conflict("A re-clustering is already running; its result appears here when it finishes.", code="running")
    state = runs.state_for(actor.workspace, lock=True)
    state.next_recluster_at = timezone.now()
    state.save(update_fields=["next_recluster_at"])
    audit_record(
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="theme",
        entity_id=None,
        entity_label="themes",
        action="recluster_requested",
        changes={},
    )
    from .tasks import recluster_task

    workspace_id = actor.workspace.pk
    user_id = getattr(actor.user, "pk", None)
    transaction.on_commit(lambda: recluster_task.enqueue(workspace_id, trigger="manual", user_id=user_id))


# --- weekly digest -------------------------------------------------------------------------------


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def system_actor(workspace) -> Actor:
    return Actor(user=None, workspace=workspace, role=Role.ADMIN, via="system")


def digest_content(workspace, *, today: dt.date | None = None) -> dict:
    """What this week's digest says: emerging themes, and themes whose revenue weight grew (the ARR of
    the accounts that mentioned them in the last four weeks against the four weeks before)."""
    actor = system_actor(workspace)
    tz = runs.workspace_tz(workspace)
    today = today or timezone.now().astimezone(tz).date()
    base = settings.VALUELOOP_PUBLIC_URL.rstrip("/")
    slug = workspace.slug
    money = runs.money_formatter(workspace)
    emerging = [
        {
            "id": row.theme.pk,
            "name": row.theme.name,
            "explanation": row.theme.emerging_explanation,
            "url": base + reverse("themes:theme_detail", args=[slug, row.theme.pk]),
        }
        for row in selectors.emerging_themes(actor=actor)
    ]
    grew = []
    for row in selectors.theme_list(actor=actor, sort="arr"):
        m = row.metrics
        if m.recent_arr > 0 and m.recent_arr >= m.previous_arr * ARR_GREW_FACTOR and m.recent_arr > m.previous_arr:
            grew.append(
                {
                    "id": row.theme.pk,
                    "name": row.theme.name,
                    "recent_arr": float(m.recent_arr),
                    "previous_arr": float(m.previous_arr),
                    "text": f"{money(m.recent_arr)} ARR behind its mentions in the last "
                    f"{selectors.TREND_DAYS} days, up from {money(m.previous_arr)}",
                    "url": base + reverse("themes:theme_detail", args=[slug, row.theme.pk]),
                }
            )
    grew.sort(key=lambda g: -(g["recent_arr"] - g["previous_arr"]))
    return {
        "week": iso_week(today),
        "emerging": emerging,
        "grew": grew[:10],
        "signals_url": base + reverse("themes:emerging", args=[slug]),
        "themes_url": base + reverse("themes:theme_list", args=[slug]),
    }


def digest_text(workspace, content: dict) -> tuple[str, str]:
    subject = f"{workspace.name}: themes to watch, week {content['week']}"
    lines = [f"Themes to watch in {workspace.name} ({content['week']}).", ""]
    if content["emerging"]:
        lines.append("Emerging themes:")
        lines += [f"- {e['name']}: {e['explanation']}\n  {e['url']}" for e in content["emerging"]]
        lines.append("")
    if content["grew"]:
        lines.append("Themes whose revenue weight grew:")
        lines += [f"- {g['name']}: {g['text']}\n  {g['url']}" for g in content["grew"]]
        lines.append("")
    if not content["emerging"] and not content["grew"]:
        lines += ["Nothing stood out this week.", ""]
    lines.append(f"All signals: {content['signals_url']}")
    return subject, "\n".join(lines)


def _digest_readers(workspace) -> list[tuple[int, str]]:
    """(user id, email) of the active admins and product managers of ``workspace``."""
    from valueloop.workspaces.models import Membership

    return sorted(
        set(
            Membership.objects.filter(workspace=workspace, role__in=DIGEST_ROLES, user__is_active=True).values_list(
                "user_id", "user__email"
            )
        )
    )


def digest_send(workspace, *, today: dt.date | None = None) -> ThemeDigest | None:
    """Record and send this ISO week's digest: once per workspace and week (None when it already
    exists). Emails go to admins and product managers only when there is something to say."""
    from valueloop.core.tasks import send_email_task

    tz = runs.workspace_tz(workspace)
    today = today or timezone.now().astimezone(tz).date()
    week = iso_week(today)
    if ThemeDigest.objects.filter(workspace=workspace, week=week).exists():
        return None
    content = digest_content(workspace, today=today)
    has_news = bool(content["emerging"] or content["grew"])
    readers = _digest_readers(workspace) if has_news else []
    recipients = sorted({email for _, email in readers if email})
    try:
        with transaction.atomic():
            digest = ThemeDigest.objects.create(
                workspace=workspace, week=week, content=content, recipients=len(recipients)
            )
            audit_record(
                actor=None,
                workspace=workspace,
                via="system",
                entity_type="theme_digest",
                entity_id=digest.pk,
                entity_label=f"Themes digest {week}",
                action="sent" if recipients else "recorded",
                changes={"emerging": [None, len(content["emerging"])], "grew": [None, len(content["grew"])]},
            )
            if readers:  # in-app: the notification opens the digest page
                collaboration_facade.notify_members(
                    workspace=workspace,
                    user_ids=[user_id for user_id, _ in readers],
                    kind="digest",
                    entity_type="theme_digest",
                    entity_id=digest.pk,
                    entity_label=f"the themes digest for {week}",
                )
            if recipients:
                subject, body = digest_text(workspace, content)
                for email in recipients:
                    transaction.on_commit(lambda email=email: send_email_task.enqueue(subject, body, [email]))
    except IntegrityError:  # another worker recorded this week's digest first
        return None
    return digest


def digest_send_now(*, actor: Actor) -> ThemeDigest | None:
    """The digest preview page's button: this week's digest unless it went out already."""
    actor.require(WRITE_SCOPE)
    return digest_send(actor.workspace)

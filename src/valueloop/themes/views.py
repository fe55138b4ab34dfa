"""Pages of themes: the list, a theme (with rename, pin, merge, split, move items, make a problem),
the split preview, skipped items, the weekly digest and the Signals page (emerging themes)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from valueloop.collaboration.facade import thread_context
from valueloop.core.charts import Series, bar_chart, sparkline
from valueloop.core.errors import DomainError, Invalid
from valueloop.core.pages import form_errors, workspace_page
from valueloop.core.permissions import Scope

from . import selectors, services
from .models import THEME_STATUS

WRITE = services.WRITE_SCOPE
LIST_PAGE_SIZE = 25
ITEMS_PAGE_SIZE = 25


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**62 else None


def _detail_url(actor, theme_id: int) -> str:
    return reverse("themes:theme_detail", args=[actor.workspace.slug, theme_id])


def _rows_with_sparks(rows, weeks_label: str = "12 weeks"):
    for row in rows:
        row.spark = sparkline(
            row.metrics.weekly, label=f"Mentions per week over the last {weeks_label}: {row.metrics.weekly}"
        )
    return rows


# --- list ----------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def theme_list_view(request):
    actor = request.actor
    q = request.GET.get("q", "").strip()[:200]
    status = request.GET.get("status", "active")
    status = status if status in dict(THEME_STATUS) else "active"
    sort = request.GET.get("sort", "volume")
    sort = sort if sort in selectors.SORTS else "volume"
    rows = selectors.theme_list(actor=actor, q=q, status=status, sort=sort)
    page = Paginator(rows, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    _rows_with_sparks(page.object_list)
    context = {
        "page": page,
        "q": q,
        "status": status,
        "sort": sort,
        "sorts": list(selectors.SORTS.items()),
        "statuses": THEME_STATUS,
        "overview": selectors.overview(actor=actor),
        "can_write": actor.can(WRITE),
        "currency": actor.workspace.currency,
        "ws": actor.workspace.slug,  # for the partial, rendered without the page's {% with %}
    }
    if request.htmx and request.htmx.target == "theme-results":
        return render(request, "themes/theme_list.html#results", context)
    return render(request, "themes/theme_list.html", context)


@workspace_page(WRITE)
@require_POST
def recluster_view(request):
    actor = request.actor
    try:
        services.recluster_request(actor=actor)
    except DomainError as exc:
        if exc.status == 403:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, "Re-clustering queued: the themes update when it finishes (usually seconds).")
    return redirect("themes:theme_list", actor.workspace.slug)


# --- one theme -----------------------------------------------------------------------------------


def _volume_chart(weeks):
    if not any(n for _, n, _ in weeks):
        return None
    return bar_chart(
        "Mentions per week",
        [w.strftime("%-d %b") for w, _, _ in weeks],
        [Series("Items", [n for _, n, _ in weeks]), Series("Unique accounts", [a for _, _, a in weeks])],
        y_label="per week",
        row_labels=[f"Week of {w:%Y-%m-%d}" for w, _, _ in weeks],
        table_head="Week",
        whole_numbers=True,
    )


def _problem_choices(actor) -> list[tuple[int, str]]:
    from valueloop.discovery.facade import problem_choices

    return problem_choices(actor.workspace)


def _detail_context(request, theme, *, errors=None, q: str = "") -> dict:
    actor = request.actor
    metrics = selectors.theme_metrics(actor=actor, theme_ids=[theme.pk])[theme.pk]
    items = selectors.theme_items(actor=actor, theme=theme, q=q)
    page = Paginator(items, ITEMS_PAGE_SIZE).get_page(request.GET.get("page"))
    can_write = actor.can(WRITE)
    context = {
        "theme": theme,
        "metrics": metrics,
        "spark": sparkline(metrics.weekly, label=f"Mentions per week over the last 12 weeks: {metrics.weekly}"),
        "quotes": selectors.representative_quotes(actor=actor, theme=theme),
        "chart": _volume_chart(selectors.weekly_volume(actor=actor, theme=theme)),
        "parts": selectors.theme_breakdowns(actor=actor, theme=theme),
        "page": page,
        "rows": selectors.quotes_for(actor, page.object_list),
        "q": q,
        "runs": selectors.run_list(actor=actor, limit=8),
        "can_write": can_write,
        "currency": actor.workspace.currency,
        "errors": errors or {},
        "merged_into": theme.merged_into if theme.merged_into_id else None,
        "ws": actor.workspace.slug,
    }
    if can_write:
        context["theme_choices"] = selectors.theme_choices(actor=actor, exclude=theme.pk)
        context["problem_choices"] = _problem_choices(actor)
    context.update(thread_context(actor=actor, entity_type="theme", entity_id=theme.pk))
    return context


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def theme_detail_view(request, theme_id: int):
    actor = request.actor
    theme = selectors.access_theme(actor=actor, id=theme_id)
    q = request.GET.get("q", "").strip()[:200]
    context = _detail_context(request, theme, q=q)
    if request.htmx and request.htmx.target == "theme-items":
        return render(request, "themes/theme_detail.html#items", context)
    return render(request, "themes/theme_detail.html", context)


def _apply(actor, theme, action: str, data) -> tuple[str, int]:
    """(notice, theme id to show afterwards)"""
    version = _int(data.get("version"))
    if action == "rename":
        updated = services.theme_rename(
            actor=actor, theme_id=theme.pk, name=data.get("name", ""), expected_version=version
        )
        return ("Renamed." if updated.name_set_by_pm else "Back to the automatic name."), theme.pk
    if action in ("pin", "unpin"):
        services.theme_pin(actor=actor, theme_id=theme.pk, pinned=action == "pin", expected_version=version)
        return ("Pinned: its items stay put when themes are recomputed." if action == "pin" else "Unpinned."), theme.pk
    if action == "merge":
        into = _int(data.get("into_id"))
        if into is None:
            raise Invalid("Choose the theme to merge into.", fields={"into_id": "Choose a theme."})
        target = services.theme_merge(actor=actor, theme_id=theme.pk, into_id=into, expected_version=version)
        return f"Merged into “{target.name}”.", target.pk
    if action == "problem":
        link = services.theme_create_problem(actor=actor, theme_id=theme.pk, title=data.get("title", ""))
        return _problem_notice(link), theme.pk
    if action == "link_problem":
        problem_id = _int(data.get("problem_id"))
        if problem_id is None:
            raise Invalid("Choose a problem.", fields={"problem_id": "Choose a problem."})
        link = services.theme_link_problem(actor=actor, theme_id=theme.pk, problem_id=problem_id)
        return _problem_notice(link), theme.pk
    if action == "move":
        ids = [_int(v) for v in data.getlist("item_ids")]
        if any(i is None for i in ids):
            raise Invalid("Some selected items are not valid.", fields={"item_ids": "Not an id."})
        if data.get("to_theme_id") == "new":
            created = services.theme_create(
                actor=actor, name=data.get("new_theme_name", ""), item_ids=[i for i in ids if i]
            )
            return f"Created the theme “{created.name}” with {created.size} items.", created.pk
        target = _int(data.get("to_theme_id"))
        if target is None:
            raise Invalid("Choose the theme to move them to.", fields={"to_theme_id": "Choose a theme."})
        moved = services.items_move(actor=actor, item_ids=[i for i in ids if i], theme_id=target)
        return f"Moved {len(moved)} item{'s' if len(moved) != 1 else ''}.", theme.pk
    raise Invalid("Unknown action.", fields={"action": "Unknown action."})


def _problem_notice(link) -> str:
    verb = "Created the problem" if link.created else "Linked to the problem"
    text = f"{verb} “{link.problem}” with {link.linked} new evidence link{'s' if link.linked != 1 else ''}"
    if link.already:
        text += f" ({link.already} already linked)"
    if link.not_linked:
        text += f"; {link.not_linked} interview highlight{'s' if link.not_linked != 1 else ''} could not be linked"
    return text + "."


@workspace_page(WRITE)
@require_POST
def theme_action_view(request, theme_id: int):
    actor = request.actor
    theme = selectors.access_theme(actor=actor, id=theme_id, scope=WRITE)
    try:
        with transaction.atomic():
            notice, show = _apply(actor, theme, request.POST.get("action", ""), request.POST)
    except DomainError as exc:
        if exc.status == 403:
            raise
        theme = selectors.access_theme(actor=actor, id=theme_id)
        context = _detail_context(request, theme, errors=form_errors(exc))
        return render(request, "themes/theme_detail.html", context, status=400)
    messages.success(request, notice)
    return redirect(_detail_url(actor, show))


@workspace_page(WRITE)
@require_http_methods(["GET", "POST"])
def theme_split_view(request, theme_id: int):
    actor = request.actor
    theme = selectors.access_theme(actor=actor, id=theme_id, scope=WRITE)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            kept, new = services.theme_split(
                actor=actor,
                theme_id=theme.pk,
                token=request.POST.get("token", "")[:64],
                expected_version=_int(request.POST.get("version")),
            )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
            theme = selectors.access_theme(actor=actor, id=theme_id)
        else:
            messages.success(request, f"Split: “{kept.name}” ({kept.size}) and “{new.name}” ({new.size}).")
            return redirect(_detail_url(actor, kept.pk))
    preview = None
    try:
        preview = services.theme_split_preview(actor=actor, theme_id=theme.pk)
    except DomainError as exc:
        if exc.status == 403:
            raise
        errors = errors or form_errors(exc)
    context = {"theme": theme, "preview": preview, "errors": errors}
    return render(request, "themes/split.html", context, status=400 if errors and request.method == "POST" else 200)


# --- skipped items, digest, signals --------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def skipped_view(request):
    actor = request.actor
    reason = request.GET.get("reason", "")[:120]
    page = Paginator(selectors.skipped_items(actor=actor, reason=reason), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": [(item, selectors._quote(actor, item, limit=300)) for item in page.object_list],
        "reason": reason,
        "overview": selectors.overview(actor=actor),
    }
    return render(request, "themes/skipped.html", context)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def digest_view(request):
    actor = request.actor
    if request.method == "POST":
        try:
            digest = services.digest_send_now(actor=actor)
        except DomainError as exc:
            if exc.status == 403:
                raise
            messages.error(request, exc.message)
        else:
            if digest is None:
                messages.info(request, "This week's digest was already sent; the next one goes out on Monday.")
            elif digest.recipients:
                messages.success(request, f"Sent this week's digest to {digest.recipients} people.")
            else:
                messages.info(request, "Nothing stood out this week, so no email was sent.")
        return redirect("themes:digest", actor.workspace.slug)
    context = {
        "digest": selectors.digest_preview(actor=actor),
        "history": selectors.digests(actor=actor),
        "can_write": actor.can(WRITE),
    }
    return render(request, "themes/digest.html", context)


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def emerging_view(request):
    actor = request.actor
    rows = _rows_with_sparks(selectors.emerging_themes(actor=actor), "14 weeks")
    for row in rows:
        row.mentions = selectors.recent_mentions(actor=actor, theme=row.theme, limit=8)
    context = {
        "rows": rows,
        "watch": selectors.watch_list(actor=actor),
        "overview": selectors.overview(actor=actor),
        "digests": selectors.digests(actor=actor, limit=1),
        "can_write": actor.can(WRITE),
        "currency": actor.workspace.currency,
        "window_days": 14,
    }
    return render(request, "themes/emerging.html", context)

"""Pages of themes: the list, a theme (with rename, pin, merge, split, move items, make a problem),
the split preview, skipped items, the weekly digest and the Signals page (emerging themes)."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from valueloop.collaboration.facade import thread_context
from valueloop.core.charts import Series, bar_chart, sparkline
from valueloop.core.errors import DomainError
from valueloop.core.pages import paginate_page, posted, workspace_page
from valueloop.core.permissions import Scope

from . import selectors, services
from .forms import (
    ItemFilterForm,
    LinkProblemForm,
    MergeForm,
    MoveForm,
    PinForm,
    ProblemForm,
    RenameForm,
    SkippedFilterForm,
    SplitForm,
    ThemeFilterForm,
)
from .models import THEME_STATUS

WRITE = services.WRITE_SCOPE
LIST_PAGE_SIZE = 25
ITEMS_PAGE_SIZE = 25


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
    filters = ThemeFilterForm(request.GET).values()
    q, status, sort = filters["q"], filters["status"], filters["sort"]
    rows = selectors.theme_list(actor=actor, q=q, status=status, sort=sort)
    page = paginate_page(request, rows, LIST_PAGE_SIZE)
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


CURATIONS = {
    "rename_form": RenameForm,
    "pin_form": PinForm,
    "merge_form": MergeForm,
    "problem_form": ProblemForm,
    "link_form": LinkProblemForm,
    "move_form": MoveForm,
}


def _detail_context(request, theme, *, failed=None, q: str = "") -> dict:
    """The theme page's context; ``failed``: the curation form that was just refused, shown with its errors in
    place of its blank one."""
    actor = request.actor
    metrics = selectors.theme_metrics(actor=actor, theme_ids=[theme.pk])[theme.pk]
    items = selectors.theme_items(actor=actor, theme=theme, q=q)
    page = paginate_page(request, items, ITEMS_PAGE_SIZE)
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
        "failed": failed,
        "merged_into": theme.merged_into if theme.merged_into_id else None,
        "ws": actor.workspace.slug,
    }
    if can_write:
        for name, form_class in CURATIONS.items():
            mine = isinstance(failed, form_class)
            context[name] = failed if mine else form_class(actor=actor, theme=theme)
    context.update(thread_context(actor=actor, entity_type="theme", entity_id=theme.pk))
    return context


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def theme_detail_view(request, theme_id: int):
    actor = request.actor
    theme = selectors.access_theme(actor=actor, id=theme_id)
    q = ItemFilterForm(request.GET).values()["q"]
    context = _detail_context(request, theme, q=q)
    if request.htmx and request.htmx.target == "theme-items":
        return render(request, "themes/theme_detail.html#items", context)
    return render(request, "themes/theme_detail.html", context)


def _problem_notice(link) -> str:
    verb = "Created the problem" if link.created else "Linked to the problem"
    text = f"{verb} “{link.problem}” with {link.linked} new evidence link{'s' if link.linked != 1 else ''}"
    if link.already:
        text += f" ({link.already} already linked)"
    if link.not_linked:
        text += f"; {link.not_linked} interview highlight{'s' if link.not_linked != 1 else ''} could not be linked"
    return text + "."


def _curate(request, theme_id: int, form_class, service=None, notice=None):
    """One curation form posted to its own URL: on success a notice and the theme page (or the theme the items went
    to); on failure the theme page with the form's errors in place (400)."""
    actor = request.actor
    theme = selectors.access_theme(actor=actor, id=theme_id, scope=WRITE)
    form = form_class(request.POST, actor=actor, theme=theme)
    if form_class is MoveForm:
        saved = form.move()
    else:
        saved = form.submit(service, theme_id=theme.pk)
        if saved:
            form.result = notice(form.result)
    if not saved:
        theme = selectors.access_theme(actor=actor, id=theme_id)
        return render(request, "themes/theme_detail.html", _detail_context(request, theme, failed=form), status=400)
    show, text = form.result
    messages.success(request, text)
    return redirect(_detail_url(actor, show))


@workspace_page(WRITE)
@require_POST
def theme_rename_view(request, theme_id: int):
    return _curate(
        request,
        theme_id,
        RenameForm,
        services.theme_rename,
        lambda t: (t.pk, "Renamed." if t.name_set_by_pm else "Back to the automatic name."),
    )


@workspace_page(WRITE)
@require_POST
def theme_pin_view(request, theme_id: int):
    return _curate(
        request,
        theme_id,
        PinForm,
        functools.partial(services.theme_pin, pinned=True),
        lambda t: (t.pk, "Pinned: its items stay put when themes are recomputed."),
    )


@workspace_page(WRITE)
@require_POST
def theme_unpin_view(request, theme_id: int):
    return _curate(
        request, theme_id, PinForm, functools.partial(services.theme_pin, pinned=False), lambda t: (t.pk, "Unpinned.")
    )


@workspace_page(WRITE)
@require_POST
def theme_merge_view(request, theme_id: int):
    return _curate(
        request, theme_id, MergeForm, services.theme_merge, lambda target: (target.pk, f"Merged into “{target.name}”.")
    )


@workspace_page(WRITE)
@require_POST
def theme_problem_view(request, theme_id: int):
    return _curate(
        request, theme_id, ProblemForm, services.theme_create_problem, lambda link: (theme_id, _problem_notice(link))
    )


@workspace_page(WRITE)
@require_POST
def theme_link_problem_view(request, theme_id: int):
    return _curate(
        request, theme_id, LinkProblemForm, services.theme_link_problem, lambda link: (theme_id, _problem_notice(link))
    )


@workspace_page(WRITE)
@require_POST
def theme_move_view(request, theme_id: int):
    return _curate(request, theme_id, MoveForm)


@workspace_page(WRITE)
@require_http_methods(["GET", "POST"])
def theme_split_view(request, theme_id: int):
    actor = request.actor
    theme = selectors.access_theme(actor=actor, id=theme_id, scope=WRITE)
    form = SplitForm(posted(request), actor=actor, theme=theme)
    if form.submit(services.theme_split, theme_id=theme.pk):
        kept, new = form.result
        messages.success(request, f"Split: “{kept.name}” ({kept.size}) and “{new.name}” ({new.size}).")
        return redirect(_detail_url(actor, kept.pk))
    if form.is_bound:
        theme = selectors.access_theme(actor=actor, id=theme_id)
    preview, errors = None, form.error_summary
    try:
        preview = services.theme_split_preview(actor=actor, theme_id=theme.pk)
    except DomainError as exc:
        if exc.status == 403:
            raise
        errors = errors or {"form": exc.message}
    context = {"theme": theme, "preview": preview, "errors": errors}
    return render(request, "themes/split.html", context, status=400 if form.errors else 200)


# --- skipped items, digest, signals --------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def skipped_view(request):
    actor = request.actor
    reason = SkippedFilterForm(request.GET).values()["reason"]
    page = paginate_page(request, selectors.skipped_items(actor=actor, reason=reason), 50)
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

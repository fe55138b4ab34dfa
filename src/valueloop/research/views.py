from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from valueloop.core import extensions
from valueloop.core.charts import Series, bar_chart
from valueloop.core.errors import DomainError
from valueloop.core.importing import reading
from valueloop.core.markdown import render_markdown
from valueloop.core.pages import form_errors, workspace_page
from valueloop.core.permissions import Scope

from . import anchoring, selectors, services
from .survey_import import MAX_BYTES, upload_limits

MAX_CONTACT_CHOICES = 1000


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _form(data) -> dict:
    return {
        "title": data.get("title", ""),
        "happened_on": data.get("happened_on", ""),
        "notes": data.get("notes", ""),
        "consent": data.get("consent") in ("1", "on", "true"),
        "customer_id": _int(data.get("customer_id")),
        "participant_ids": [i for i in (_int(v) for v in data.getlist("participant_ids")) if i],
    }


def _choices(actor) -> dict:
    customers, contacts = selectors.participant_choices(actor=actor, limit=MAX_CONTACT_CHOICES)
    return {"customers": customers, "contacts": contacts}


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def interview_list_view(request):
    actor = request.actor
    errors: dict = {}
    form = {
        "title": "",
        "happened_on": timezone.localdate().isoformat(),
        "notes": "",
        "consent": False,
        "customer_id": None,
        "participant_ids": [],
    }
    if request.method == "POST":
        form = _form(request.POST)
        try:
            interview = services.interview_create(actor=actor, **form)
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, f"Interview “{interview.title}” saved. Select text in the notes to highlight it.")
            return redirect("research:interview_detail", actor.workspace.slug, interview.pk)
    search = request.GET.get("q", "").strip()[:200]
    consent = {"yes": True, "no": False}.get(request.GET.get("consent", ""))
    interviews = selectors.interview_list(actor=actor, search=search, consent=consent)
    page = Paginator(interviews, 30).get_page(request.GET.get("page"))
    can_write = actor.can(services.WRITE_SCOPE)
    context = {
        "page": page,
        "search": search,
        "consent": request.GET.get("consent", ""),
        "errors": errors,
        "form": form,
        "can_write": can_write,
        "section": "customers",
        **(_choices(actor) if can_write else {}),
    }
    return render(request, "research/interview_list.html", context, status=400 if errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def interview_detail_view(request, interview_id: int):
    actor = request.actor
    interview = selectors.access_interview(actor=actor, id=interview_id)
    highlights = list(selectors.highlight_list(actor=actor, interview_id=interview.pk))
    attached = [(h.start, h.end) for h in highlights if not h.detached]
    # render_markdown sanitises with an allow-list; render_with_marks only adds <mark> around text runs.
    notes_html = mark_safe(anchoring.render_with_marks(interview.notes, attached, render_markdown))  # noqa: S308
    for h in highlights:
        h.quote = anchoring.plain_quote(h.text)
    context = {
        "interview": interview,
        "notes_html": notes_html,
        "highlights": highlights,
        "participants": selectors.interview_participants(interview),
        "can_write": actor.can(services.WRITE_SCOPE),
        "section": "customers",
        # Apps above research (evidence) add each highlight's links and the link form.
        **extensions.page_context("research.interview_page", actor=actor, interview=interview, highlights=highlights),
    }
    return render(request, "research/interview_detail.html", context)


@workspace_page(services.WRITE_SCOPE)
@require_http_methods(["GET", "HEAD", "POST"])
def interview_edit_view(request, interview_id: int):
    actor = request.actor
    interview = selectors.access_interview(actor=actor, id=interview_id, scope=services.WRITE_SCOPE)
    errors: dict = {}
    form = {
        "title": interview.title,
        "happened_on": interview.happened_on.isoformat(),
        "notes": interview.notes,
        "consent": interview.consent,
        "customer_id": interview.customer_id,
        "participant_ids": [c.pk for c in selectors.interview_participants(interview)],
    }
    if request.method == "POST":
        form = _form(request.POST)
        try:
            interview = services.interview_update(
                actor=actor, interview_id=interview.pk, expected_version=_int(request.POST.get("version")), **form
            )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            counts = getattr(interview, "reanchored", {}) or {}
            moved = counts.get("moved", 0) + counts.get("reflowed", 0)
            note = ""
            if moved or counts.get("detached"):
                note = f" Highlights: {counts.get('kept', 0)} unchanged, {moved} followed their words"
                note += (
                    f", {counts.get('detached', 0)} detached (their words are gone)." if counts.get("detached") else "."
                )
            messages.success(request, "Interview saved." + note)
            return redirect("research:interview_detail", actor.workspace.slug, interview.pk)
    context = {
        "interview": interview,
        "form": form,
        "errors": errors,
        "highlight_count": interview.highlights.count(),
        "section": "customers",
        **_choices(actor),
    }
    return render(request, "research/interview_edit.html", context, status=400 if errors else 200)


@workspace_page(services.WRITE_SCOPE)
@require_POST
def interview_delete_view(request, interview_id: int):
    actor = request.actor
    interview = selectors.access_interview(actor=actor, id=interview_id, scope=services.WRITE_SCOPE)
    services.interview_delete(actor=actor, interview_id=interview.pk)
    messages.success(request, f"Interview “{interview.title}” deleted.")
    return redirect("research:interview_list", actor.workspace.slug)


@workspace_page(services.WRITE_SCOPE)
@require_POST
def highlight_create_view(request, interview_id: int):
    actor = request.actor
    interview = selectors.access_interview(actor=actor, id=interview_id, scope=services.WRITE_SCOPE)
    try:
        services.highlight_create(
            actor=actor,
            interview_id=interview.pk,
            text=request.POST.get("text", "")[:20000],
            rendered_offset=_int(request.POST.get("rendered_offset")),
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "Highlight saved." + (" Link it to a problem or feature below." if interview.consent else ""),
        )
    return redirect("research:interview_detail", actor.workspace.slug, interview.pk)


@workspace_page(services.WRITE_SCOPE)
@require_POST
def highlight_delete_view(request, highlight_id: int):
    actor = request.actor
    highlight = selectors.access_highlight(actor=actor, id=highlight_id, scope=services.WRITE_SCOPE)
    services.highlight_delete(actor=actor, highlight_id=highlight.pk)
    messages.success(request, "Highlight removed.")
    return redirect("research:interview_detail", actor.workspace.slug, highlight.interview_id)


def _survey_charts(summary) -> dict:
    if summary.kind == "nps":
        fmt = lambda v: f"{v:+.0f}" if v else "0"  # noqa: E731
        title, unit = "NPS by month", "NPS"
    else:
        fmt = lambda v: f"{v:.0f}%"  # noqa: E731
        title, unit = "CSAT by month (share satisfied)", "CSAT"
    months = summary.months
    by_month = bar_chart(
        title,
        [
            m.label.split(" ")[0] + (f" {m.label[-2:]}" if i == 0 or m.label.startswith("Jan") else "")
            for i, m in enumerate(months)
        ],
        [
            Series(
                unit,
                [
                    m.result.score if summary.kind == "nps" and m.result else (m.result.share if m.result else None)
                    for m in months
                ],
                errors=[m.result.margin_of_error if m.result else None for m in months],
            )
        ],
        fmt=fmt,
        row_labels=[f"{m.label} (n={m.n})" for m in months],
    )
    segments = summary.segments
    by_segment = (
        bar_chart(
            f"{unit} by segment",
            [s.label for s in segments],
            [
                Series(
                    unit,
                    [
                        s.result.score if summary.kind == "nps" and s.result else (s.result.share if s.result else None)
                        for s in segments
                    ],
                    errors=[s.result.margin_of_error if s.result else None for s in segments],
                )
            ],
            fmt=fmt,
            row_labels=[f"{s.label} (n={s.n})" for s in segments],
            table_head="Segment",
        )
        if segments
        else None
    )
    return {"month_chart": by_month if any(m.n for m in months) else None, "segment_chart": by_segment}


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def surveys_view(request):
    actor = request.actor
    kind = request.GET.get("kind", "nps") if request.GET.get("kind") in ("nps", "csat") else "nps"
    months = _int(request.GET.get("months")) or 12
    months = months if months in (3, 6, 12, 24) else 12
    from valueloop.customers.facade import SEGMENTS

    summary = selectors.survey_summary(actor=actor, kind=kind, months=months, segment_labels=dict(SEGMENTS))
    comments = selectors.survey_response_list(actor=actor, kind=kind, with_comment=True)
    page = Paginator(comments, 20).get_page(request.GET.get("page"))
    context = {
        "kind": kind,
        "months": months,
        "summary": summary,
        "page": page,
        "can_write": actor.can(services.WRITE_SCOPE),
        "section": "customers",
        **_survey_charts(summary),
    }
    return render(request, "research/surveys.html", context)


@workspace_page(services.WRITE_SCOPE)
@require_http_methods(["GET", "HEAD", "POST"])
def survey_import_view(request):
    actor = request.actor
    report = None
    errors: dict = {}
    options = {"kind": "", "allow_unknown_accounts": False, "dry_run": False}
    if request.method == "POST":
        upload = request.FILES.get("file")
        options = {
            "kind": request.POST.get("kind", "") if request.POST.get("kind") in ("nps", "csat") else "",
            "allow_unknown_accounts": request.POST.get("allow_unknown_accounts") == "1",
            "dry_run": request.POST.get("dry_run") == "1",
        }
        if upload is None:
            errors = {"file": "Choose a CSV file."}
        else:
            try:
                report = services.survey_import(
                    actor=actor,
                    data=reading.read_upload(upload, upload_limits()),
                    filename=upload.name[:200],
                    default_kind=options["kind"],
                    allow_unknown_accounts=options["allow_unknown_accounts"],
                    dry_run=options["dry_run"],
                )
            except DomainError as exc:
                if exc.status == 403:
                    raise
                errors = form_errors(exc)
    status = 400 if errors or (report is not None and not report.ok) else 200
    context = {
        "report": report,
        "errors": errors,
        "options": options,
        "section": "customers",
        "max_mb": MAX_BYTES // (1024 * 1024),
    }
    return render(request, "research/survey_import.html", context, status=status)

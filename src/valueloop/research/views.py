"""Research pages: interviews (list with the new-interview form, detail with the highlight form, edit), and the
survey scores and import. One view per form; input through ``forms.py`` (the services are the API's)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from valueloop.core import extensions
from valueloop.core.charts import Series, bar_chart
from valueloop.core.markdown import render_markdown
from valueloop.core.pages import paginate_page, posted, workspace_page
from valueloop.core.permissions import Scope

from . import anchoring, selectors, services
from .forms import HighlightForm, InterviewFilterForm, InterviewForm, SurveyFilterForm, SurveyImportForm


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def interview_list_view(request):
    actor = request.actor
    can_write = actor.can(services.WRITE_SCOPE)
    form = InterviewForm(posted(request), actor=actor, notes_rows=6) if can_write or posted(request) else None
    if form is not None and form.is_bound and form.submit(services.interview_create):
        interview = form.result
        messages.success(request, f"Interview “{interview.title}” saved. Select text in the notes to highlight it.")
        return redirect("research:interview_detail", actor.workspace.slug, interview.pk)
    filters = InterviewFilterForm(request.GET)
    interviews = selectors.interview_list(actor=actor, **filters.selector_args())
    context = {
        "page": paginate_page(request, interviews, 30),
        "filters": filters,
        "filtered": any(filters.values().values()),
        "form": form,
        "can_write": can_write,
        "section": "customers",
    }
    return render(request, "research/interview_list.html", context, status=400 if form and form.errors else 200)


def _detail_context(request, interview, highlight_form: HighlightForm | None = None) -> dict:
    actor = request.actor
    highlights = list(selectors.highlight_list(actor=actor, interview_id=interview.pk))
    attached = [(h.start, h.end) for h in highlights if not h.detached]
    # render_markdown sanitises with an allow-list; render_with_marks only adds <mark> around text runs.
    notes_html = mark_safe(anchoring.render_with_marks(interview.notes, attached, render_markdown))  # noqa: S308
    for h in highlights:
        h.quote = anchoring.plain_quote(h.text)
    can_write = actor.can(services.WRITE_SCOPE)
    return {
        "interview": interview,
        "notes_html": notes_html,
        "highlights": highlights,
        "participants": selectors.interview_participants(interview),
        "can_write": can_write,
        "highlight_form": highlight_form or (HighlightForm(actor=actor) if can_write else None),
        "section": "customers",
        # Apps above research (evidence) add each highlight's links and the link form.
        **extensions.page_context("research.interview_page", actor=actor, interview=interview, highlights=highlights),
    }


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def interview_detail_view(request, interview_id: int):
    interview = selectors.access_interview(actor=request.actor, id=interview_id)
    return render(request, "research/interview_detail.html", _detail_context(request, interview))


@workspace_page(services.WRITE_SCOPE)
@require_http_methods(["GET", "HEAD", "POST"])
def interview_edit_view(request, interview_id: int):
    actor = request.actor
    interview = selectors.access_interview(actor=actor, id=interview_id, scope=services.WRITE_SCOPE)
    form = InterviewForm(posted(request), actor=actor, instance=interview, notes_rows=20)
    if form.is_bound and form.submit(services.interview_update, interview_id=interview.pk):
        interview = form.result
        counts = getattr(interview, "reanchored", {}) or {}
        moved = counts.get("moved", 0) + counts.get("reflowed", 0)
        note = ""
        if moved or counts.get("detached"):
            note = f" Highlights: {counts.get('kept', 0)} unchanged, {moved} followed their words"
            note += f", {counts.get('detached', 0)} detached (their words are gone)." if counts.get("detached") else "."
        messages.success(request, "Interview saved." + note)
        return redirect("research:interview_detail", actor.workspace.slug, interview.pk)
    context = {
        "interview": interview,
        "form": form,
        "highlight_count": interview.highlights.count(),
        "section": "customers",
    }
    return render(request, "research/interview_edit.html", context, status=400 if form.errors else 200)


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
    form = HighlightForm(request.POST, actor=actor)
    if not form.submit(services.highlight_create, interview_id=interview.pk):
        context = _detail_context(request, interview, highlight_form=form)
        return render(request, "research/interview_detail.html", context, status=400)
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
    filters = SurveyFilterForm(request.GET)
    kind, months = filters.values()["kind"], filters.values()["months"]
    from valueloop.customers.facade import SEGMENTS

    summary = selectors.survey_summary(actor=actor, kind=kind, months=months, segment_labels=dict(SEGMENTS))
    comments = selectors.survey_response_list(actor=actor, kind=kind, with_comment=True)
    context = {
        "kind": kind,
        "months": months,
        "filters": filters,
        "summary": summary,
        "page": paginate_page(request, comments, 20),
        "can_write": actor.can(services.WRITE_SCOPE),
        "section": "customers",
        **_survey_charts(summary),
    }
    return render(request, "research/surveys.html", context)


@workspace_page(services.WRITE_SCOPE)
@require_http_methods(["GET", "HEAD", "POST"])
def survey_import_view(request):
    form = SurveyImportForm(posted(request), request.FILES or None, actor=request.actor)
    report = form.result if form.is_bound and form.submit(services.survey_import) else None
    status = 400 if form.errors or (report is not None and not report.ok) else 200
    context = {"report": report, "form": form, "section": "customers"}
    return render(request, "research/survey_import.html", context, status=status)

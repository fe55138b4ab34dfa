"""``{% theme_chip item.pk %}``: the theme of a feedback item, for the feedback item page. Loaded by
name from templates, so the feedback app's code never imports themes."""

from django import template

from valueloop.themes.facade import theme_for_feedback

register = template.Library()


@register.inclusion_tag("themes/_chip.html", takes_context=True)
def theme_chip(context, feedback_id: int) -> dict:
    request = context.get("request")
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"status": None}
    return {"status": theme_for_feedback(actor=actor, feedback_id=feedback_id), "ws": actor.workspace.slug}

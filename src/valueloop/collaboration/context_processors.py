def notifications(request):
    actor = getattr(request, "actor", None)
    if actor is None:
        return {}
    from .selectors import unread_notification_count

    return {"unread_notifications": unread_notification_count(actor=actor)}

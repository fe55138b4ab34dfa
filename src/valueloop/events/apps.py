from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "valueloop.events"
    label = "events"
    verbose_name = "Event data"

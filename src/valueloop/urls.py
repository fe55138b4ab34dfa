from django.urls import include, path

from .api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("accounts/", include("valueloop.accounts.urls")),
    path("", include("valueloop.workspaces.urls")),
    path("", include("valueloop.collaboration.urls")),
    path("", include("valueloop.customers.urls")),
    path("", include("valueloop.feedback.urls")),
    path("", include("valueloop.research.urls")),
    path("", include("valueloop.evidence.urls")),
    path("", include("valueloop.discovery.urls")),
    path("", include("valueloop.planning.urls")),
    path("", include("valueloop.flags.urls")),
    path("", include("valueloop.events.urls")),
    path("", include("valueloop.experiments.urls")),
    path("", include("valueloop.themes.urls")),
    path("", include("valueloop.home.urls")),
]

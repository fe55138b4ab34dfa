from django.urls import include, path

from .api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("accounts/", include("valueloop.accounts.urls")),
    path("", include("valueloop.workspaces.urls")),
    path("", include("valueloop.collaboration.urls")),
    path("", include("valueloop.home.urls")),
]

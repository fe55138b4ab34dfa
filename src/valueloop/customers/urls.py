from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("w/<slug:ws>/customers/", views.customer_list_view, name="customer_list"),
    path("w/<slug:ws>/customers/new/", views.customer_new_view, name="customer_new"),
    path("w/<slug:ws>/customers/import/", views.customer_import_view, name="customer_import"),
    path("w/<slug:ws>/customers/contacts/", views.contact_list_view, name="contact_list"),
    path("w/<slug:ws>/customers/contacts/<int:contact_id>/", views.contact_edit_view, name="contact_edit"),
    path("w/<slug:ws>/customers/personas/", views.persona_list_view, name="persona_list"),
    path("w/<slug:ws>/customers/personas/<int:persona_id>/", views.persona_detail_view, name="persona_detail"),
    path("w/<slug:ws>/customers/currencies/", views.currency_list_view, name="currency_list"),
    path("w/<slug:ws>/customers/<int:customer_id>/", views.customer_detail_view, name="customer_detail"),
    path("w/<slug:ws>/customers/<int:customer_id>/edit/", views.customer_edit_view, name="customer_edit"),
]

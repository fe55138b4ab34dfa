from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("w/<slug:ws>/customers/", views.customer_list_view, name="customer_list"),
    path("w/<slug:ws>/customers/new/", views.customer_new_view, name="customer_new"),
    path("w/<slug:ws>/customers/import/", views.customer_import_view, name="customer_import"),
    path("w/<slug:ws>/customers/import/review/", views.customer_import_review_view, name="customer_import_review"),
    path("w/<slug:ws>/customers/import/cancel/", views.customer_import_cancel_view, name="customer_import_cancel"),
    path("w/<slug:ws>/customers/contacts/", views.contact_list_view, name="contact_list"),
    path("w/<slug:ws>/customers/contacts/<int:contact_id>/", views.contact_edit_view, name="contact_edit"),
    path("w/<slug:ws>/customers/contacts/<int:contact_id>/delete/", views.contact_delete_view, name="contact_delete"),
    path(
        "w/<slug:ws>/customers/contacts/<int:contact_id>/unsubscribe/",
        views.contact_unsubscribe_view,
        name="contact_unsubscribe",
    ),
    path("w/<slug:ws>/customers/personas/", views.persona_list_view, name="persona_list"),
    path("w/<slug:ws>/customers/personas/<int:persona_id>/", views.persona_detail_view, name="persona_detail"),
    path("w/<slug:ws>/customers/personas/<int:persona_id>/delete/", views.persona_delete_view, name="persona_delete"),
    path("w/<slug:ws>/customers/currencies/", views.currency_list_view, name="currency_list"),
    path(
        "w/<slug:ws>/customers/currencies/<int:rate_id>/delete/",
        views.currency_rate_delete_view,
        name="currency_rate_delete",
    ),
    path("w/<slug:ws>/customers/<int:customer_id>/", views.customer_detail_view, name="customer_detail"),
    path("w/<slug:ws>/customers/<int:customer_id>/edit/", views.customer_edit_view, name="customer_edit"),
    path("w/<slug:ws>/customers/<int:customer_id>/archive/", views.customer_archive_view, name="customer_archive"),
    path("w/<slug:ws>/customers/<int:customer_id>/restore/", views.customer_restore_view, name="customer_restore"),
    path("w/<slug:ws>/customers/<int:customer_id>/delete/", views.customer_delete_view, name="customer_delete"),
    path(
        "w/<slug:ws>/customers/<int:customer_id>/contacts/",
        views.customer_contact_create_view,
        name="customer_contact_create",
    ),
]

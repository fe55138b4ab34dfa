"""Customer pages: list with filters and total, forms with validation messages, the account page
with its timeline, contacts, personas, currencies, and the import flow (upload, preview, confirm)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from valueloop.core.permissions import Role
from valueloop.customers import facade, services, uploads
from valueloop.customers.facade import TimelineEntry
from valueloop.customers.models import Contact, Customer, Persona


@pytest.fixture
def client_a(world) -> Client:
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    return client


@pytest.fixture
def base(world) -> str:
    return f"/w/{world.ws_a.slug}/customers/"


@pytest.fixture
def upload_dir(settings, tmp_path):
    settings.UPLOADS_DIR = tmp_path
    return tmp_path / "customer-imports"


def text(response) -> str:
    return response.content.decode()


def test_customer_list__empty_state_says_what_to_do(world, client_a, base):
    page = text(client_a.get(base))
    assert "No customers yet" in page and "Import from CSV" in page


def test_customer_list__filters_sort_and_total_in_workspace_currency(world, client_a, base):
    services.currency_rate_set(actor=world.actor_a, currency="GBP", rate="1.25")
    services.customer_create(actor=world.actor_a, name="Big Bank", segment="enterprise", arr="500000")
    services.customer_create(actor=world.actor_a, name="Tea Shop", segment="smb", arr="4000", arr_currency="GBP")
    services.customer_create(actor=world.actor_a, name="Corner Cafe", segment="smb", arr="3000", lifecycle="trial")
    services.customer_create(actor=world.actor_b, name="Beta Secret", segment="smb", arr="1")
    page = text(client_a.get(base))
    assert "$508,000" in page and "3 accounts" in page and "Beta Secret" not in page
    page = text(client_a.get(base + "?segment=smb&sort=-arr"))
    assert "$8,000" in page and "matching the filters" in page
    assert page.index("Tea Shop") < page.index("Corner Cafe") and "Big Bank" not in page
    assert "£4,000" in page  # the original currency beside the converted amount
    partial = client_a.get(base + "?lifecycle=trial", HTTP_HX_REQUEST="true")
    assert "Corner Cafe" in text(partial) and "<html" not in text(partial) and "Tea Shop" not in text(partial)
    page = text(client_a.get(base + "?arr_min=100000"))
    assert "Big Bank" in page and "Tea Shop" not in page
    page = text(client_a.get(base + "?q=nothing-like-this"))
    assert "No account matches these filters" in page


def test_customer_new__validation_messages_and_create(world, client_a, base):
    response = client_a.post(
        base + "new/", {"name": "Acme", "arr": "-5", "arr_currency": "USD", "lifecycle": "customer"}
    )
    assert response.status_code == 400
    assert "ARR cannot be negative." in text(response) and 'aria-invalid="true"' in text(response)
    response = client_a.post(
        base + "new/",
        {
            "name": "Acme",
            "arr": "12,000",
            "arr_currency": "USD",
            "lifecycle": "customer",
            "domain": "www.acme.test",
            "owner_id": world.users[Role.PRODUCT_OWNER].pk,
            "renewal_date": "2026-11-30",
        },
    )
    assert response.status_code == 302
    acme = Customer.objects.get(name="Acme")
    assert (acme.arr, acme.domain, acme.owner) == (12000, "acme.test", world.users[Role.PRODUCT_OWNER])
    assert response["Location"] == f"{base}{acme.pk}/"


def test_customer_edit__stale_version_is_explained(world, client_a, base):
    acme = services.customer_create(actor=world.actor_a, name="Acme")
    services.customer_update(actor=world.actor_a, customer_id=acme.pk, plan="Growth")
    response = client_a.post(
        f"{base}{acme.pk}/edit/",
        {"version": "1", "name": "Acme", "arr": "0", "arr_currency": "USD", "lifecycle": "customer"},
    )
    assert response.status_code == 400 and "changed by someone else" in text(response)


def test_customer_pages__contributor_reads_but_cannot_write(world, base):
    acme = services.customer_create(actor=world.actor_a, name="Acme")
    client = Client()
    client.force_login(world.users[Role.CONTRIBUTOR])
    page = text(client.get(f"{base}{acme.pk}/"))
    assert "Acme" in page and "Archive" not in page and "Add contact" not in page
    assert client.get(base + "new/").status_code == 403
    assert client.post(f"{base}{acme.pk}/archive/").status_code == 403
    assert Customer.objects.get(pk=acme.pk).archived_at is None


def test_customer_detail__timeline_from_a_registered_source(world, client_a, base):
    acme = services.customer_create(actor=world.actor_a, name="Acme")

    def source(actor, customer):
        return [
            TimelineEntry(dt.datetime(2026, 1, 5, tzinfo=dt.UTC), "feedback", "Export is slow", "/fb/1", "Twice"),
            TimelineEntry(dt.datetime(2026, 3, 9, tzinfo=dt.UTC), "interview", "<b>Call</b> with CFO", "javascript:x"),
            TimelineEntry(dt.date(2026, 2, 1), "survey", "NPS 9"),
        ]

    page = text(client_a.get(f"{base}{acme.pk}/"))
    assert "Nothing here yet" in page
    facade.register_timeline_source(source)
    try:
        page = text(client_a.get(f"{base}{acme.pk}/"))
    finally:
        facade.unregister_timeline_source(source)
    timeline = page[page.index('id="timeline"') :]
    assert timeline.index("&lt;b&gt;Call&lt;/b&gt; with CFO") < timeline.index("NPS 9") < timeline.index("Export is")
    assert 'href="/fb/1"' in timeline and "javascript:" not in timeline
    assert "Discussion" in page  # the comment thread


def test_customer_detail__contacts_archive_and_delete(world, client_a, base):
    acme = services.customer_create(actor=world.actor_a, name="Acme")
    url = f"{base}{acme.pk}/"
    response = client_a.post(url + "contacts/", {"contact-name": "Ada", "contact-email": "bad"})
    assert response.status_code == 400 and "is not an email address" in text(response)
    client_a.post(url + "contacts/", {"contact-name": "Ada", "contact-email": "ada@acme.test"})
    ada = Contact.objects.get(email="ada@acme.test")
    response = client_a.post(f"{base}contacts/{ada.pk}/unsubscribe/", {"next": url})
    assert response["Location"] == url
    ada.refresh_from_db()
    assert ada.unsubscribed_at is not None
    response = client_a.post(url + "delete/")
    assert response.status_code == 400 and "Archive Acme first" in text(response)
    client_a.post(url + "archive/")
    response = client_a.post(url + "delete/")
    assert response.status_code == 302 and response["Location"] == base
    assert not Customer.objects.exists() and Contact.objects.filter(pk=ada.pk).exists()


def test_contacts_personas_and_currencies_pages(world, client_a, base):
    acme = services.customer_create(actor=world.actor_a, name="Acme")
    response = client_a.post(base + "contacts/", {"name": "Ada", "email": "ada@acme.test", "customer_id": acme.pk})
    assert response.status_code == 302
    ada = Contact.objects.get(email="ada@acme.test")
    assert "Ada" in text(client_a.get(base + "contacts/?q=acme"))
    response = client_a.post(
        f"{base}contacts/{ada.pk}/",
        {"version": "1", "name": "Ada L", "email": "ada@acme.test", "customer_id": ""},
    )
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.name, ada.customer) == ("Ada L", None)

    response = client_a.post(base + "personas/", {"name": "CFO", "goals": "**Cash**"})
    persona = Persona.objects.get(name="CFO")
    assert response["Location"] == f"{base}personas/{persona.pk}/"
    page = text(client_a.get(response["Location"]))
    assert "<strong>Cash</strong>" in page and "Discussion" in page
    assert client_a.post(base + "personas/", {"name": "cfo"}).status_code == 400

    response = client_a.post(base + "currencies/", {"currency": "GBP", "rate": "1,27"})
    assert response.status_code == 302
    page = text(client_a.get(base + "currencies/"))
    assert "1 GBP = 1.27 USD" in page
    response = client_a.post(base + "currencies/", {"currency": "USD", "rate": "1"})
    assert response.status_code == 400 and "workspace currency" in text(response)


# --- the import flow --------------------------------------------------------------------------


def test_import_page__upload_preview_fix_mapping_confirm(world, client_a, base, upload_dir):
    csv = b"Org,Money,Stage,Notes\nAcme,100,Customer,x\nBeta,-5,Lead,y\nGamma,30,Trial,z\n"
    response = client_a.post(
        base + "import/",
        {
            "step": "upload",
            "kind": "accounts",
            "preset": "auto",
            "encoding": "utf-8",
            "date_order": "auto",
            "file": SimpleUploadedFile("crm.csv", csv, content_type="text/csv"),
        },
    )
    assert response.status_code == 200
    page = text(response)
    # "Org" is not a known name for the account name: the mapping problem is shown, nothing is written
    assert "required column for Name is missing" in page and "crm.csv" in page
    kept = list(upload_dir.glob("*.csv"))
    assert len(kept) == 1
    mapping = {"map_name": "Org", "map_arr": "Money", "map_lifecycle": "Stage"}
    options = {"kind": "accounts", "preset": "auto", "encoding": "utf-8", "date_order": "auto"}
    response = client_a.post(base + "import/review/", {"step": "preview", **options, **mapping})
    page = text(response)
    assert "ARR cannot be negative (-5)" in page and re.search(
        r">3</td><td data-label=\"Field\">arr</td><td data-label=\"Column\">Money</td>", page
    )
    assert "Skip the 1 invalid row" in page and "Ignored columns: Notes" in page
    assert not Customer.objects.exists()
    # confirming without skipping is refused and still writes nothing
    response = client_a.post(base + "import/review/", {"step": "confirm", **options, **mapping})
    assert response.status_code == 400 and not Customer.objects.exists()
    # a GET shows the pending preview again (the file is kept between requests)
    assert "ARR cannot be negative" in text(client_a.get(base + "import/"))
    response = client_a.post(base + "import/review/", {"step": "confirm", "skip_invalid": "1", **options, **mapping})
    assert response.status_code == 302 and response["Location"] == base
    assert sorted(Customer.objects.values_list("name", "lifecycle")) == [("Acme", "customer"), ("Gamma", "trial")]
    assert list(upload_dir.glob("*.csv")) == []
    follow = text(client_a.get(base))
    assert "Imported accounts: 2 new, 0 updated, 0 unchanged, 1 invalid row(s) skipped." in follow


def test_import_page__bad_encoding_is_refused_and_nothing_kept(world, client_a, base, upload_dir):
    response = client_a.post(
        base + "import/",
        {
            "step": "upload",
            "kind": "accounts",
            "encoding": "utf-8",  # chosen explicitly: detection would read it as Windows-1252
            "file": SimpleUploadedFile("x.csv", "name\nCafé\n".encode("cp1252")),
        },
    )
    assert response.status_code == 400
    assert "byte offset 8 (line 2)" in text(response)
    assert list(upload_dir.glob("*.csv")) == []


def test_import_page__a_file_over_the_limit_is_dropped_while_uploading(world, client_a, base, upload_dir, settings):
    settings.CUSTOMER_IMPORT_MAX_BYTES = 1024
    big = b"name\n" + b"Acme Corporation\n" * 500
    response = client_a.post(
        base + "import/", {"step": "upload", "kind": "accounts", "file": SimpleUploadedFile("big.csv", big)}
    )
    assert response.status_code == 400
    assert "larger than 0 MB" not in text(response) and "was not stored" in text(response)
    assert not upload_dir.exists() or list(upload_dir.glob("*.csv")) == []
    assert not Customer.objects.exists()


def test_import_page__csrf_is_still_checked(world, base, upload_dir):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[Role.ADMIN])
    response = client.post(base + "import/", {"step": "upload", "file": SimpleUploadedFile("a.csv", b"name\nA\n")})
    assert response.status_code == 403
    assert list(upload_dir.glob("*.csv")) == [] if upload_dir.exists() else True


def test_import_page__cancel_discards_the_file(world, client_a, base, upload_dir):
    client_a.post(base + "import/", {"step": "upload", "file": SimpleUploadedFile("a.csv", b"name\nAcme\n")})
    assert len(list(upload_dir.glob("*.csv"))) == 1
    response = client_a.post(base + "import/cancel/")
    assert response.status_code == 302
    assert list(upload_dir.glob("*.csv")) == []
    assert "upload-form" in text(client_a.get(base + "import/"))


def test_uploads__tokens_never_become_paths(settings, tmp_path):
    settings.UPLOADS_DIR = tmp_path
    assert uploads.path_for("../../etc/passwd") is None
    assert uploads.read("0" * 31 + "/", 10) is None
    assert uploads.path_for("a" * 32).parent == tmp_path / "customer-imports"


def test_size_limit_upload_handler__skips_the_file_but_keeps_the_form(rf):
    import io

    from django.core.files.uploadhandler import MemoryFileUploadHandler
    from django.http.multipartparser import MultiPartParser

    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\ntok\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n" + "name\n" + "Acme\n" * 20000 + "\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="step"\r\n\r\nupload\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    request = rf.post("/", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    handlers = [uploads.SizeLimitUploadHandler(request, 1000), MemoryFileUploadHandler(request)]
    post, files = MultiPartParser(request.META, io.BytesIO(body), handlers).parse()
    assert request.upload_too_large is True
    assert "file" not in files and post["csrfmiddlewaretoken"] == "tok" and post["step"] == "upload"

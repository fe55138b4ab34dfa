"""core.money: Decimal amounts, one way to print them (Babel, the workspace's currency and locale), one way to parse
them, and the workspace's locale setting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import Client

from valueloop.core import money
from valueloop.core.errors import Invalid
from valueloop.core.permissions import Role
from valueloop.workspaces import services as ws_services

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "text"),
    [
        # English: symbol first, comma groups; whole amounts without minor units, others with them.
        (Decimal("15797183"), "EUR", "en", "€15,797,183"),
        (Decimal("12500.5"), "EUR", "en", "€12,500.50"),
        (Decimal("12500.5"), "USD", "en", "$12,500.50"),
        (Decimal("-12"), "USD", "en", "-$12"),
        # JPY has no minor unit: an amount rounds (half up) to whole yen.
        (Decimal("12500.5"), "JPY", "en", "¥12,501"),
        (Decimal("12500.49"), "JPY", "en", "¥12,500"),
        # German: dot groups, decimal comma, symbol after a no-break space.
        (Decimal("15797183"), "EUR", "de", f"15.797.183{NBSP}€"),
        (Decimal("12500.5"), "EUR", "de", f"12.500,50{NBSP}€"),
        (Decimal("12500.5"), "USD", "de", f"12.500,50{NBSP}$"),
        (Decimal("12500"), "JPY", "de", f"12.500{NBSP}¥"),
        # French: narrow no-break space groups, decimal comma.
        (Decimal("15797183"), "EUR", "fr", f"15{NNBSP}797{NNBSP}183{NBSP}€"),
        (Decimal("12500.5"), "EUR", "fr", f"12{NNBSP}500,50{NBSP}€"),
        (Decimal("12500.5"), "USD", "fr", f"12{NNBSP}500,50{NBSP}$US"),
        (Decimal("12500"), "JPY", "fr", f"12{NNBSP}500{NBSP}JPY"),
    ],
)
def test_money_filter__prints_in_the_currency_and_locale(amount, currency, locale, text) -> None:
    with money.override(currency=currency, locale=locale):
        assert Template("{{ amount|money }}").render(Context({"amount": amount})) == text


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "text"),
    [
        (Decimal("5812345"), "EUR", "en", "€5.8M"),
        (Decimal("11350000"), "USD", "en", "$11.4M"),
        (Decimal("23400"), "USD", "en", "$23.4K"),
        (Decimal("950.4"), "EUR", "en", "€950"),
        (Decimal("5812345"), "EUR", "de", f"5,8{NBSP}Mio.{NBSP}€"),
        (Decimal("5812345"), "EUR", "fr", f"5,8{NBSP}M{NBSP}€"),
        (Decimal("5812345"), "JPY", "en", "¥5.8M"),
    ],
)
def test_money_compact_filter__short_amounts_for_charts_and_cards(amount, currency, locale, text) -> None:
    with money.override(currency=currency, locale=locale):
        assert Template("{{ amount|money_compact }}").render(Context({"amount": amount})) == text


def test_money_filter__an_argument_names_another_currency_in_the_same_locale() -> None:
    # An account billed in GBP shows its own ARR beside the converted one.
    with money.override(currency="EUR", locale="de"):
        rendered = Template('{{ a|money }} ({{ a|money:"GBP" }})').render(Context({"a": Decimal("4000")}))
    assert rendered == f"4.000{NBSP}€ (4.000{NBSP}£)"


def test_money_filter__no_amount_is_a_dash_not_zero() -> None:
    rendered = Template("{{ a|money }}|{{ b|money }}|{{ c|money_compact }}").render(
        Context({"a": None, "b": "", "c": "not a number"})
    )
    assert rendered == "—|—|—"


def test_format_money__outside_an_override_uses_the_defaults_and_the_override_ends_with_its_block() -> None:
    assert money.format_money(Decimal(1500)) == "$1,500"
    with money.override(currency="EUR", locale="de"):
        assert money.format_money(Decimal(1500)) == f"1.500{NBSP}€"
    assert money.format_money(Decimal(1500)) == "$1,500"


def test_to_decimal__floats_take_their_shortest_repr_and_nan_is_refused() -> None:
    assert money.to_decimal(0.1) == Decimal("0.1")  # not 0.1000000000000000055511151231257827...
    assert money.to_decimal(12) == Decimal(12) and money.to_decimal("12.50") == Decimal("12.50")
    assert money.to_decimal(None) is None and money.to_decimal("") is None
    for bad in (float("nan"), float("inf"), "abc", True):
        with pytest.raises(ValueError):
            money.to_decimal(bad)


def test_total__is_exact_where_floats_are_not() -> None:
    assert 0.1 + 0.2 != 0.3  # 0.30000000000000004
    assert money.total([0.1, 0.2]) == Decimal("0.3")
    assert money.total([0.1, 0.2, "-0.3"]) == 0
    assert money.total([Decimal("0.10")] * 10) == Decimal("1.00")
    assert money.total([None, 1, None]) == Decimal(1)


def test_quantize__half_up_to_the_currencys_minor_unit() -> None:
    assert money.quantize(Decimal("2.345"), "EUR") == Decimal("2.35")  # half-even would give 2.34
    assert money.quantize(Decimal("2.5"), "JPY") == Decimal("3")
    assert money.quantize(Decimal("1.0005"), "KWD") == Decimal("1.001")
    assert money.quantize(Decimal("2.345")) == Decimal("2.35")


@pytest.mark.parametrize(
    ("text", "amount"),
    [("12500", "12500.00"), ("12,500.50", "12500.50"), ("12.500,50 €", "12500.50"), ("€ 12", "12.00")],
)
def test_parse_money__reads_what_people_type(text, amount) -> None:
    assert money.parse_money(text, field="cod", currency="EUR") == Decimal(amount)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter an amount"),
        ("twelve", "'twelve' is not an amount; enter e.g. 12500 or 12,500.50."),
        ("-5", "cannot be negative"),
        ("£12", "The amount is in GBP, but this field is in EUR."),
        ("12 XYZ", "Unknown currency 'XYZ'"),
    ],
)
def test_parse_money__bad_input_is_invalid_naming_the_field(text, message) -> None:
    with pytest.raises(Invalid) as caught:
        money.parse_money(text, field="cod_reduce_cost", currency="EUR")
    assert list(caught.value.fields) == ["cod_reduce_cost"]
    assert message in caught.value.fields["cod_reduce_cost"]


def test_money_out__a_decimal_string_and_the_currency() -> None:
    assert money.money_out(Decimal("12500"), "EUR") == {"amount": "12500.00", "currency": "EUR"}
    assert money.money_out(0.1 + 0.2, "USD") == {"amount": "0.30", "currency": "USD"}
    assert money.money_out(Decimal("1E+3"), "USD") == {"amount": "1000.00", "currency": "USD"}  # never an exponent
    assert money.money_out(None, "USD") is None


def test_validate_locale__babel_identifiers_only() -> None:
    from django.core.exceptions import ValidationError

    for good in ("en", "de", "fr", "de_CH", "en_GB", "ja"):
        money.validate_locale(good)
    for bad in ("de-CH", "xx", "", "english"):
        with pytest.raises(ValidationError):
            money.validate_locale(bad)


# --- the workspace's locale --------------------------------------------------------------------------------------


def test_workspace_update__sets_a_locale_and_refuses_an_unknown_one_naming_the_field(world) -> None:
    assert world.ws_a.locale == "en"
    ws_services.workspace_update(actor=world.actor_a, locale="de_CH")
    world.ws_a.refresh_from_db()
    assert world.ws_a.locale == "de_CH"
    with pytest.raises(Invalid) as caught:
        ws_services.workspace_update(actor=world.actor_a, locale="Klingon")
    assert "locale" in caught.value.fields
    world.ws_a.refresh_from_db()
    assert world.ws_a.locale == "de_CH"


def test_settings_page__saves_the_locale_and_pages_print_money_in_it(world) -> None:
    from tests.factories import CustomerFactory
    from tests.page_forms import error_beside

    CustomerFactory(workspace=world.ws_a, arr=Decimal("1234567.5"))
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    url = f"/w/{world.ws_a.slug}/settings/"
    form = {"name": world.ws_a.name, "timezone": "UTC", "currency": "USD", "version": world.ws_a.version}
    response = client.post(url, {**form, "locale": "nope"})
    assert response.status_code == 400 and "'nope' is not a known locale" in error_beside(response, "ws-locale")
    assert client.post(url, {**form, "locale": "de"}).status_code == 302
    page = client.get(f"/w/{world.ws_a.slug}/customers/").content.decode()
    assert f"1.234.567,50{NBSP}$" in page


def test_workspace_api__reads_and_patches_the_locale(world) -> None:
    from tests.conftest import token_client

    client = token_client(world.actor_a)
    assert client.get("/api/v1/workspace").json()["locale"] == "en"
    patched = client.patch("/api/v1/workspace", {"locale": "fr"}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["locale"] == "fr"
    refused = client.patch("/api/v1/workspace", {"locale": "fr-FR"}, content_type="application/json")
    assert refused.status_code == 422 and any(e["field"] == "locale" for e in refused.json()["errors"])

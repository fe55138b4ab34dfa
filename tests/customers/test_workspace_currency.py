from decimal import Decimal

from valueloop.customers.models import Customer
from valueloop.customers.services import currency_rate_set, customer_create
from valueloop.workspaces.services import workspace_update


def test_changing_the_workspace_currency_reconverts_arr(world):
    currency_rate_set(actor=world.actor_a, currency="GBP", rate=Decimal("2"))
    customer = customer_create(actor=world.actor_a, name="Pound Co", arr=Decimal("1000"), arr_currency="GBP")
    assert Customer.objects.get(pk=customer.pk).arr_base == Decimal("2000.00")
    workspace_update(actor=world.actor_a, currency="GBP")
    assert Customer.objects.get(pk=customer.pk).arr_base == Decimal("1000.00")

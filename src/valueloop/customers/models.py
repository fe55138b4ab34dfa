"""Customer accounts (with their revenue), their contacts, and personas.

ARR is stored in the account's own currency (``arr``, ``arr_currency``) and, for roll-ups, in the
workspace currency (``arr_base``), converted with the workspace's ``CurrencyRate`` at write time and
re-converted whenever a rate changes. Every roll-up sums ``arr_base`` only.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower

SEGMENTS = [
    ("enterprise", "Enterprise"),
    ("mid_market", "Mid-market"),
    ("smb", "SMB"),
    ("startup", "Startup"),
    ("public_sector", "Public sector"),
    ("other", "Other"),
]
LIFECYCLE = [("prospect", "Prospect"), ("trial", "Trial"), ("customer", "Customer"), ("churned", "Churned")]
HEALTH = [("", "Unknown"), ("good", "Good"), ("at_risk", "At risk"), ("poor", "Poor")]


class CurrencyRate(models.Model):
    """How many units of the workspace currency one unit of ``currency`` is worth."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=18, decimal_places=8, validators=[MinValueValidator(Decimal("0.00000001"))])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "currency"], name="one_rate_per_currency")]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate}"


class Customer(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True)
    segment = models.CharField(max_length=20, choices=SEGMENTS, blank=True)
    plan = models.CharField(max_length=80, blank=True)
    arr = models.DecimalField(
        max_digits=16, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    arr_currency = models.CharField(max_length=3, blank=True)
    arr_base = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    lifecycle = models.CharField(max_length=12, choices=LIFECYCLE, default="customer")
    region = models.CharField(max_length=80, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    renewal_date = models.DateField(null=True, blank=True)
    health = models.CharField(max_length=10, choices=HEALTH, blank=True)
    external_id = models.CharField(max_length=120, blank=True)
    # Archived accounts leave lists, choices and roll-ups but keep every link (feedback, interviews).
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=~models.Q(external_id=""),
                name="customer_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(Lower("name"), "workspace", name="customer_name_idx"),
            models.Index(fields=["workspace", "segment"]),
            models.Index(fields=["workspace", "-arr_base"]),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    title = models.CharField(max_length=120, blank=True)
    external_id = models.CharField(max_length=120, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "email", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=~models.Q(external_id=""),
                name="contact_external_id_unique",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "email"])]

    def __str__(self) -> str:
        return self.name or self.email


class Persona(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=20000)
    goals = models.TextField(blank=True, max_length=20000)
    jobs_to_be_done = models.TextField(blank=True, max_length=20000)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("workspace", Lower("name"), name="persona_name_unique")]

    def __str__(self) -> str:
        return self.name

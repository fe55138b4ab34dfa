import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from valueloop.core.money import DEFAULT_LOCALE, validate_locale
from valueloop.core.permissions import ROLE_CHOICES

CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "INR", "BRL", "SGD"]
CURRENCY_CHOICES = [(c, c) for c in CURRENCIES]
CONTRIBUTOR_FUNCTIONS = [
    ("", "—"),
    ("engineering", "Engineering"),
    ("design", "Design"),
    ("research", "Research"),
    ("marketing", "Marketing"),
    ("sales", "Sales"),
    ("support", "Support"),
    ("product", "Product"),
    ("leadership", "Leadership"),
]


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone (e.g. Europe/Berlin).")


class Workspace(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="USD", choices=CURRENCY_CHOICES)
    # How money (and later numbers) print on this workspace's pages: a Babel locale identifier ("de", "en_GB").
    locale = models.CharField(max_length=20, default=DEFAULT_LOCALE, validators=[validate_locale])
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=ROLE_CHOICES)
    function = models.CharField(max_length=20, choices=CONTRIBUTOR_FUNCTIONS, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]
        ordering = ["workspace", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} as {self.role}"


class Invitation(models.Model):
    """An invitation by email (sent) or by link (shared by hand). Only the token's digest is kept."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=32, choices=ROLE_CHOICES)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class Product(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=120)
    key = models.CharField(max_length=12, help_text="Short uppercase code, e.g. CORE")
    description = models.TextField(blank=True, max_length=20000)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="product_name_unique_in_workspace"),
            models.UniqueConstraint(fields=["workspace", "key"], name="product_key_unique_in_workspace"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductArea(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="areas")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="areas")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=20000)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("product", Lower("name"), name="area_name_unique_in_product"),
        ]

    def __str__(self) -> str:
        return self.name

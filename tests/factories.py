"""Test data, built one way for every app: factory_boy factories for the main models.

Invariants:
- Workspace-consistent by construction. A factory given a workspace builds every related row it needs in that
  workspace (sub-factories take ``workspace=SelfAttribute("..workspace")``, and a row hung on a customer, an
  interview or a feedback item takes that row's workspace); a related row of another workspace passed in is
  refused with ``ValueError``, as the services would refuse it.
- Rows are written directly: these are fixtures for tests of *other* code, so they write no audit records and
  queue no work. A test of a service calls the service. Rows that are only valid with what a service adds to them
  (flags with their per-environment states, experiments with their metrics) are made through the service, with an
  actor of the workspace (``actor=``).
- Deterministic: names come from sequences, never from random data.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from valueloop.accounts.models import User
from valueloop.collaboration.models import Comment
from valueloop.customers.models import Contact, CurrencyRate, Customer, Persona
from valueloop.discovery.models import Problem
from valueloop.evidence.models import Evidence
from valueloop.experiments.models import Experiment, Learning
from valueloop.feedback.models import FeedbackItem, Tag
from valueloop.flags.models import Flag
from valueloop.planning.models import Feature, Team
from valueloop.research.models import Highlight, Interview, SurveyResponse
from valueloop.themes.models import Theme
from valueloop.workspaces.models import Membership, Product, ProductArea, Workspace

PASSWORD = "pw-factory-123456"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    name = factory.Sequence(lambda n: f"Person {n}")
    handle = factory.Sequence(lambda n: f"person-{n}")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        email, password = kwargs.pop("email"), kwargs.pop("password")
        return model_class.objects.create_user(email, password, **kwargs)


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")


class TenantFactory(factory.django.DjangoModelFactory):
    """A row of one workspace: refuses related rows of another workspace."""

    class Meta:
        abstract = True

    workspace = factory.SubFactory(WorkspaceFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        workspace = kwargs["workspace"]
        for name, value in kwargs.items():
            values = value if isinstance(value, list | tuple) else [value]
            for row in values:
                other = getattr(row, "workspace_id", None)
                if name != "workspace" and other is not None and other != workspace.pk:
                    raise ValueError(f"{model_class.__name__}.{name}: {row!r} belongs to another workspace")
        return super()._create(model_class, *args, **kwargs)


def _workspace_of(attribute: str):
    """The workspace of the related row ``attribute`` when one is given, else a new workspace."""
    return factory.Maybe(
        attribute,
        yes_declaration=factory.SelfAttribute(f"{attribute}.workspace"),
        no_declaration=factory.SubFactory(WorkspaceFactory),
    )


class MembershipFactory(TenantFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = "contributor"


class ProductFactory(TenantFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    key = factory.Sequence(lambda n: f"P{n}")


class AreaFactory(TenantFactory):
    class Meta:
        model = ProductArea

    workspace = _workspace_of("product")
    product = factory.SubFactory(ProductFactory, workspace=factory.SelfAttribute("..workspace"))
    name = factory.Sequence(lambda n: f"Area {n}")


class CurrencyRateFactory(TenantFactory):
    class Meta:
        model = CurrencyRate
        django_get_or_create = ("workspace", "currency")

    currency = "GBP"
    rate = Decimal("1.17")


class CustomerFactory(TenantFactory):
    """An account; ``arr`` is in the workspace currency unless ``arr_currency`` says otherwise, and ``arr_base``
    (what roll-ups sum) equals ``arr`` unless given."""

    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    arr = Decimal("0")
    arr_base = factory.LazyAttribute(lambda o: Decimal(str(o.arr)))
    arr_currency = factory.LazyAttribute(lambda o: o.workspace.currency)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs["arr"] = Decimal(str(kwargs["arr"]))
        return super()._create(model_class, *args, **kwargs)


class ContactFactory(TenantFactory):
    class Meta:
        model = Contact

    workspace = _workspace_of("customer")
    customer = None
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@example.test")


class PersonaFactory(TenantFactory):
    class Meta:
        model = Persona

    name = factory.Sequence(lambda n: f"Persona {n}")


class TagFactory(TenantFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("workspace", "name")

    name = factory.Sequence(lambda n: f"tag-{n}")


def _with_many(field: str):
    """A post-generation hook that sets the many-to-many ``field`` from a list of rows (or tag names)."""

    def hook(obj, create, extracted, **kwargs):
        if not create or not extracted:
            return
        rows = list(extracted)
        if field == "tags":
            rows = [TagFactory(workspace=obj.workspace, name=r) if isinstance(r, str) else r for r in rows]
        if any(r.workspace_id != obj.workspace_id for r in rows):
            raise ValueError(f"{type(obj).__name__}.{field}: a row belongs to another workspace")
        getattr(obj, field).set(rows)

    return factory.PostGeneration(hook)


class FeedbackItemFactory(TenantFactory):
    """A feedback item received ``days_ago`` days ago (0: now); ``personas`` and ``tags`` (rows or names) after."""

    class Meta:
        model = FeedbackItem
        exclude = ("days_ago",)
        skip_postgeneration_save = True  # the hooks set many-to-many rows; the item itself is saved already

    workspace = _workspace_of("customer")
    text = factory.Sequence(lambda n: f"Feedback number {n}")
    source = "other"
    customer = None
    contact = None
    days_ago = 0
    received_at = factory.LazyAttribute(lambda o: timezone.now() - dt.timedelta(days=o.days_ago))
    personas = _with_many("personas")
    tags = _with_many("tags")


class ProblemFactory(TenantFactory):
    class Meta:
        model = Problem

    title = factory.Sequence(lambda n: f"Problem {n}")


class TeamFactory(TenantFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class FeatureFactory(TenantFactory):
    class Meta:
        model = Feature

    workspace = _workspace_of("problem")
    problem = None
    title = factory.Sequence(lambda n: f"Feature {n}")


class InterviewFactory(TenantFactory):
    class Meta:
        model = Interview
        skip_postgeneration_save = True

    workspace = _workspace_of("customer")
    customer = None
    title = factory.Sequence(lambda n: f"Interview {n}")
    happened_on = factory.LazyFunction(timezone.localdate)
    notes = "They want replay. Retries matter."
    consent = True
    participants = _with_many("participants")


class HighlightFactory(TenantFactory):
    """A highlight of ``quote`` (by default the interview notes' first sentence) in the interview's notes."""

    class Meta:
        model = Highlight
        exclude = ("quote",)

    workspace = _workspace_of("interview")
    interview = factory.SubFactory(InterviewFactory, workspace=factory.SelfAttribute("..workspace"))
    quote = factory.LazyAttribute(lambda o: o.interview.notes.split(". ")[0])
    start = factory.LazyAttribute(lambda o: o.interview.notes.index(o.quote))
    end = factory.LazyAttribute(lambda o: o.start + len(o.quote))
    text = factory.SelfAttribute("quote")


class SurveyResponseFactory(TenantFactory):
    class Meta:
        model = SurveyResponse

    workspace = _workspace_of("customer")
    customer = None
    kind = "nps"
    score = 9
    responded_at = factory.LazyFunction(timezone.now)


class EvidenceFactory(TenantFactory):
    """Feedback (in the same workspace, from ``customer`` if given) linked to ``target`` (a problem or feature;
    by default a new problem). Written directly: ``evidence_link`` is the service under test elsewhere."""

    class Meta:
        model = Evidence
        exclude = ("target",)

    workspace = _workspace_of("feedback")
    feedback = factory.SubFactory(FeedbackItemFactory, workspace=factory.SelfAttribute("..workspace"))
    target = factory.SubFactory(ProblemFactory, workspace=factory.SelfAttribute("..workspace"))
    target_type = factory.LazyAttribute(lambda o: "feature" if isinstance(o.target, Feature) else "problem")
    target_id = factory.LazyAttribute(lambda o: o.target.pk)
    customer = factory.SelfAttribute("feedback.customer")
    said_at = factory.SelfAttribute("feedback.received_at")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        feedback = kwargs.get("feedback")
        if feedback is not None and feedback.workspace_id != kwargs["workspace"].pk:
            raise ValueError("Evidence.feedback belongs to another workspace")
        return super()._create(model_class, *args, **kwargs)


class ThemeFactory(TenantFactory):
    class Meta:
        model = Theme

    name = factory.Sequence(lambda n: f"Theme {n}")
    keyphrases = factory.LazyAttribute(lambda o: [o.name.lower()])


class CommentFactory(TenantFactory):
    """A comment on ``entity_type``/``entity_id`` (by default the workspace itself), written directly:
    ``comment_create`` (mentions, notifications) is the service under test elsewhere."""

    class Meta:
        model = Comment

    entity_type = "workspace"
    entity_id = factory.SelfAttribute("workspace.pk")
    body = factory.Sequence(lambda n: f"Comment {n}")
    body_html = factory.LazyAttribute(lambda o: f"<p>{o.body}</p>")


class ExperimentFactory(TenantFactory):
    """A draft experiment row on ``problem`` (an experiment tests a problem or a feature); no flag or metrics:
    ``experiment_lab`` builds a runnable one through the services."""

    class Meta:
        model = Experiment

    workspace = _workspace_of("problem")
    problem = factory.SubFactory(ProblemFactory, workspace=factory.SelfAttribute("..workspace"))
    key = factory.Sequence(lambda n: f"experiment-{n}")
    name = factory.Sequence(lambda n: f"Experiment {n}")
    hypothesis = "If we change it, more people finish."


class LearningFactory(TenantFactory):
    class Meta:
        model = Learning

    workspace = _workspace_of("experiment")
    experiment = factory.SubFactory(ExperimentFactory, workspace=factory.SelfAttribute("..workspace"))
    text = factory.Sequence(lambda n: f"Learning {n}")


# --- through the services (an actor of the workspace is required) -------------------------------------------------


class FlagFactory(factory.Factory):
    """A flag made by ``flag_services.flag_create`` (its per-environment states come with it)."""

    class Meta:
        model = Flag

    key = factory.Sequence(lambda n: f"flag-{n}")

    @classmethod
    def _create(cls, model_class, *args, actor, **kwargs):
        from valueloop.flags import services

        return services.flag_create(actor=actor, **kwargs)


def environments(workspace) -> dict:
    """The workspace's flag environments by key (development, staging, production), made on first use."""
    from valueloop.flags.bootstrap import ensure_environments

    return {e.key: e for e in ensure_environments(workspace)}


def experiment_lab(
    actor, *, label: str = "alpha", environment: str = "development", feature=None, problem=None, **extra
):
    """A boolean flag, three metrics (conversion, revenue per user, errors as a guardrail) and a draft experiment
    on them, through the experiments services; returns ``(experiment, {"flag", "env", "conversion", "revenue",
    "errors"})``."""
    from valueloop.experiments import services

    flag = FlagFactory(actor=actor, key=f"{label}-checkout", description=f"{label} checkout flag")
    conversion = services.metric_create(
        actor=actor, key=f"{label}-conversion", name=f"{label.title()} checkout conversion", event="purchase"
    )
    revenue = services.metric_create(
        actor=actor, key=f"{label}-revenue", name="Revenue per user", kind="mean", event="purchase", aggregation="sum"
    )
    errors = services.metric_create(
        actor=actor, key=f"{label}-errors", name="Errors per user", kind="mean", event="error", lower_is_better=True
    )
    env = environments(actor.workspace)[environment]
    data = {
        "key": f"{label}-test",
        "name": f"{label.title()} one-page checkout",
        "hypothesis": f"A one-page checkout lifts conversion ({label}-secret).",
        "feature_id": feature.pk if feature is not None else None,
        "problem_id": problem.pk if problem is not None else None,
        "flag_id": flag.pk,
        "environment_id": env.pk,
        "variations": [{"name": "Control", "value": False}, {"name": "One page", "value": True}],
        "metrics": [
            {"metric_id": conversion.pk, "role": "primary"},
            {"metric_id": revenue.pk, "role": "secondary"},
            {"metric_id": errors.pk, "role": "guardrail"},
        ],
        **extra,
    }
    experiment = services.experiment_create(actor=actor, **data)
    return experiment, {"flag": flag, "env": env, "conversion": conversion, "revenue": revenue, "errors": errors}

from django.apps import AppConfig

# The rows the home page counts (home.selectors.home_summary), and the workspace itself: a write to one drops the
# workspace's cached counts.
SUMMARY_MODELS = ("workspaces.Product", "workspaces.ProductArea", "workspaces.Membership", "workspaces.Workspace")


def _forget_summary(sender, instance, **kwargs) -> None:
    from django.db import transaction

    from .selectors import forget_summary

    workspace_id = instance.pk if sender._meta.label == "workspaces.Workspace" else instance.workspace_id
    forget_summary(workspace_id)
    # Again after the commit: a request in another thread may have re-read the old counts in between.
    transaction.on_commit(lambda: forget_summary(workspace_id), robust=True)


class HomeConfig(AppConfig):
    name = "valueloop.home"
    label = "home"

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_delete, post_save

        # Each sender named: a receiver without one would count as a delete listener of every model and turn off
        # Django's fast (SQL-only) cascading deletes everywhere. Models by label: this app reaches the workspaces
        # app only through its facade.
        for label in SUMMARY_MODELS:
            model = apps.get_model(label)
            post_save.connect(_forget_summary, sender=model, dispatch_uid=f"home.forget_summary.save.{label}")
            post_delete.connect(_forget_summary, sender=model, dispatch_uid=f"home.forget_summary.delete.{label}")

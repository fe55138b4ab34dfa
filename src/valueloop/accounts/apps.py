from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "valueloop.accounts"
    label = "accounts"

from django.apps import AppConfig


class ThemesConfig(AppConfig):
    name = "valueloop.themes"
    label = "themes"
    verbose_name = "Themes"

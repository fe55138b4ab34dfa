from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "valueloop.evidence"
    label = "evidence"

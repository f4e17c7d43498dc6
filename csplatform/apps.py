from django.apps import AppConfig


class CsplatformConfig(AppConfig):
    name = "csplatform"
    verbose_name = "csplatform"

    def ready(self) -> None:
        from csplatform import checks  # noqa: F401  (registers the system checks)

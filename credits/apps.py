from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from credits import checks  # noqa: F401 (registers the deployment checks)

from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The demo and benchmark data generator (`manage.py seed_demo`), above every layer:
    it writes through every app, and no app imports it."""

    name = "bench"
    verbose_name = "Demo and benchmark data"

"""Playbook names and task titles, and task reasons, stored as keys with parameters
(csplatform.texts) instead of sentences in the organization's language.

The old columns become the typed text (`custom_…`); a row whose text is one of the
sentences the application wrote (in English or in Brazilian Portuguese, as the
catalogue translates it) gets its key and parameters instead, any other text stays
as typed text. The sentences are copied here as they were written, so the migration
does not change when the code does. Organization by organization, under that
tenant's setting.
"""

import re

from django.db import migrations, models
from django.utils import translation
from django.utils.translation import gettext

from csplatform.rls import each_organization
from csplatform.texts import key_or_text, sentences_to_keys

# The sentences as the application wrote them (metrics/playbooks.py before this change).
NAMES = {
    "playbook.band_drop.name": "Health band drop",
    "playbook.detractor.name": "Detractor follow-up",
    "playbook.renewal.name": "Renewal preparation",
    "playbook.inactive.name": "Inactive customer",
    "playbook.ttv_overdue.name": "Time to value overdue",
    "playbook.triad.name": "Triad check",
}
TITLES = {
    "playbook.band_drop.task_title": "Find out why health dropped",
    "playbook.detractor.task_title": "Call back the unhappy customer",
    "playbook.renewal.task_title": "Prepare the renewal",
    "playbook.inactive.task_title": "Re-engage the customer",
    "playbook.ttv_overdue.task_title": "Help the customer reach first value",
    "playbook.triad.task_title": "Review goals and outcomes with the customer",
}
REASONS = {
    "task_reason.band_fell": "Health fell from %(before)s to %(after)s on %(day)s",
    "task_reason.band_first_at_risk": "Health is at risk on its first score, %(day)s",
    "task_reason.detractor": "%(kind)s %(score)s on %(day)s",
    "task_reason.renewal": "Renewal on %(day)s",
    "task_reason.inactive": "No activity since %(day)s",
    "task_reason.never_active": "No activity since becoming a customer on %(day)s",
    "task_reason.ttv_overdue": "No value milestone %(days)s days after becoming a customer",
    "task_reason.triad.happy_unengaged": "Happy without engagement or results",
    "task_reason.triad.engaged_no_results": "Engaged without results",
}
BANDS = {"healthy": "Healthy", "neutral": "Neutral", "at_risk": "At risk"}
LANGUAGES = ["en", "pt-br"]
# Parameter → pattern of its stored value, and its conversion back to the stored value.
PARAMS = {
    "day": (r"\d{4}-\d{2}-\d{2}", str),
    "score": (r"\d+", int),
    "days": (r"\d+", int),
    "kind": (r"NPS|CSAT|CES", str.lower),
}


def _translations(sentences):
    """(text, key) for each sentence in each language."""
    pairs = []
    for language in LANGUAGES:
        with translation.override(language):
            pairs += [(gettext(text), key) for key, text in sentences.items()]
    return pairs


def _band_labels():
    """Lower-case band label → band value, in every language."""
    labels = {}
    for language in LANGUAGES:
        with translation.override(language):
            labels |= {gettext(label).lower(): value for value, label in BANDS.items()}
    return labels


def _reason_patterns():
    """(regex, key) for each reason sentence in each language: one named group per
    parameter."""
    bands = "|".join(re.escape(label) for label in _band_labels())
    patterns = []
    for text, key in _translations(REASONS):
        regex, position = "", 0
        for match in re.finditer(r"%\((\w+)\)s", text):
            name = match.group(1)
            value = bands if name in {"before", "after"} else PARAMS[name][0]
            regex += re.escape(text[position : match.start()]) + f"(?P<{name}>{value})"
            position = match.end()
        regex += re.escape(text[position:])
        patterns.append((re.compile(regex), key))
    return patterns


def _reason_key(text, patterns, bands):
    """(key, params) of a stored reason, or None for text a person typed."""
    for pattern, key in patterns:
        match = pattern.fullmatch(text)
        if match:
            params = {}
            for name, value in match.groupdict().items():
                params[name] = bands[value] if name in {"before", "after"} else PARAMS[name][1](value)
            return key, params
    return None


def convert(apps, schema_editor):
    Playbook = apps.get_model("journeys", "Playbook")
    Task = apps.get_model("journeys", "Task")
    names = dict(_translations(NAMES))
    titles = dict(_translations(TITLES))
    patterns, bands = _reason_patterns(), _band_labels()
    for organization_id in each_organization(schema_editor):
        playbooks = Playbook._base_manager.filter(organization_id=organization_id)
        Playbook._base_manager.bulk_update(
            sentences_to_keys(
                playbooks,
                ("name_key", "custom_name", names),
                ("task_title_key", "custom_task_title", titles),
            ),
            ["name_key", "custom_name", "task_title_key", "custom_task_title"],
        )
        tasks = list(Task._base_manager.filter(organization_id=organization_id))
        changed = {task.pk: task for task in sentences_to_keys(tasks, ("title_key", "custom_title", titles))}
        for task in tasks:
            reason = _reason_key(task.custom_reason, patterns, bands)
            if reason:
                task.reason_key, task.reason_params = reason
                task.custom_reason = ""
                changed[task.pk] = task
        Task._base_manager.bulk_update(
            list(changed.values()),
            ["title_key", "custom_title", "reason_key", "reason_params", "custom_reason"],
            batch_size=1000,
        )


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0009_survey_fatigue_settings"),
        ("journeys", "0010_stage_transition_django_clock"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="playbook", name="playbook_name_unique"),
        migrations.RenameField(model_name="playbook", old_name="name", new_name="custom_name"),
        migrations.AlterField(
            model_name="playbook",
            name="custom_name",
            field=models.CharField(blank=True, max_length=200, verbose_name="name"),
        ),
        migrations.AddField(
            model_name="playbook",
            name="name_key",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RenameField(
            model_name="playbook", old_name="task_title", new_name="custom_task_title"
        ),
        migrations.AlterField(
            model_name="playbook",
            name="custom_task_title",
            field=models.CharField(blank=True, max_length=200, verbose_name="task title"),
        ),
        migrations.AddField(
            model_name="playbook",
            name="task_title_key",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AlterModelOptions(
            name="playbook",
            options={
                "ordering": ["custom_name", "name_key"],
                "verbose_name": "playbook",
                "verbose_name_plural": "playbooks",
            },
        ),
        migrations.RenameField(model_name="task", old_name="title", new_name="custom_title"),
        migrations.AlterField(
            model_name="task",
            name="custom_title",
            field=models.CharField(blank=True, max_length=200, verbose_name="title"),
        ),
        migrations.AddField(
            model_name="task",
            name="title_key",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RenameField(model_name="task", old_name="reason", new_name="custom_reason"),
        migrations.AddField(
            model_name="task",
            name="reason_key",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="task",
            name="reason_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(convert, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="playbook",
            constraint=models.UniqueConstraint(
                fields=("organization", "name_key", "custom_name"), name="playbook_name_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="playbook",
            constraint=key_or_text(key="name_key", text="custom_name", name="playbook_name_key_or_text"),
        ),
        migrations.AddConstraint(
            model_name="playbook",
            constraint=key_or_text(key="task_title_key", text="custom_task_title", name="playbook_task_title_key_or_text"),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=key_or_text(key="title_key", text="custom_title", name="task_title_key_or_text"),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=key_or_text(key="reason_key", text="custom_reason", name="task_reason_key_or_text"),
        ),
    ]

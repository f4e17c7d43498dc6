from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    MAX_USAGE_EVENT_RETENTION_DAYS,
    MIN_USAGE_EVENT_RETENTION_DAYS,
    Membership,
    Organization,
    Role,
    User,
    normalize_email,
)


class EmailAuthenticationForm(AuthenticationForm):
    """The login form: the `username` field holds the email (axes reads it under that name)."""

    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean_username(self) -> str:
        return normalize_email(self.cleaned_data["username"])


def _role_choices(actor: Membership) -> list[tuple[str, Any]]:
    """The roles `actor` may hand out: only owners make owners."""
    return [
        (value, label)
        for value, label in Role.choices
        if value != Role.OWNER or actor.role == Role.OWNER
    ]


class MemberInvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MANAGER)

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(actor)  # type: ignore[attr-defined]

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])


MAX_UPLOAD_MB = 50


def _import_kinds() -> list[tuple[str, Any]]:
    from csplatform.imports import REGISTRY

    return [(name, REGISTRY[name].label) for name in sorted(REGISTRY)]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file holds"), choices=_import_kinds)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Comma or semicolon separated; UTF-8 or Latin-1; dates as 31/12/2025 or 2025-12-31."
        ),
    )

    def clean_file(self) -> Any:
        uploaded = self.cleaned_data["file"]
        if uploaded.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB: split it, or use manage.py import_csv.")
                % {"mb": MAX_UPLOAD_MB}
            )
        return uploaded


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses this key, e.g. “CRM sync” or “billing webhook”."),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(actor)  # type: ignore[attr-defined]


class SignUpForm(forms.Form):
    """Creating an account from an invitation: the email is fixed by the invitation."""

    full_name = forms.CharField(label=_("Full name"), max_length=150)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Confirm password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords differ."))
        elif password1:
            candidate = User(email=self.email, full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class RetentionForm(forms.ModelForm):
    """The organization's privacy settings: how long raw usage events are kept."""

    class Meta:
        model = Organization
        fields = ["usage_event_retention_days"]
        widgets = {
            "usage_event_retention_days": forms.NumberInput(
                attrs={
                    "min": MIN_USAGE_EVENT_RETENTION_DAYS,
                    "max": MAX_USAGE_EVENT_RETENTION_DAYS,
                }
            )
        }


class ContactEraseForm(forms.Form):
    """The confirmation of an erasure: the admin types the contact's email again."""

    email = forms.EmailField(label=_("Type the contact's email to confirm"))

    def __init__(self, *args: Any, contact_email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contact_email = normalize_email(contact_email)

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if email != self.contact_email:
            raise forms.ValidationError(_("This is not the contact's email."))
        return email

from django import forms
from django.utils.translation import gettext_lazy as _


class StripeKeyForm(forms.Form):
    # A password input that never renders its value: a refused key is not echoed back.
    key = forms.CharField(
        label=_("Restricted key"),
        max_length=255,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "In Stripe: Developers, API keys, Create restricted key, with Read on customers, "
            "subscriptions, invoices, prices, products and events."
        ),
    )


class WebhookSecretForm(forms.Form):
    secret = forms.CharField(
        label=_("Signing secret"),
        max_length=255,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Shown by Stripe on the endpoint's page once it is added: whsec_…"),
    )

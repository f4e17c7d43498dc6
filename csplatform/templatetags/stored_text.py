"""`{{ value|stored_text }}`: a value that may be a stored-text key (csplatform.texts),
shown in the reader's language; any other text is shown as it is."""

from django import template

from csplatform.texts import message_render

register = template.Library()


@register.filter(name="stored_text")
def stored_text_filter(value: object) -> object:
    return message_render(value) if isinstance(value, str) and value else value

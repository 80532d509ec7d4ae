"""Audit entries as sentences in templates: `{% audit_rows events as rows %}` gives
(event, sentence) pairs, loading what the entries are about in one query per kind of object."""

from django import template

from referrals import selectors
from referrals.audit_sentences import audit_sentences

register = template.Library()


@register.simple_tag
def audit_rows(events):
    events = list(events)
    return audit_sentences(events, selectors.audit_event_subjects(events))

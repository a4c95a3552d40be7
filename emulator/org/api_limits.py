"""Salesforce's documented request limits, each with the source it comes from.

The gateway is shaped by these figures, so the emulator must never be more generous than
Salesforce. Where the documentation gives the figure but not the error body, the body is the
emulator's closest guess and README's "where the emulator knowingly differs" says so.
"""

from __future__ import annotations

from collections.abc import Iterable

# Help article 000386264 ("Maximum number of rows returned by SOQL queries over the REST API"):
# "In each REST API call, the maximum combined length of the URI and headers is 16,384 bytes.
# A request exceeding this limit returns a 431 Request Header Fields Too Large error. If the
# URI itself exceeds the limit, the request returns a 414 URI Too Long error."
MAX_URI_AND_HEADERS_BYTES = 16_384

# REST API Developer Guide, "Send Multiple Requests Using Composite"
# (resources_composite_composite_post.htm): "You can have up to 25 subrequests in a single call.
# Up to 5 of these subrequests can be sObject Collections or query operations, including Query
# and QueryAll requests." The whole Composite counts as one API call.
COMPOSITE_MAX_SUBREQUESTS = 25
COMPOSITE_MAX_QUERY_OR_COLLECTIONS = 5

# REST API Developer Guide, sObject Collections create/update/upsert/delete
# (resources_composite_sobjects_collections*.htm): "The list can contain up to 200 objects";
# create: objects of several types are processed in chunks, at most 10 per request
# ("Cannot have more than 10 chunks in a single operation").
COLLECTIONS_MAX_RECORDS = 200
COLLECTIONS_MAX_TYPE_CHUNKS = 10
# sObject Collections retrieve: "up to 2,000 records" by ids.
COLLECTIONS_MAX_RETRIEVE = 2000

# SOAP convertLead: no figure found in the SOAP API's convertLead() reference
# (sforce_api_calls_convertlead.htm). The Apex Reference, Database.convertLead
# (apex_methods_system_database.htm), now says "We recommend passing a maximum of 100
# LeadConvert objects [...] Including more than 100 objects per call can result in Apex
# governor limit errors" (older versions: "accepts up to 100"). The emulator holds the SOAP
# call to that 100, a guess README lists.
CONVERT_LEAD_MAX_RECORDS = 100

# Salesforce App Limits Cheatsheet, "SOQL and SOSL Limits for Search Queries"
# (salesforce_app_limits_platform_soslsoql.htm): "Maximum length of SOQL statements: by default,
# 100,000 characters"; "Strings in SOQL WHERE clauses: 4,000 characters for each string".
SOQL_MAX_STATEMENT_CHARS = 100_000
SOQL_MAX_WHERE_STRING_CHARS = 4_000


def uri_and_headers_status(target: str, headers: Iterable[tuple[str, str]]) -> int | None:
    """414 when the request target alone is over the limit, 431 when it is with the headers.

    ``target`` is the request line's target (path and query, still percent-encoded); headers
    count as ``Name: value`` plus CRLF, as they travel.
    """
    uri_bytes = len(target.encode("latin-1", "replace"))
    if uri_bytes > MAX_URI_AND_HEADERS_BYTES:
        return 414
    header_bytes = sum(len(f"{name}: {value}\r\n".encode("latin-1", "replace"))
                       for name, value in headers)
    if uri_bytes + header_bytes > MAX_URI_AND_HEADERS_BYTES:
        return 431
    return None

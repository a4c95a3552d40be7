"""Salesforce's documented limits that shape every request the gateway sends.

The gateway is built to these figures, never to what an emulator happens to accept: a client
that only works against a more generous server fails in production on the first large batch.

Sources (Salesforce documentation):

* Composite: "up to 25 subrequests in a single request"; "up to 5 of these subrequests can be
  sObject Collections or query operations" (REST API Developer Guide, Composite resource,
  ``resources_composite_composite.htm``). The whole request counts as one API call.
* sObject Collections: "up to 200 records" per create/update/upsert request
  (``resources_composite_sobjects_collections*.htm``); one API call.
* sObject Collections retrieve: "up to 2,000 records" by ID per GET
  (``resources_composite_sobjects_collections_retrieve.htm``); one API call.
* SOAP ``convertLead()``: Apex documents 100 ``LeadConvert`` objects per call
  (``apex_methods_system_database.htm``: "We recommend passing a maximum of 100 LeadConvert
  objects [...] Including more than 100 objects per call can result in Apex governor limit
  errors"; older versions said "accepts up to 100"); the SOAP call converts the same
  structure, so the gateway never sends more than 100 per call.
* URI length: a REST GET's URI and headers together may not exceed 16,384 bytes (REST API
  Developer Guide, "Request Limits" / 414 URI Too Long); queries go in the URI.
* SOQL statement: at most 100,000 characters; a single string literal in a WHERE clause at
  most 4,000 characters (SOQL and SOSL Reference, "SOQL and SOSL Limits").
"""

from __future__ import annotations

COMPOSITE_MAX_SUBREQUESTS = 25
COMPOSITE_MAX_QUERY_OR_COLLECTIONS = 5
COLLECTIONS_MAX_RECORDS = 200
COLLECTIONS_MAX_RETRIEVE = 2000
CONVERT_LEAD_MAX_PER_CALL = 100
URI_MAX_BYTES = 16_384
URI_HEADER_ALLOWANCE_BYTES = 2_048  # room left for headers (token, call options) beside the URI
SOQL_MAX_CHARS = 100_000
SOQL_MAX_LITERAL_CHARS = 4_000

"""A SOQL engine for the emulator: the subset of Salesforce's query language the project uses.

Two steps, so the REST layer can report syntax errors before touching the store::

    query = parse(text)                 # SoqlError(MALFORMED_QUERY)
    result = execute(query, catalog, rows, now=now, resolve=resolve)
                                        # SoqlError(INVALID_TYPE / INVALID_FIELD)

No third-party parser fits (see the research notes, section 5): both candidates accept
mixed AND/OR and reject what ``simple_salesforce.format_soql`` emits.
"""

from emulator.soql.errors import SoqlError
from emulator.soql.evaluate import QueryResult, Resolver, execute
from emulator.soql.nodes import Query
from emulator.soql.parser import parse

__all__ = ["Query", "QueryResult", "Resolver", "SoqlError", "execute", "parse"]

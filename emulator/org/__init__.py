"""The emulated org's HTTP half: OAuth, REST, SOQL, collections, composite, SOAP, CDC."""

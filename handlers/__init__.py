"""Lifecycle rules and the Salesforce gateway (the only code that talks REST/SOAP)."""

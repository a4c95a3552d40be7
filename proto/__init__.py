"""The Salesforce Pub/Sub API contract (``eventbus.v1``) and its generated Python stubs."""

"""Salesforce Pub/Sub intake: authenticate, subscribe, decode, and land events durably."""

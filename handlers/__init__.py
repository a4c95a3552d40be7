"""Lifecycle rules and the Salesforce gateway (the only code that talks REST/SOAP).

Pure parts (no I/O): :mod:`handlers.parse` and :mod:`handlers.payloads` (inbox entries → typed
events, or :class:`~handlers.events.Invalid` with a note), :mod:`handlers.emails` (normalised
addresses, registrable domains, shared domains), :mod:`handlers.soql` (the one place SOQL
literals are escaped), :mod:`handlers.rules` with :mod:`handlers.lifecycle_rules`,
:mod:`handlers.links` and :mod:`handlers.lead_rules` (events + :class:`~handlers.snapshot.Snapshot`
→ :class:`~handlers.plan.Plan`), :mod:`handlers.conflicts` (conflicting data sent to review,
the default trial length), :mod:`handlers.usage` (usage figures kept on the Workspace),
:mod:`handlers.history` (the event log kept in ``Trial_History__c`` and the state it folds
to); :mod:`handlers.rule_settings` is what they take from ``[apply]``.

I/O: :mod:`handlers.gateway` (reads, Lead creation, ``convertLead``, upserts, sized by
:mod:`handlers.limits`) over :mod:`handlers.sf_client` (session, timeouts, retries, error
mapping). :func:`handlers.cycle.run_cycle` ties one cycle together; ``service/apply_loop.py``
runs cycles.
"""

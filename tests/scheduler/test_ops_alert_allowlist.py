"""Shadow-mode pilots: ``alerts.owner_allowlist`` limits trial alerts to the pilot team."""

from __future__ import annotations

import dataclasses

from sched_rig import OrgRig
from test_trial_alerts import NOW, PARIS, _day, _tasks, _workspace

from scheduler.trial_alerts import trial_alerts


def test_only_allowlisted_owners_get_alerts(org: OrgRig) -> None:
    pilot, other = org.user("Pilot"), org.user("Other")
    pilot_lead = org.create("Lead", LastName="P", Company="P", Email="p@p.example",
                            OwnerId=pilot)
    other_lead = org.create("Lead", LastName="O", Company="O", Email="o@o.example",
                            OwnerId=other)
    mine = _workspace(org, "ws-pilot", "Trial", _day(7), Lead__c=pilot_lead)
    _workspace(org, "ws-other", "Trial", _day(7), Lead__c=other_lead)
    settings = dataclasses.replace(PARIS, owner_allowlist=(pilot,))
    assert trial_alerts(NOW, org.sf, settings).endswith("1 alert(s) sent")
    assert [t["WhatId"] for t in _tasks(org)] == [mine]

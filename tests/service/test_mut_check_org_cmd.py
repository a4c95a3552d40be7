"""``lifecycle-sync check`` describes each object over REST (the emulator over TLS): an object
the org does not have is reported missing, not a crash (mutation testing found the not-found
path unpinned)."""

from __future__ import annotations

from emulator.server import Emulator
from handlers.sf_client import ClientSettings, SalesforceClient

# _describer, private: check-org needs a whole org set up to reach a missing object; this
# asks the emulator for one missing and one deployed object directly.
from service.check_org_cmd import _describer
from subscriber.auth import Session, SessionProvider, StaticToken


def test_describe_of_a_missing_object_is_none_and_of_a_present_one_its_fields(
        emulator: Emulator) -> None:
    info = emulator.info()
    sessions = SessionProvider(StaticToken(Session(info["access_token"], info["instance_url"],
                                                   info["tenant_id"])))
    client = SalesforceClient(sessions, ClientSettings(ca_file=info["ca_cert"]))
    describe = _describer(client)
    assert describe("Nope_Not_Deployed__c") is None
    found = describe("Event_Cache__c")
    assert found is not None
    assert "Event_Uuid__c" in {f["name"] for f in found["fields"]}

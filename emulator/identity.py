"""The emulated org's fixed identity: org ID, the integration user, the connected app.

Created once per state directory and kept in ``identity.json``, so IDs and client credentials
stay the same across restarts (clients keep their configuration).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from emulator.ids import random_id


@dataclass(frozen=True)
class OrgIdentity:
    """IDs and credentials that make up the emulated org."""

    org_id: str
    integration_user_id: str
    username: str
    client_id: str
    client_secret: str

    @property
    def tenant_guid(self) -> str:
        """The org ID as GetTopic reports it in ``tenant_guid``."""
        return self.org_id


def load_or_create_identity(state_dir: Path) -> OrgIdentity:
    """Read ``identity.json`` or create it with fresh Salesforce-shaped IDs."""
    path = state_dir / "identity.json"
    if path.exists():
        return OrgIdentity(**json.loads(path.read_text()))
    identity = OrgIdentity(
        org_id=random_id("00D"),
        integration_user_id=random_id("005"),
        username="integration@lifecycle-sync.emulator",
        client_id="3MVG9" + secrets.token_urlsafe(60).replace("-", "A").replace("_", "b"),
        client_secret=secrets.token_hex(32).upper(),
    )
    path.touch(mode=0o600)
    path.write_text(json.dumps(asdict(identity), indent=2))
    return identity

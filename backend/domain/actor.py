"""Who is acting: passed from the HTTP edge (or the CLI) into every service call."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # "user" (staff or customer), "api_client", "system"
    id: int | None
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    realm: str = "staff"
    org_unit_id: int | None = None
    org_path: str | None = None  # materialised path of the actor's org unit, e.g. "/1/4/"
    ip: str | None = None
    request_id: str | None = None
    session_id: int | None = None

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


SYSTEM = Actor(kind="system", id=None, name="system", roles=frozenset({"admin"}), org_path="/")

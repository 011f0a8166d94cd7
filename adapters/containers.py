"""Meta's media containers (Instagram and Threads): a post is first a container, published by a
second call; these are the two things both adapters ask of one.

Both also cap the posts an account publishes through the API per moving 24 hours
(``PublishingQuota``, read by the engine's quota gate before publishing). A container is polled
until it is ready (bounded: a container that never gets ready published
nothing, so giving up is a safe retry), and after a lost answer to the publishing call its
status says whether that call went through (PUBLISHED): then the post exists even if lookup
cannot find it, and sending it again would show it twice.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from .base import OutcomeUnknown, Rejected, Unavailable, Unknowable
from .graph import GraphClient


@dataclasses.dataclass(frozen=True)
class PublishingQuota:
    """The account's use of its publishing limit over the last ``duration_s`` seconds."""

    used: int
    total: int
    duration_s: int = 86400

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.used)


@dataclasses.dataclass(frozen=True)
class Containers:
    """How one platform names a container's state, and how long to wait for it."""

    client: GraphClient
    #: "Instagram" or "Threads", for messages
    name: str
    #: the field holding FINISHED / PUBLISHED / ERROR / EXPIRED (Instagram: ``status_code``)
    state_field: str
    #: the field saying why it failed (Instagram: ``status``; Threads: ``error_message``)
    detail_field: str
    poll_interval_s: float
    poll_timeout_s: float
    sleep: Callable[[float], None]
    monotonic: Callable[[], float]
    #: containers whose publishing answer was lost, by idempotency key (this process)
    sent: dict[str, str] = dataclasses.field(default_factory=dict)

    def publish(self, path: str, container: str, idempotency_key: str) -> str:
        """The one call that publishes (``media_publish``, ``threads_publish``); returns the
        media id. A lost answer is an unknown outcome, and the container is remembered for
        ``refuse_if_published``."""
        try:
            result = self.client.call("publish", path, post_args={"creation_id": container},
                                      write=True)
        except OutcomeUnknown:
            self.sent[idempotency_key] = container
            raise
        return str(result["id"])

    def quota(self, path: str) -> PublishingQuota:
        """The account's publishing quota (``{"data": [{"quota_usage", "config":
        {"quota_total", "quota_duration"}}]}``: content_publishing_limit,
        threads_publishing_limit)."""
        found = self.client.call("quota", path, args={"fields": "quota_usage,config"})
        try:
            row = (found.get("data") or [{}])[0]
            config = row.get("config") or {}
            return PublishingQuota(used=int(row.get("quota_usage") or 0),
                                   total=int(config["quota_total"]),
                                   duration_s=int(config.get("quota_duration") or 86400))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise Unavailable(f"{self.name} quota answer not understood: {found!r}"[:300]) \
                from exc

    def wait_finished(self, container: str) -> None:
        """Poll ``container`` until FINISHED (bounded); ERROR and EXPIRED are refusals."""
        deadline = self.monotonic() + self.poll_timeout_s
        while True:
            state = self.client.call("publish", container, args={
                "fields": f"{self.state_field},{self.detail_field}"})
            value = state.get(self.state_field)
            if value in ("FINISHED", "PUBLISHED"):
                return
            if value in ("ERROR", "EXPIRED"):
                raise Rejected(f"{self.name} container {container} is {value}: "
                               f"{state.get(self.detail_field) or 'no detail'}")
            if self.monotonic() + self.poll_interval_s > deadline:
                # nothing was published: safe to try again later with a new container
                raise Unavailable(f"{self.name} container {container} still {value} after "
                                  f"{self.poll_timeout_s:.0f} s: nothing was published")
            self.sleep(self.poll_interval_s)

    def refuse_if_published(self, idempotency_key: str, account: str) -> None:
        """After lookup found no post for a lost publishing answer: ``Unknowable`` when the
        container that attempt sent says it was published (a person looks), else nothing
        (safe to send)."""
        container = self.sent.get(idempotency_key)
        if container is None:
            return
        state = self.client.call("lookup", container, args={"fields": self.state_field})
        if state.get(self.state_field) == "PUBLISHED":
            raise Unknowable(f"{self.name} container {container} of {account} was published, "
                             "but no recent post has its text: look at the account before "
                             "sending it again")

"""The engine: turns a plan into posts on time, once, and keeps every transition.

Read in the order a post travels:

- ``states``, ``fields``, ``clock``: the states a job goes through, every field of its hash,
  the instants as milliseconds (pure).
- ``keys``, ``store`` (+ ``scripts`` and the ``lua/`` files): the Redis client; every job's
  state, fields and audit trail, each transition one atomic script with its audit line.
- ``diff`` (pure), ``sync``: a new plan against the store: added, moved, re-rendered,
  cancelled, corrections planned.
- ``dispatcher``: claims jobs at their instant (minus a lead) and hands them to the broker.
- ``broker``: dramatiq over Redis and the actors; ``publisher``: one attempt (the corrected
  post ready, go-live, images, quota), sent through an adapter; lookup decides uncertain
  outcomes.
- ``quiet``, ``quota``, ``golive``, ``holds``: why a post waits, and how it is released.
- ``retry``, ``metrics``, ``adapter_pool``, ``redis_server``, ``service``: operations around
  it (``service`` wires everything into ``pregonero run``).
"""

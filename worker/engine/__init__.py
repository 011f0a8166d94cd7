"""The engine: turns a plan into posts on time, once, and keeps every transition.

Read in the order a post travels:

- ``keys``, ``store`` (+ ``scripts``): the only Redis client; every job's state, fields and
  audit trail, each transition one atomic script.
- ``diff``, ``sync``: a new plan against the store: added, moved, re-rendered, cancelled.
- ``dispatcher``: claims jobs at their instant (minus a lead) and hands them to the broker.
- ``publisher``: the dramatiq actors; runs the gates (quiet periods, quota, go-live, the
  corrected post ready) and sends through an adapter; lookup decides uncertain outcomes.
- ``quiet``, ``quota``, ``golive``, ``holds``: why a post waits, and how it is released.
- ``retry``, ``metrics``, ``adapter_pool``, ``redis_server``, ``service``: operations
  around it (``service`` wires everything into ``pregonero run``).
"""

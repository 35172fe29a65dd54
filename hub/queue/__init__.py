"""Workers on PostgreSQL: the hub's jobs as procrastinate tasks (docs/workers.md).

- :mod:`hub.queue.flow` (engine): the order of a run's steps, kept in procrastinate's own tables
  and one small table of ours (``hub_queue_done``), and what ``hub jobs`` reads.
- :mod:`hub.queue.tasks`: the procrastinate tasks, the app built from the store's URL, the retry
  rule and the worker.
- :mod:`hub.queue.service`: :class:`~hub.queue.service.Queue`, the service the command line (and
  the web console) reach as ``hub.queue``.

The package loads nothing on import: the command line pays for procrastinate only when it runs a
queue command.
"""

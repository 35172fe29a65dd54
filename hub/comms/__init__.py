"""Collection communications: reminder emails, letters and statements, compliance rules, disputes.

- :mod:`hub.comms.render`: Jinja2 templates per ladder step, channel and language, and PDFs (WeasyPrint);
- :mod:`hub.comms.compliance`: the rules a contact must pass (frequency, quiet hours, opt-out, disputes);
- :mod:`hub.comms.engine`: contacts, disputes, the message queue and its delivery over SMTP, each
  send one collection-ledger line.

People and programs reach it through :class:`hub.services.Comms` and :class:`hub.services.Disputes`
(``hub.comms``, ``hub.disputes`` of a :class:`hub.app.Hub`); docs/communications.md explains it.
"""

"""The web console and REST API (``hub serve``): FastAPI on the service layer (:mod:`hub.services`).

Pages and endpoints call the same services as the command line, so an action taken in a browser is
checked, audited and sent to the sinks exactly as the same action typed at a terminal.
"""

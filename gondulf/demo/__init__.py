"""`gondulf demo`: a whole sign-in on one machine, with the outside world on loopback.

Gondulf runs as in development mode, with the same services as in production;
only what it talks to is local and made up: a DNS server answering for
`demo.test` (`nameserver.py`), a person's homepage (`homepage.py`) and an
IndieAuth app (`client.py` for its protocol steps, `app.py` for its pages).
`world.py` starts them together; `terminal.py` is what the person reads.
"""

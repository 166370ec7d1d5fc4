"""Real servers on 127.0.0.1 that tests start: DNS, SMTP and web pages."""

"""Alerts: rules read from a TOML file, fired on task and group state changes, sent through Apprise.

- :mod:`.rules`: the rules file, checked at start;
- :mod:`.watch`: which state changes happened (pure: a change in, triggers out);
- :mod:`.message`: the title and body a notification carries (pure);
- :mod:`.ledger`: claims (each state change alerts once across servers, cooldowns) and the recent alerts;
- :mod:`.delivery`: sending to each target, with a timeout, retries and an outcome;
- :mod:`.engine`: the queue and workers joining them, off the ingest path.
"""

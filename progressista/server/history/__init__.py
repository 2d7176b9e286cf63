"""History of finished runs: what ran, how long it took, and how long each key usually takes.

- :mod:`.rows`: a finished task as a history row, and how rows are queried (pure);
- :mod:`.sqlite`: the embedded store, a SQLite file (WAL), written off the event loop;
- :mod:`.redis`: the store every server on one Redis shares;
- :mod:`.recorder`: the store's changes in, rows out (batched), the usual duration of every key kept live.
"""

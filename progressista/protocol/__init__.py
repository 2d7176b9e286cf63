"""The contract between the sides: what the client sends, the server keeps and the dashboards show.

Standard library only, importing nothing else of the package, so the client,
the server, the CLI and the dashboards all cite one definition:

- :mod:`.statuses`: event and task statuses, ``?status=`` filters, the three columns;
- :mod:`.task`: field limits, the task's fields and defaults, which fields are progress;
- :mod:`.feed`: ``/ws`` messages, close codes, the reconnect backoff;
- :mod:`.groups`: which tasks form a group, a group's aggregate, and its run head row;
- :mod:`.reasons`: why a task ended ``error`` (``meta.error``, else ``meta.signal``), as every surface says it;
- :mod:`.runs`: the run task a ``progressista run`` or ``exec`` posts for the program itself;
- :mod:`.urls`: any URL a user gives, normalised to the server's endpoints;
- :mod:`.roles`: token roles (ingest, read, admin), what each may do, the tokens file's lines;
- :mod:`.alerts`: the states an alert rule fires on, a group's outcome, how a target is shown;
- :mod:`.text`: how task text is shown (control and invisible characters as ``<U+XXXX>`` markers;
  its cases, in ``text_cases.json``, are checked against the browser's ``js/text.js`` too);
- :mod:`.format`: amounts, rates, durations, ages and ETAs as both dashboards write them
  (its cases, in ``format_cases.json``, are checked against the Python and the
  browser's JavaScript alike).

Nothing is imported here: ``import progressista.protocol.statuses`` loads that module alone.
"""

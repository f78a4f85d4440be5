"""One module per section of the run report. Each turns a run's artifacts into plain,
display-ready values (text, rows, plot entries); none renders HTML, the templates do, with
autoescaping, so values from data or config are always text."""

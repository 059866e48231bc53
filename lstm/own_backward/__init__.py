"""Your own LSTM backward checked against the engine: the layouts it may be written in, the check that locates a
mistake by gate, unit and step, and the child process the command line runs your file in."""

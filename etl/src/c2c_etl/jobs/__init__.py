"""Jobs: the edges of the pipeline. Parse arguments, get one session, read, transform, write."""

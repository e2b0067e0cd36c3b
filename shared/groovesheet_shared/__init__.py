"""Code shared by the Groovesheet API and worker: the job record, storage, queue, settings, logging."""

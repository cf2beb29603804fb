"""Events through NATS JetStream: publishing into partitioned subjects and consumer workers.

An adapter beside `api/` and `cli/`: it calls the services (the bulk path) and the storage's unit
of work, and nothing below it knows it exists. `routing` says which partition an event goes to,
`publisher` puts events on the stream (de-duplicated by event id), `consumer` applies them in
batches and acks after the commit, `metrics` counts what it did for Prometheus.
"""

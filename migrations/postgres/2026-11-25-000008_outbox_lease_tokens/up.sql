-- A claim's fencing token. Each claim of a message writes a new one, and an
-- attempt's outcome is recorded only while the message still holds the
-- token of the claim that made it: a worker whose lease ran out while it
-- sent can never overwrite what the worker that took the message over
-- recorded (its `sent` with `failed`, or its count of attempts).
ALTER TABLE outbox_messages ADD COLUMN lease_token TEXT;

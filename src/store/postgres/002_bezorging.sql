-- Version 2: push delivery across instances.

-- Who delivers a subscription now, and until when (the database's clock):
-- one instance at a time, so that its messages go out once and in order.
CREATE TABLE bezorgers (
    id TEXT PRIMARY KEY,
    houder TEXT NOT NULL,
    tot TIMESTAMPTZ NOT NULL
);

-- A replay asked for on any instance, taken by the one that delivers.
CREATE TABLE herhalingen (id TEXT PRIMARY KEY, vanaf BIGINT NOT NULL);

-- ladderpost's tables, version 1. Values are the same JSON the sled
-- engine stores; the columns beside them are what queries select on.

-- Every accepted message: its number (acceptance order, gap-free), the
-- parsed record, and the bytes exactly as received.
CREATE TABLE berichten (
    volgnummer BIGINT PRIMARY KEY,
    bericht_id TEXT NOT NULL,
    bsn TEXT NOT NULL,
    gemeente TEXT NOT NULL,
    ontvangen BIGINT NOT NULL,
    record TEXT NOT NULL,
    raw BYTEA NOT NULL
);
CREATE INDEX berichten_bericht_id ON berichten (bericht_id);
CREATE INDEX berichten_bsn ON berichten (bsn, volgnummer);
CREATE INDEX berichten_gemeente ON berichten (gemeente, volgnummer);

-- Push delivery.
CREATE TABLE abonnementen (id TEXT PRIMARY KEY, waarde TEXT NOT NULL);
CREATE TABLE aflevering (id TEXT PRIMARY KEY, waarde TEXT NOT NULL);
CREATE TABLE dode_brieven (
    id TEXT NOT NULL,
    volgnummer BIGINT NOT NULL,
    waarde TEXT NOT NULL,
    PRIMARY KEY (id, volgnummer)
);

-- Organisations, credentials (hashes only), authorisations.
CREATE TABLE organisaties (id TEXT PRIMARY KEY, waarde TEXT NOT NULL);
CREATE TABLE sleutels (id TEXT PRIMARY KEY, waarde TEXT NOT NULL);
CREATE TABLE machtigingen (
    gemeente TEXT NOT NULL,
    aan TEXT NOT NULL,
    namens TEXT NOT NULL,
    waarde TEXT NOT NULL,
    PRIMARY KEY (gemeente, aan, namens)
);

-- The audit log: one writer round's entries share their moment of
-- recording, which increases strictly over the log; n orders a round.
CREATE TABLE audit (
    tijdstip BIGINT NOT NULL,
    n INTEGER NOT NULL,
    organisatie TEXT,
    waarde TEXT NOT NULL,
    PRIMARY KEY (tijdstip, n)
);

-- The installation's own settings: the BSN salt, whether it has started.
CREATE TABLE instellingen (naam TEXT PRIMARY KEY, waarde BYTEA NOT NULL);

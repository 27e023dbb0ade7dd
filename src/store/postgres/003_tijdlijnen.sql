-- Each client's timeline for the reports (store::tijdlijn, postcard
-- encoded), written in the transaction of the round that changes it; and
-- the municipalities a timeline has versions in. A database that has
-- messages already gets its timelines built once by ladderpost at start.
CREATE TABLE tijdlijnen (bsn TEXT PRIMARY KEY, tijdlijn BYTEA NOT NULL);
CREATE TABLE tijdlijn_gemeenten (
    gemeente TEXT NOT NULL,
    bsn TEXT NOT NULL,
    PRIMARY KEY (gemeente, bsn)
);

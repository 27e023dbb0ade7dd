"""The report questions as SQL, in SQLite and DuckDB, for `ladderpost bench reports`.

Loads the measurements ladderpost exported (a CSV, one row per stored
message) into SQLite (stdlib `sqlite3`, a file in WORK) and DuckDB (PyPI
`duckdb`, a file in WORK), then answers questions sent on stdin, one JSON
object a line, each with one JSON object a line on stdout:

    {"engine": "sqlite", "question": {"kind": "stand", "gemeente": "0363",
     "peildatum": "2025-12-31", "groepeerOp": "team"}}
    -> {"seconds": 1.23, "treden": [[trede, clienten, groeipotentieel], ...],
        "groepen": [[groep, trede, clienten, groeipotentieel], ...]}

Kinds: `stand` (peildatum, optional groepeerOp "team"), `stromen` (van,
tot), `jaar` (jaar). `gemeente` null means every municipality in the data.
Only non-zero rows are returned, in no particular order; the caller compares.

The semantics are ladderpost's (README, "Reports"), written independently:
a version is a Meting or Correctie that no later Correctie or Intrekking
names (`vervangt`); a client's state at D is its latest valid version by
(meetdatum, volgnummer) with meetdatum <= D; it counts for the municipality
of that version.

usage: python3 reports_sql.py CSV WORK [ENGINE,...]   (default sqlite,duckdb)
The first line printed is {"load": {"sqlite": S, "duckdb": S}, "rows": N}.
"""
import csv
import json
import os
import sys
import time

COLUMNS = ("volgnummer", "bsn", "gemeente", "soort", "vervangt", "meetdatum",
           "trede", "groeipotentieel", "team", "instrument_in_gebruik",
           "instrument_ingezet", "ontvangen")

# The valid versions of the clients in scope.
GELDIG = """
geldig AS (
    SELECT m.bsn, m.gemeente, m.meetdatum, m.volgnummer, m.trede,
           m.groeipotentieel, m.team, m.instrument_in_gebruik, m.instrument_ingezet
    FROM metingen m
    WHERE m.soort IN ('Meting', 'Correctie')
      AND NOT EXISTS (
          SELECT 1 FROM metingen l
          WHERE l.vervangt = m.volgnummer
            AND l.soort IN ('Correctie', 'Intrekking')
            AND l.volgnummer > m.volgnummer)
      {scope}
)"""

# Each client's state at a date: its latest valid version on or before it,
# materialised so that a join on it (flows) reads it once. Per engine, as
# each does it best: DuckDB with a window; SQLite with its documented
# bare-column rule (with exactly one max(), the other columns come from the
# row with the maximum), the order (meetdatum, volgnummer) as one integer,
# which streams along the (bsn, meetdatum, volgnummer) index without a sort
# (the window took about twice as long).
TOESTAND = {
    "duckdb": """
{name} AS MATERIALIZED (
    SELECT * FROM (
        SELECT g.*, ROW_NUMBER() OVER (
            PARTITION BY bsn ORDER BY meetdatum DESC, volgnummer DESC) AS r
        FROM geldig g
        WHERE meetdatum <= {datum}
    ) WHERE r = 1
)""",
    "sqlite": """
{name} AS MATERIALIZED (
    SELECT g.*, MAX(CAST(replace(meetdatum, '-', '') AS INTEGER) * 10000000000
                    + volgnummer) AS laatste
    FROM geldig g
    WHERE meetdatum <= {datum}
    GROUP BY bsn
)""",
}

# The SRG code of a state (table 1.1): intake 99, rungs 1-6 with an
# instrument in use or deployed their own code, without one 0; rung 9 none.
SRG = """CASE
    WHEN t.trede = 0 THEN '99'
    WHEN t.trede BETWEEN 1 AND 6
         AND (t.instrument_in_gebruik = 1 OR t.instrument_ingezet = 1) THEN
        CASE t.trede WHEN 1 THEN '1' WHEN 2 THEN '2' WHEN 3 THEN '3' WHEN 4 THEN '4'
                     WHEN 5 THEN '5a' WHEN 6 THEN '5b' END
    WHEN t.trede BETWEEN 1 AND 6 THEN '0'
END"""


def scoped(question, param):
    """The CTE prefix and the filter on the state's municipality."""
    if question.get("gemeente") is None:
        return "WITH " + GELDIG.format(scope=""), "TRUE"
    # Only clients with a version there can count there (what an index
    # on (gemeente, bsn) serves).
    scope = "AND m.bsn IN (SELECT bsn FROM metingen WHERE gemeente = {p})".format(p=param)
    return "WITH " + GELDIG.format(scope=scope), "t.gemeente = " + param


def sql_for(question, engine, param="?"):
    """The SQL text and its parameters for a question on `engine`; `param`
    is the placeholder."""
    kind = question["kind"]
    gemeente = question.get("gemeente")
    prefix, here = scoped(question, param)
    scope_args = [] if gemeente is None else [gemeente]
    here_args = [] if gemeente is None else [gemeente]
    if kind in ("stand", "jaar"):
        datum = question["peildatum"] if kind == "stand" else "%04d-12-31" % question["jaar"]
        group = "COALESCE(t.team, 'onbekend')" if question.get("groepeerOp") == "team" else "NULL"
        if question.get("groepeerOp") not in (None, "team"):
            raise ValueError("only groepeerOp team is implemented here")
        sql = prefix + "," + TOESTAND[engine].format(name="toestand", datum=param) + """
SELECT {group} AS groep, t.trede, {srg} AS srg, COUNT(*) AS clienten,
       SUM(CASE WHEN t.groeipotentieel = '+' THEN 1 ELSE 0 END) AS plus
FROM toestand t
WHERE {here}
GROUP BY 1, 2, 3""".format(group=group, srg=SRG, here=here)
        return sql, scope_args + [datum] + here_args
    if kind == "stromen":
        sql = (prefix + "," + TOESTAND[engine].format(name="naar", datum=param) + ","
               + TOESTAND[engine].format(name="van", datum=param) + """
SELECT v.trede AS van, t.trede AS naar, COUNT(*) AS clienten
FROM naar t LEFT JOIN van v ON v.bsn = t.bsn
WHERE {here}
GROUP BY 1, 2""".format(here=here))
        return sql, scope_args + [question["tot"], question["van"]] + here_args
    raise ValueError("unknown question kind %r" % kind)


def shape(question, rows):
    """The engine's rows as the answer: treden (and groepen, srg) or stromen."""
    kind = question["kind"]
    if kind == "stromen":
        return {"stromen": [[v, n, int(c)] for v, n, c in rows]}
    treden, groepen, srg = {}, {}, {}
    for groep, trede, code, clienten, plus in rows:
        clienten, plus = int(clienten), int(plus)
        t = treden.setdefault(trede, [trede, 0, 0])
        t[1] += clienten
        t[2] += plus
        if groep is not None:
            g = groepen.setdefault((groep, trede), [groep, trede, 0, 0])
            g[2] += clienten
            g[3] += plus
        if code is not None:
            srg[code] = srg.get(code, 0) + clienten
    out = {"treden": list(treden.values())}
    if question.get("groepeerOp"):
        out["groepen"] = list(groepen.values())
    if kind == "jaar":
        out["srg"] = [[c, n] for c, n in srg.items()]
    return out


def nullable_int(text):
    return int(text) if text != "" else None


def flag(text):
    return {"true": 1, "false": 0, "": None}[text]


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        if tuple(header) != COLUMNS:
            raise SystemExit("unexpected CSV header %r" % (header,))
        for r in reader:
            yield (int(r[0]), r[1], r[2], r[3], nullable_int(r[4]), r[5] or None,
                   nullable_int(r[6]), r[7] or None, r[8] or None, flag(r[9]), flag(r[10]), r[11])


def load_sqlite(path, work):
    import sqlite3
    db = os.path.join(work, "reports.sqlite")
    if os.path.exists(db):
        os.remove(db)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -262144")  # 256 MiB
    con.execute("PRAGMA temp_store = MEMORY")
    con.execute("""CREATE TABLE metingen (
        volgnummer INTEGER PRIMARY KEY, bsn TEXT NOT NULL, gemeente TEXT NOT NULL,
        soort TEXT NOT NULL, vervangt INTEGER, meetdatum TEXT, trede INTEGER,
        groeipotentieel TEXT, team TEXT, instrument_in_gebruik INTEGER,
        instrument_ingezet INTEGER, ontvangen TEXT NOT NULL)""")
    con.executemany("INSERT INTO metingen VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows_of(path))
    con.execute("CREATE INDEX metingen_vervangt ON metingen (vervangt)")
    con.execute("CREATE INDEX metingen_gemeente ON metingen (gemeente, bsn)")
    con.execute("CREATE INDEX metingen_client ON metingen (bsn, meetdatum, volgnummer)")
    con.commit()
    con.execute("ANALYZE")
    count = con.execute("SELECT COUNT(*) FROM metingen").fetchone()[0]
    return con, count


def load_duckdb(path, work):
    try:
        import duckdb
    except ImportError:
        raise SystemExit("DuckDB is missing: python3 -m pip install duckdb")
    db = os.path.join(work, "reports.duckdb")
    for f in (db, db + ".wal"):
        if os.path.exists(f):
            os.remove(f)
    con = duckdb.connect(db)
    con.execute("""CREATE TABLE metingen AS SELECT * FROM read_csv(?, header = true,
        columns = {
            'volgnummer': 'BIGINT', 'bsn': 'VARCHAR', 'gemeente': 'VARCHAR',
            'soort': 'VARCHAR', 'vervangt': 'BIGINT', 'meetdatum': 'VARCHAR',
            'trede': 'INTEGER', 'groeipotentieel': 'VARCHAR', 'team': 'VARCHAR',
            'instrument_in_gebruik': 'BOOLEAN', 'instrument_ingezet': 'BOOLEAN',
            'ontvangen': 'VARCHAR'})""", [path])
    # Empty fields are NULL already; the flags as 1/0 like SQLite's.
    con.execute("""CREATE OR REPLACE TABLE metingen AS SELECT
        volgnummer, bsn, gemeente, soort, vervangt, NULLIF(meetdatum, '') AS meetdatum,
        trede, NULLIF(groeipotentieel, '') AS groeipotentieel, NULLIF(team, '') AS team,
        CAST(instrument_in_gebruik AS INTEGER) AS instrument_in_gebruik,
        CAST(instrument_ingezet AS INTEGER) AS instrument_ingezet, ontvangen
        FROM metingen""")
    con.execute("CHECKPOINT")
    count = con.execute("SELECT COUNT(*) FROM metingen").fetchone()[0]
    return con, count


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    path, work = sys.argv[1], sys.argv[2]
    engines = sys.argv[3].split(",") if len(sys.argv) > 3 else ["sqlite", "duckdb"]
    loaders = {"sqlite": load_sqlite, "duckdb": load_duckdb}
    cons, load, counts = {}, {}, {}
    for name in engines:
        loader = loaders[name]
        started = time.perf_counter()
        cons[name], counts[name] = loader(path, work)
        load[name] = time.perf_counter() - started
    if len(set(counts.values())) > 1:
        raise SystemExit("the engines loaded different row counts: %r" % counts)
    print(json.dumps({"load": load, "rows": next(iter(counts.values()), 0)}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        ask = json.loads(line)
        name, question = ask["engine"], ask["question"]
        sql, args = sql_for(question, name)
        started = time.perf_counter()
        rows = cons[name].execute(sql, args).fetchall()
        seconds = time.perf_counter() - started
        answer = shape(question, rows)
        answer["seconds"] = seconds
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()

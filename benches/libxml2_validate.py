"""libxml2's own XSD validation speed, as the baseline for `ladderpost bench`.

Parses and validates each document with lxml (libxml2 underneath) in a loop
on one core for about SECONDS, and prints one JSON object:
{"messages": N, "seconds": S, "per_second": R, "valid": V}.

usage: python3 libxml2_validate.py SCHEMA SECONDS FILE...
"""
import json
import sys
import time

from lxml import etree


def main():
    schema_path, seconds, files = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    schema = etree.XMLSchema(etree.parse(schema_path))
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    docs = [open(f, "rb").read() for f in files]
    valid = sum(schema.validate(etree.fromstring(d, parser)) for d in docs)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for d in docs:
            schema.validate(etree.fromstring(d, parser))
        count += len(docs)
    elapsed = time.perf_counter() - start
    print(json.dumps({"messages": count, "seconds": elapsed,
                      "per_second": count / elapsed, "valid": valid}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Mutant generator and oracle runner for ladderpost's schema validator.

Usage:
    python3 tests/oracle/mutants.py --schema schemas/participatieladder-v1.1.xsd \
        --version 1.0=schemas/participatieladder-v1.xsd \
        --seed-dir fixtures/valid --out OUTDIR [--count 1200] [--seed 1] [--quiet]

Each document is judged by the XSD of the version its root's ``versie`` names
(``--version``), the latest (``--schema``) when it names no other.

Reads every ``*.xml`` under the seed dir (recursively, sorted), writes the
seeds themselves plus at least ``--count`` deterministic, deduplicated,
well-formed mutants, then at least ``--family-min`` mutants of each family of
issue #11 (FAMILIES: namespace names with character references, XML
declarations, NCNames, xsi:type, markup in values; these may be not
well-formed) to OUTDIR as ``m00001.xml`` ... and ``OUTDIR/verdicts.json``:

    [{"file": "m00001.xml", "kind": "seed", "mutation": "...",
      "xmllint": true, "xmlschema": true, "well_formed": true}, ...]

(true = schema-valid; ``well_formed``: lxml parses it, for information).
A document an oracle cannot parse, or reports as not namespace-well-formed,
counts as not valid for that oracle. The two oracles are ``xmllint --schema`` (libxml2) and
the Python package ``xmlschema`` (``XMLSchema10``), run without network access.

Mutation descriptions have the form ``CLASS @ PATH``: CLASS says what was done
(for value edits: the schema type and the exact new value, JSON-quoted), PATH
where. Test allow-lists of known oracle disagreements key on CLASS only, so the
CLASS strings are part of this script's interface: keep them stable.

Requires lxml (pip install lxml).
"""

import argparse
import copy
import html
import json
import random
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

try:
    from lxml import etree
except ImportError:  # pragma: no cover
    sys.exit("mutants.py: lxml is required (pip install lxml)")

XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
FOREIGN = "urn:example:ander"  # a namespace the schema knows nothing about
MK = "__mk"  # internal marker attribute: key into Mutant.overrides


# ---------------------------------------------------------------------------
# Schema model (just enough of it: element names, types, sequences)
# ---------------------------------------------------------------------------

class SchemaInfo:
    def __init__(self, path):
        doc = etree.parse(str(path))
        root = doc.getroot()
        self.tns = root.get("targetNamespace")
        q = lambda n: "{%s}%s" % (XS, n)
        self.elem_type = {}     # local element name -> type name ("xs:date", "pl:Naam", ...)
        self.simple = {}        # pl simple type name -> {"base": "xs:..", "enums": [..], facets}
        self.complex_seq = {}   # complex type name -> [child element names in order]
        groups = {}

        def tname(el, attr="type"):
            v = el.get(attr)
            if v is None:
                return None
            pfx, _, local = v.rpartition(":")
            return ("xs:" if el.nsmap.get(pfx or None) == XS else "pl:") + local

        for g in root.iter(q("group")):
            if g.get("name"):
                groups[g.get("name")] = [e.get("name") for e in g.iter(q("element"))]
        for ct in root.iter(q("complexType")):
            seq = []
            for node in ct.iter(q("element"), q("group")):
                if node.tag == q("group"):
                    seq.extend(groups[node.get("ref").split(":")[-1]])
                else:
                    seq.append(node.get("name"))
            self.complex_seq["pl:" + ct.get("name")] = seq
        for el in root.iter(q("element")):
            if el.get("name") and el.get("type"):
                self.elem_type.setdefault(el.get("name"), tname(el))
        for st in root.iter(q("simpleType")):
            r = st.find(q("restriction"))
            info = {"base": tname(r, "base"), "enums": []}
            for f in r:
                if not isinstance(f.tag, str):
                    continue
                local = etree.QName(f).localname
                if local == "enumeration":
                    info["enums"].append(f.get("value"))
                elif local != "annotation":
                    info[local] = f.get("value")
            self.simple["pl:" + st.get("name")] = info
        self.root_names = [e.get("name") for e in root.findall(q("element"))]
        self.all_names = sorted(self.elem_type)

    def type_of(self, el):
        """Schema type name of a target-namespace element, or None."""
        qn = etree.QName(el)
        if qn.namespace != self.tns:
            return None
        return self.elem_type.get(qn.localname)

    def is_simple(self, el):
        t = self.type_of(el)
        return t is not None and (t.startswith("xs:") or t in self.simple)

    def is_complex(self, el):
        t = self.type_of(el)
        return t is not None and t in self.complex_seq

    def builtin_base(self, t):
        while t in self.simple:
            t = self.simple[t]["base"]
        return t


# ---------------------------------------------------------------------------
# Edge-case values per type. Each candidate: (label, value, raw) where raw
# means ``value`` is already markup (character references).
# ---------------------------------------------------------------------------

def show(s):
    """JSON-quoted, with every whitespace, control or invisible character
    other than a plain space escaped (so labels are unambiguous)."""
    out = []
    for ch in json.dumps(s, ensure_ascii=False):
        cat = unicodedata.category(ch)
        if ch != " " and (cat[0] in "CZ" or cat == "Mn"):
            out.append("\\u%04x" % ord(ch) if ord(ch) < 0x10000 else "\\U%08x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def C(value, label=None, raw=False):
    if label is None:
        label = show(value)
    return (label, value, raw)


def R(markup):
    return C(markup, "raw:" + show(markup), raw=True)


def long_text(n, alphabet="é€a"):
    s = (alphabet * (n // len(alphabet) + 1))[:n]
    return C(s, "%s*%d" % (json.dumps(alphabet, ensure_ascii=False), n))


DATES = ["2024-02-29", "2023-02-29", "2024-13-01", "0000-01-01", "-0001-01-01",
         "10000-01-01", "2024-01-01Z", "2024-01-01+14:00", "2024-01-01+14:01",
         "2024-01-01-14:00", "2024-01-01-14:01", "2024-01-01-00:00", " 2024-03-01 ",
         "\n\t2024-03-01\n", "2024-1-01", "2024-03-01", "2024-02-30", "2024-04-31",
         "2024-03-00", "2024-00-10", "2024-03-01T00:00:00", "", "2024-03-01+13:60",
         "02024-03-01", "-2024-03-01", "2024/03/01", "1900-02-29", "2000-02-29",
         "2024-03-01+01:00", "2024-03-01 Z", "2024-3-1"]
DATE_RAW = ["&#x20;2024-03-01", "2024-03-01&#9;"]
DATETIMES = ["2024-03-01T24:00:00", "2024-03-01T24:00:01", "2024-03-01T10:00:00.123Z",
             "2024-03-01T10:00", "2024-03-01T10:00:60", "2024-03-01T10:00:00+01:00",
             "2024-03-01T10:00:00", "2024-03-01T10:00:00Z", "2024-03-01T23:59:59.9999999",
             " 2024-03-01T10:00:00+01:00 ", "2024-03-01 10:00:00", "2024-03-01T10:00:00+14:00",
             "2024-03-01T10:00:00-14:00", "2024-03-01T10:00:00+14:01", "2024-03-01T10:00:00+1:00",
             "2024-02-29T10:00:00Z", "2023-02-29T10:00:00Z", "2024-03-01T10:00:00.",
             "2024-03-01T1:00:00", "0000-03-01T10:00:00Z", "2024-03-01T24:00:00.0",
             "2024-12-31T24:00:00Z", "2024-03-01T10:00:00,5", "2024-03-01t10:00:00",
             "2024-03-01T10:00:00z", "", "2024-03-01T10:00:00-00:00", "2024-03-01T25:00:00",
             "2024-03-01T10:60:00", "10000-03-01T10:00:00Z", "-0001-03-01T10:00:00Z",
             "2024-03-01T10:00:00.000000000000001Z"]
INTEGERS = ["0", "+1", "01", "-1", "1.0", " 7 ", "99999", "100000", "21", "22", "1e3",
            "1", "-0", "+0", "00021", "\t3\n", "18446744073709551616", "", "\u0661",
            "1_000", "0x10", "+ 1", "3 ", "099999", "+99999"]
INTEGER_RAW = ["&#x20;7", "7&#10;"]
BOOLEANS = ["true", "false", "1", "0", "TRUE", " true ", "yes", "False", "tRue", "",
            "\n0\n", "01", "+1", "t"]
STRINGS = ["", " ", "   ", " Jansen", "Jansen ", "Jan\tsen", "Jan\nsen", "Jan  sen",
           "Jansen 😀", "😀", "x", "d'Hondt", "Müller-Lüdenscheidt", "Jan\u00a0sen",
           "\u3000", "a\u0308", "<tag>", "Jansen & Zn"]
STRING_RAW = ["Jan&#13;sen", "&#x20;Jansen", "Jansen&#9;", "&#xD;"]
TOKENS = ["van der", " van  der ", "van der de", "van der den", "\tvan\nder", " ", "",
          "'t", "A", "bis", "abcd", "abcde", "  abcd  ", "a b c", "ééééé", "€€€€",
          "😀😀😀😀", "😀😀😀😀😀", "ab\u00a0c"]

PATTERN_VALUES = {
    "pl:Bsn": ["123456789", "12345678", "1234567890", "12345678a", "1234 5678",
               " 123456789 ", "12345 6789", "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",
               "111222333\n", "", "ABCDEFGHI", "11122233３"],
    "pl:Gemeentecode": ["0363", "363", "03634", " 0363", "0363 ", "03a3", "", "036 3", "9999"],
    "pl:Postcode": ["1234AB", "1234 AB", "1234  AB", "0123 AB", "1234 ab", "1234 Ab",
                    " 1234 AB", "1234AB ", "1234\tAB", "1234 ÄB", "9999ZZ", "1000 AA",
                    "12345 AB", "123 AB", "1234-AB", "1234 ABC"],
    "pl:BerichtId": ["a1", "a b", "a/b", "x" * 64, "x" * 65, "", "ä1",
                     "550e8400-e29b-41d4-a716-446655440000",
                     "urn:uuid:550e8400-e29b-41d4-a716-446655440000", " a1", "a1 ",
                     "a.b_c:d-e", "-", "a\nb"],
    "pl:Oin": ["0" * 20, "0" * 19, "0" * 21, " " + "0" * 20, "0" * 19 + "a", "1" * 20],
    "pl:Voorletters": ["J.H.", "J.", "Th.", "J", "j.", "É.", "J.H", "A." * 10, "A." * 11,
                       "J. H.", "Ÿ.", "ǅ.", "Ⅰ.", "JH.", "Th.J.", " J.H. ", "Ij.", "IJ.",
                       "Σ.", "Jo.", "ß.", "", "Jh.", "JH", "Ł.", "Ａ."],
    "pl:Code": ["E001", " E001 ", "E 001", "x" * 50, "x" * 51, "€" * 50, "€" * 51, "",
                "😀" * 50, "😀" * 51, "E\u00a0001", "\tE001\n"],
}


def enum_candidates(enums):
    out = []
    for v in enums:
        out += [v, " %s " % v, "\t%s\n" % v, v.upper(), v.capitalize(), v + "x", v[:-1],
                "+" + v, "0" + v]
        if "-" in v:
            out += [v.replace("-", " "), v.replace("-", "  "), v.replace("-", "_")]
        if v.isdigit():
            out += [str(int(v) + 1), str(int(v) - 1), v + ".0"]
        if len(v) > 2:
            out += [v[:2] + " " + v[2:], v[:2] + "\n" + v[2:]]
    out += ["", " ", "7", "8", "10", "-1", "-"]
    seen, res = set(), []
    for v in out:
        if v not in seen:
            seen.add(v)
            res.append(v)
    return res


def candidates_for(schema, t):
    """(category, [candidates]) for schema type t."""
    base = schema.builtin_base(t)
    info = schema.simple.get(t, {})
    if base == "xs:date":
        return "temporal", [C(v) for v in DATES] + [R(v) for v in DATE_RAW]
    if base == "xs:dateTime":
        return "temporal", [C(v) for v in DATETIMES] + [R(v) for v in DATE_RAW[:1]]
    if base in ("xs:positiveInteger", "xs:integer", "xs:nonNegativeInteger", "xs:int"):
        return "number", [C(v) for v in INTEGERS] + [R(v) for v in INTEGER_RAW]
    if base == "xs:boolean":
        return "number", [C(v) for v in BOOLEANS] + [R("&#x20;true")]
    if info.get("enums"):
        return "enum", [C(v) for v in enum_candidates(info["enums"])]
    if t in PATTERN_VALUES:
        return "pattern", [C(v) for v in PATTERN_VALUES[t]]
    if "pattern" in info:
        return "pattern", [C(v) for v in STRINGS]
    # plain strings and tokens with length facets
    cands = [C(v) for v in (TOKENS if base == "xs:token" else STRINGS)] + [R(v) for v in STRING_RAW]
    lo = int(info.get("minLength", 0))
    hi = int(info.get("maxLength", 0))
    if hi:
        for n in sorted({hi - 1, hi, hi + 1}):
            if n >= 0:
                cands += [long_text(n), long_text(n, "😀"), long_text(n, "a")]
        if hi > 100:
            cands += [C(" " + "a" * (hi - 1), "\" \"+\"a\"*%d" % (hi - 1)),
                      C("a" * hi + " ", "\"a\"*%d+\" \"" % hi)]
    if lo > 1:
        cands += [long_text(lo - 1), long_text(lo)]
    return "string", cands


# ---------------------------------------------------------------------------
# Serializer with full control over namespaces, quoting and raw markup
# ---------------------------------------------------------------------------

def esc_text(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def esc_attr(s, q):
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace("\t", "&#9;")
    s = s.replace("\n", "&#10;").replace("\r", "&#13;")
    return s.replace('"', "&quot;") if q == '"' else s.replace("'", "&apos;")


class Mutant:
    """A deep copy of a seed tree plus serialization overrides."""

    def __init__(self, seed_root):
        self.root = copy.deepcopy(seed_root)
        self.overrides = {}
        self.quote = '"'
        self.decl = '<?xml version="1.0" encoding="UTF-8"?>\n'
        self.bom = False
        self.before_root = ""    # raw markup between declaration and root
        self.after_root = "\n"

    def ov(self, el):
        key = el.get(MK)
        if key is None:
            key = str(len(self.overrides))
            el.set(MK, key)
            self.overrides[key] = {}
        return self.overrides[key]

    def serialize(self, tns):
        out = []
        self._ser(self.root, {"xml": XML_NS}, None, tns, out)
        text = (self.decl + self.before_root + "".join(out) + self.after_root)
        data = text.encode("utf-8")
        return (b"\xef\xbb\xbf" + data) if self.bom else data

    def _resolve(self, uri, pref, scope, decls, element):
        """Prefix to use for uri (None = default namespace); may add a declaration."""
        if uri is None:
            if element:
                if scope.get(None):
                    decls.append((None, ""))
                    scope[None] = ""
                return None
            return None  # unqualified attribute
        if pref is not None and scope.get(pref) == uri:
            return pref
        if element and pref is None and scope.get(None) == uri:
            return None
        for p in sorted((p for p in scope if p is not None), key=str):
            if scope[p] == uri:
                return p
        if element and pref is None:
            decls.append((None, uri))
            scope[None] = uri
            return None
        p = pref if pref is not None else "ns"
        if p in scope and scope[p] != uri or p == "xml":
            i = 1
            while "%s%d" % (p, i) in scope:
                i += 1
            p = "%s%d" % (p, i)
        decls.append((p, uri))
        scope[p] = uri
        return p

    def _ser(self, el, scope, forced, tns, out):
        q = self.quote
        if not isinstance(el.tag, str):
            if isinstance(el, etree._Comment):
                out.append("<!--%s-->" % el.text)
            else:
                out.append("<?%s%s?>" % (el.target, (" " + el.text) if el.text else ""))
            return
        scope = dict(scope)
        key = el.get(MK)
        ov = self.overrides.get(key, {}) if key is not None else {}
        if "force_prefix" in ov:
            forced = ov["force_prefix"]
        parent = el.getparent()
        pmap = parent.nsmap if parent is not None else {}
        decls = []
        # Declarations the element carried in the seed (keeps redundant/unused ones).
        for p, u in el.nsmap.items():
            if pmap.get(p) != u and scope.get(p) != u:
                if forced is not None and u == tns:
                    continue
                decls.append((p, u))
                scope[p] = u
        qn = etree.QName(el)
        if forced is not None and qn.namespace == tns:
            pref = forced
        else:
            pref = el.prefix
            if pref is not None and scope.get(pref) != qn.namespace:
                pref = ov.get("prefer_prefix", pref)
        pref = ov.get("prefer_prefix", pref)
        if ov.get("default_ns") and qn.namespace is not None:
            if scope.get(None) != qn.namespace:
                decls.append((None, qn.namespace))
                scope[None] = qn.namespace
            p = None
        else:
            p = self._resolve(qn.namespace, pref, scope, decls, True)
        name = qn.localname if p is None else "%s:%s" % (p, qn.localname)
        attrs = []
        for aname, aval in el.attrib.items():
            if aname == MK:
                continue
            aq = etree.QName(aname)
            if aq.namespace is None:
                attrs.append((aq.localname, aval))
            else:
                apref = None
                for cp, cu in el.nsmap.items():
                    if cu == aq.namespace and cp is not None:
                        apref = cp
                if aq.namespace == XML_NS:
                    apref = "xml"
                ap = self._resolve(aq.namespace, apref or "ns", scope, decls, False)
                attrs.append(("%s:%s" % (ap, aq.localname), aval))
        s = ["<", name]
        for dp, du in decls:
            s.append(" xmlns%s=%s%s%s" % ("" if dp is None else ":" + dp, q, esc_attr(du, q), q))
        for an, av in attrs:
            s.append(" %s=%s%s%s" % (an, q, esc_attr(av, q), q))
        if "extra_attrs" in ov:
            s.append(ov["extra_attrs"])
        if "content_raw" in ov:
            content = ov["content_raw"]
        else:
            parts = [esc_text(el.text or "")]
            for child in el:
                sub = []
                self._ser(child, scope, forced, tns, sub)
                parts.append("".join(sub))
                parts.append(esc_text(child.tail or ""))
            content = "".join(parts)
        if content == "" and not ov.get("explicit_empty"):
            s.append("/>")
        else:
            s.append(">")
            s.append(content)
            s.append("</%s>" % name)
        out.append("".join(s))


# ---------------------------------------------------------------------------
# Tree helpers
# ---------------------------------------------------------------------------

def elements(root):
    return [e for e in root.iter() if isinstance(e.tag, str)]


def child_elements(el):
    return [c for c in el if isinstance(c.tag, str)]


def path_of(el):
    parts = []
    while el is not None:
        qn = etree.QName(el)
        parent = el.getparent()
        step = qn.localname
        if parent is not None:
            same = [c for c in child_elements(parent) if c.tag == el.tag]
            if len(same) > 1:
                step += "[%d]" % (same.index(el) + 1)
        parts.append(step)
        el = parent
    return "/" + "/".join(reversed(parts))


def remove_keep_tail(el):
    """Remove el, joining its tail onto the previous sibling / parent text."""
    parent = el.getparent()
    tail = el.tail or ""
    prev = el.getprevious()
    if tail.strip() == "":
        tail = ""
    if prev is not None:
        prev.tail = (prev.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(el)


def text_elements(schema, root):
    """Target-namespace elements with a simple type and no element children."""
    return [e for e in elements(root) if schema.is_simple(e) and not child_elements(e)]


def complex_elements(schema, root):
    return [e for e in elements(root) if schema.is_complex(e)]


def set_text(el, value):
    for c in list(el):
        el.remove(c)
    el.text = value


def seq_insert(schema, parent, new_el):
    """Insert new_el into parent at the position its schema sequence wants."""
    order = schema.complex_seq.get(schema.type_of(parent), [])
    name = etree.QName(new_el).localname
    if name not in order:
        parent.append(new_el)
        return
    later = set(order[order.index(name) + 1:])
    for i, c in enumerate(parent):
        if isinstance(c.tag, str) and etree.QName(c).localname in later:
            parent.insert(i, new_el)
            return
    parent.append(new_el)


# ---------------------------------------------------------------------------
# Mutations. Each: (rng, schema, seed_root) -> (description, Mutant) or None
# ---------------------------------------------------------------------------

def m_delete(rng, sc, seed):
    m = Mutant(seed)
    cands = elements(m.root)[1:]
    if not cands:
        return None
    el = rng.choice(cands)
    desc = "delete %s @ %s" % (etree.QName(el).localname, path_of(el))
    remove_keep_tail(el)
    return desc, m


def m_duplicate(rng, sc, seed):
    m = Mutant(seed)
    cands = elements(m.root)[1:]
    # favour elements that may repeat so that some duplicates stay valid
    rep = [e for e in cands if etree.QName(e).localname in
           ("Inkomenssituatie", "Subgroep", "Antwoord", "Waarschuwing", "Fout")]
    el = rng.choice(rep if rep and rng.random() < 0.4 else cands)
    desc = "duplicate %s @ %s" % (etree.QName(el).localname, path_of(el))
    dup = copy.deepcopy(el)
    dup.tail = el.tail
    el.addnext(dup)
    return desc, m


def m_swap(rng, sc, seed):
    m = Mutant(seed)
    pairs = []
    for p in elements(m.root):
        ch = child_elements(p)
        pairs += list(zip(ch, ch[1:]))  # same-name pairs may stay valid
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    desc = "swap %s<->%s @ %s" % (etree.QName(a).localname, etree.QName(b).localname, path_of(a))
    ta, tb = a.tail, b.tail
    a.getparent().remove(b)
    a.addprevious(b)
    b.tail, a.tail = ta, tb
    return desc, m


def m_move(rng, sc, seed):
    m = Mutant(seed)
    cands = elements(m.root)[1:]
    el = rng.choice(cands)
    what = etree.QName(el).localname
    src = path_of(el)
    targets = [t for t in complex_elements(sc, m.root)
               if t is not el and not any(a is el for a in t.iterancestors())]
    if not targets:
        return None
    tgt = rng.choice(targets)
    n = len(tgt)
    idx = rng.randint(0, n)
    remove_keep_tail(el)
    tgt.insert(min(idx, len(tgt)), el)
    el.tail = None
    desc = "move %s -> %s[%d] @ %s" % (what, path_of(tgt), idx, src)
    return desc, m


def typo_variants(name):
    v = {name[:i] + name[i + 1:] for i in range(len(name))}
    v |= {name[:i] + name[i + 1] + name[i] + name[i + 2:] for i in range(len(name) - 1)}
    v |= {name[:i] + name[i] * 2 + name[i:] for i in range(0, len(name), 3)}
    v.discard(name)
    return sorted(v)


def m_rename(rng, sc, seed):
    m = Mutant(seed)
    el = rng.choice(elements(m.root))
    old = etree.QName(el)
    r = rng.random()
    if r < 0.35:
        new, how = rng.choice(typo_variants(old.localname)), "typo"
    elif r < 0.6:
        variants = sorted({old.localname.lower(), old.localname.upper(),
                           old.localname[0].lower() + old.localname[1:],
                           old.localname.capitalize()} - {old.localname})
        if not variants:
            return None
        new, how = rng.choice(variants), "case"
    else:
        new, how = rng.choice(sc.all_names + sc.root_names), "schema-name"
        if new == old.localname:
            return None
    desc = "rename(%s) %s->%s @ %s" % (how, old.localname, new, path_of(el))
    el.tag = "{%s}%s" % (old.namespace, new) if old.namespace else new
    return desc, m


def make_value(category):
    def mut(rng, sc, seed):
        m = Mutant(seed)
        cands = []
        for e in text_elements(sc, m.root):
            cat, vals = candidates_for(sc, sc.type_of(e))
            if cat == category:
                cands.append((e, vals))
        if not cands:
            return None
        el, vals = rng.choice(cands)
        label, value, raw = rng.choice(vals)
        desc = "value[%s] %s @ %s" % (sc.type_of(el), label, path_of(el))
        if raw:
            set_text(el, "")
            m.ov(el)["content_raw"] = value
        else:
            set_text(el, value)
        if value == "":
            m.ov(el)["explicit_empty"] = rng.random() < 0.5
        return desc, m
    return mut


def m_namespace(rng, sc, seed):
    m = Mutant(seed)
    tns = sc.tns
    r = rng.randrange(10)
    els = elements(m.root)
    if r == 0:
        newns = rng.choice([tns.replace(":v1", ":v2"), tns + "/", tns.upper(), None,
                            "urn:ladderpost:participatieladder"])
        for e in els:
            qn = etree.QName(e)
            if qn.namespace == tns:
                e.tag = "{%s}%s" % (newns, qn.localname) if newns else qn.localname
        return "namespace: document namespace -> %s" % json.dumps(newns) + " @ /", m
    if r == 1:
        el = rng.choice(els[1:])
        sub = rng.random() < 0.5
        for e in (el.iter() if sub else [el]):
            qn = etree.QName(e) if isinstance(e.tag, str) else None
            if qn is not None and qn.namespace == tns:
                e.tag = qn.localname
        return "namespace: no-namespace %s %s @ %s" % (
            "subtree" if sub else "element", etree.QName(el).localname, path_of(el)), m
    if r == 2:
        el = rng.choice(els)
        qn = etree.QName(el)
        el.tag = "{%s}%s" % (FOREIGN, qn.localname)
        m.ov(el)["prefer_prefix"] = "x"
        return "namespace: foreign-namespace element %s @ %s" % (qn.localname, path_of(el)), m
    if r == 3:
        # an element of the target namespace bound to a prefix whose URI is another one
        el = rng.choice(els)
        qn = etree.QName(el)
        el.tag = "{%s}%s" % (tns + ":x", qn.localname)
        m.ov(el)["prefer_prefix"] = "pl"
        return "namespace: prefix pl bound to other URI on %s @ %s" % (qn.localname, path_of(el)), m
    # wildcard areas: LokaleKenmerken and Subgroepen
    holders = [e for e in els if etree.QName(e).localname in ("Meting", "Correctie") and
               etree.QName(e).namespace == tns]
    if not holders:
        # foreign element inserted in an ordinary sequence
        parents = complex_elements(sc, m.root)
        if not parents:
            return None
        p = rng.choice(parents)
        idx = rng.randint(0, len(p))
        fe = etree.Element("{%s}Extra" % FOREIGN, nsmap={"x": FOREIGN})
        fe.text = "1"
        p.insert(idx, fe)
        return "namespace: foreign element in sequence %s[%d] @ %s" % (
            etree.QName(p).localname, idx, path_of(p)), m
    root = holders[0]
    area = rng.choice(["LokaleKenmerken", "Subgroepen"])
    box = root.find("{%s}%s" % (tns, area))
    created = box is None
    if created:
        box = etree.Element("{%s}%s" % (tns, area))
        seq_insert(sc, root, box)
    what = rng.choice(["foreign", "foreign-nested-tns", "tns-element", "no-namespace",
                       "foreign-first", "tns-subgroep", "foreign-with-attrs"])
    if what in ("foreign", "foreign-first"):
        new = etree.Element("{urn:gemeente:test}Kenmerk", nsmap={"g": "urn:gemeente:test"})
        new.text = "waarde"
    elif what == "foreign-nested-tns":
        new = etree.Element("{urn:gemeente:test}Blok", nsmap={"g": "urn:gemeente:test"})
        inner = etree.SubElement(new, "{%s}Onbekend" % tns)
        inner.text = "x"
        etree.SubElement(new, "NoNs").set("a", "1")
    elif what == "tns-element":
        new = etree.Element("{%s}%s" % (tns, rng.choice(["Achternaam", "Kenmerk", "Toelichting"])))
        new.text = "x"
    elif what == "tns-subgroep":
        new = etree.Element("{%s}Subgroep" % tns)
        new.text = "2"
    elif what == "foreign-with-attrs":
        new = etree.Element("{urn:gemeente:test}Kenmerk", nsmap={"g": "urn:gemeente:test"})
        new.set("code", "A")
        new.set("{%s}nil" % XSI, "maybe")
        new.text = "1"
    else:
        new = etree.Element("Kenmerk")
        new.text = "x"
    if what == "foreign-first":
        box.insert(0, new)
    else:
        box.append(new)
    return "namespace: %s in %s%s @ %s" % (what, area, " (new)" if created else "",
                                          path_of(box)), m


def m_attribute(rng, sc, seed):
    m = Mutant(seed)
    els = elements(m.root)
    root = m.root
    r = rng.randrange(9)
    if r == 0:
        el = rng.choice([root] + els)
        name = rng.choice(["foo", "Versie", "versie", "id", "code"])
        if name in el.attrib:
            return None
        el.set(name, "1.0")
        return "attribute: unqualified %s on %s @ %s" % (name, etree.QName(el).localname, path_of(el)), m
    if r == 1:
        el = rng.choice([root] + els)
        el.set("{%s}a" % FOREIGN, "1")
        return "attribute: foreign-namespace x:a on %s @ %s" % (etree.QName(el).localname, path_of(el)), m
    if r == 2:
        if "versie" not in root.attrib:
            return None
        m.ov(root)["extra_attrs"] = ' xmlns:zz="%s" zz:versie="1.0"' % FOREIGN
        return "attribute: zz:versie next to versie on root @ /", m
    if r in (3, 4):
        vals = ["1.1", "1", "1.00", " 1.0 ", "1.0 ", " 1.0", "", "1.0\t", "1,0", "v1.0", "1.0\n"]
        v = rng.choice(vals + [None])
        if v is None:
            root.attrib.pop("versie", None)
            return "attribute: versie removed @ /", m
        if v.endswith("\t") or v.endswith("\n"):
            # literal whitespace: the XML parser normalizes it to a space
            root.attrib.pop("versie", None)
            m.ov(root)["extra_attrs"] = ' versie="%s"' % v
            return "attribute: versie=%s literal @ /" % json.dumps(v), m
        root.set("versie", v)
        return "attribute: versie=%s @ /" % json.dumps(v), m
    if r == 5:
        raw = rng.choice(["&#49;.0", "1&#x2E;0", "&#x20;1.0", "1.0&#10;"])
        root.attrib.pop("versie", None)
        m.ov(root)["extra_attrs"] = ' versie="%s"' % raw
        return "attribute: versie raw %s @ /" % json.dumps(raw), m
    if r in (6, 7):
        el = rng.choice([root] + els)
        v = rng.choice(["true", "false", "1", "0"])
        if v in ("true", "1") and rng.random() < 0.5 and not child_elements(el):
            set_text(el, "")
            how = "empty "
        else:
            how = ""
        el.set("{%s}nil" % XSI, v)
        m.ov(el)["prefer_prefix"] = "xsi"
        return "attribute: xsi:nil=%s on %s%s @ %s" % (v, how, etree.QName(el).localname, path_of(el)), m
    el = rng.choice([root] + els)
    which = rng.choice(["xml:lang", "xml:space", "xsi:schemaLocation", "xsi:noNamespaceSchemaLocation"])
    if which == "xml:lang":
        el.set("{%s}lang" % XML_NS, "nl")
    elif which == "xml:space":
        el.set("{%s}space" % XML_NS, "preserve")
    elif which == "xsi:schemaLocation":
        el.set("{%s}schemaLocation" % XSI, sc.tns + " participatieladder-v1.xsd")
    else:
        el.set("{%s}noNamespaceSchemaLocation" % XSI, "participatieladder-v1.xsd")
    return "attribute: %s on %s @ %s" % (which, etree.QName(el).localname, path_of(el)), m


def m_text_in_element_only(rng, sc, seed):
    m = Mutant(seed)
    parents = complex_elements(sc, m.root)
    if not parents:
        return None
    p = rng.choice(parents)
    label, raw = rng.choice([
        ('" "', " "), ('"\\n\\t"', "\n\t"), ('raw:"&#x20;"', "&#x20;"), ('raw:"&#9;"', "&#9;"),
        ('raw:"&#10;"', "&#10;"), ('raw:"<![CDATA[ ]]>"', "<![CDATA[ ]]>"),
        ('raw:"&#xA0;"', "&#xA0;"), ('"x"', "x"), ('"."', "."), ('raw:"&amp;"', "&amp;"),
        ('raw:"<![CDATA[x]]>"', "<![CDATA[x]]>"), ('"\\u3000"', "\u3000"),
        ('raw:"&#13;"', "&#13;"), ('raw:"<![CDATA[]]>"', "<![CDATA[]]>")])
    kids = [c for c in p]
    idx = rng.randint(0, len(kids))
    # Insert via a raw placeholder comment we replace at serialization time.
    marker = etree.Comment("@@RAW@@")
    p.insert(idx, marker)
    m.raw_marker = raw
    return "text in element-only %s %s @ %s" % (etree.QName(p).localname, label, path_of(p)), m


def m_child_in_simple(rng, sc, seed):
    m = Mutant(seed)
    cands = text_elements(sc, m.root)
    if not cands:
        return None
    el = rng.choice(cands)
    qn = etree.QName(el)
    r = rng.randrange(4)
    text = el.text or ""
    if r == 0:
        child = etree.Element("{%s}%s" % (sc.tns, qn.localname))
        child.text = text
        set_text(el, "")
        el.append(child)
        how = "nested-same"
    elif r == 1:
        child = etree.Element("{%s}Extra" % sc.tns)
        cut = rng.randint(0, len(text))
        set_text(el, text[:cut])
        el.append(child)
        child.tail = text[cut:]
        how = "empty-tns-child"
    elif r == 2:
        child = etree.Element("{%s}Extra" % FOREIGN, nsmap={"x": FOREIGN})
        set_text(el, text)
        el.append(child)
        how = "foreign-child"
    else:
        child = etree.Element("b")
        child.text = text
        set_text(el, "")
        el.append(child)
        how = "markup-child"
    return "child in simple %s %s @ %s" % (how, qn.localname, path_of(el)), m


def m_comment_pi(rng, sc, seed):
    m = Mutant(seed)
    r = rng.randrange(6)
    node_kind = rng.choice(["comment", "pi"])

    def node():
        if node_kind == "comment":
            return etree.Comment(rng.choice([" x ", "", " c ", "-x", " <Trede>3</Trede> "]))
        return etree.PI("pi", rng.choice(["x", "", "a='1'"]))

    if r in (0, 1):
        parents = complex_elements(sc, m.root)
        p = rng.choice(parents)
        idx = rng.randint(0, len(p))
        p.insert(idx, node())
        return "%s between elements in %s @ %s" % (node_kind, etree.QName(p).localname, path_of(p)), m
    if r in (2, 3, 4):
        cands = [e for e in text_elements(sc, m.root)]
        el = rng.choice(cands)
        text = el.text or ""
        where = rng.choice(["start", "end", "middle"])
        cut = {"start": 0, "end": len(text), "middle": len(text) // 2}[where]
        set_text(el, text[:cut])
        n = node()
        el.append(n)
        n.tail = text[cut:]
        return "%s inside value (%s) of %s @ %s" % (node_kind, where, etree.QName(el).localname, path_of(el)), m
    where = rng.choice(["before", "after"])
    n = node()
    s = "<!--%s-->" % n.text if node_kind == "comment" else "<?%s %s?>" % (n.target, n.text or "")
    if where == "before":
        m.before_root = s + "\n"
    else:
        m.after_root = "\n" + s + "\n"
    return "%s %s root @ /" % (node_kind, where), m


def charref(ch, hexa):
    return ("&#x%X;" if hexa else "&#%d;") % ord(ch)


def m_cdata_refs(rng, sc, seed):
    m = Mutant(seed)
    cands = [e for e in text_elements(sc, m.root) if e.text]
    if not cands:
        return None
    el = rng.choice(cands)
    text = el.text
    r = rng.randrange(7)
    if r == 0:
        raw, how = "<![CDATA[%s]]>" % text, "cdata-whole"
    elif r == 1:
        cut = rng.randint(0, len(text))
        raw, how = esc_text(text[:cut]) + "<![CDATA[%s]]>" % text[cut:], "cdata-partial"
    elif r == 2:
        i = rng.randrange(len(text))
        hexa = rng.random() < 0.5
        raw = esc_text(text[:i]) + charref(text[i], hexa) + esc_text(text[i + 1:])
        how = "charref-%s-one" % ("hex" if hexa else "dec")
    elif r == 3:
        hexa = rng.random() < 0.5
        raw = "".join(charref(c, hexa) for c in text)
        how = "charref-%s-all" % ("hex" if hexa else "dec")
    elif r == 4:
        ent = rng.choice(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"])
        cut = rng.randint(0, len(text))
        raw = esc_text(text[:cut]) + ent + esc_text(text[cut:])
        how = "entity-%s" % ent.strip("&;")
    elif r == 5:
        raw = "<![CDATA[]]>" + esc_text(text) + "<![CDATA[]]>"
        how = "cdata-empty-sections"
    else:
        alt = {"'": "&apos;", '"': "&quot;", ">": "&gt;"}
        raw = "".join(alt.get(c) or esc_text(c) for c in text)
        if raw == esc_text(text):
            raw = "<![CDATA[%s]]><![CDATA[%s]]>" % (text[:1], text[1:])
        how = "escaped-equivalent"
    set_text(el, "")
    m.ov(el)["content_raw"] = raw
    return "%s in %s @ %s" % (how, etree.QName(el).localname, path_of(el)), m


def m_ns_form(rng, sc, seed):
    m = Mutant(seed)
    r = rng.randrange(6)
    if r == 0:
        p = rng.choice(["pl", "p", "ns0", "xs", "a.b", "Meting"])
        m.ov(m.root)["force_prefix"] = p
        return "ns-form: whole document prefixed %s: @ /" % p, m
    if r == 1:
        el = rng.choice(elements(m.root)[1:])
        m.ov(el)["force_prefix"] = "q"
        return "ns-form: subtree prefixed q: %s @ %s" % (etree.QName(el).localname, path_of(el)), m
    if r == 2:
        el = rng.choice(elements(m.root)[1:])
        if etree.QName(el).namespace != sc.tns:
            return None
        m.ov(el)["extra_attrs"] = ' xmlns:zz="%s"' % sc.tns
        return "ns-form: redundant xmlns:zz on %s @ %s" % (etree.QName(el).localname, path_of(el)), m
    if r == 3:
        decl = rng.choice(['xmlns:xsi="%s"' % XSI, 'xmlns:foo="urn:foo"', 'xmlns:xs="%s"' % XS,
                           'xmlns:zz="%s"' % sc.tns])
        m.ov(m.root)["extra_attrs"] = " " + decl
        return "ns-form: unused %s on root @ /" % decl.split("=")[0], m
    if r == 4:
        # redeclare the default namespace identically on every target-namespace element
        if m.root.prefix is not None:
            return None
        for e in elements(m.root)[1:]:
            if etree.QName(e).namespace == sc.tns and e.prefix is None:
                m.ov(e)["extra_attrs"] = ' xmlns="%s"' % sc.tns
        return "ns-form: default namespace redeclared on every element @ /", m
    # root prefixed, children in default namespace
    m.ov(m.root)["force_prefix"] = "pl"
    for c in child_elements(m.root):
        if etree.QName(c).namespace == sc.tns:
            m.ov(c)["force_prefix"] = None
            m.ov(c)["default_ns"] = True
    return "ns-form: prefixed root, default-namespace children @ /", m


def m_empty_quotes(rng, sc, seed):
    m = Mutant(seed)
    r = rng.randrange(7)
    if r == 0:
        m.quote = "'"
        return "lexical: single-quoted attributes @ /", m
    if r == 1:
        m.decl = rng.choice(["", "<?xml version='1.0'?>\n", '<?xml version="1.0" encoding="utf-8" standalone="yes"?>',
                             '<?xml version="1.0"?>\n\n'])
        return "lexical: declaration %s @ /" % json.dumps(m.decl), m
    if r == 2:
        m.bom = True
        return "lexical: UTF-8 BOM @ /", m
    if r == 3:
        holders = [e for e in elements(m.root)
                   if etree.QName(e).localname in ("Meting", "Correctie") and etree.QName(e).namespace == sc.tns]
        if not holders:
            return None
        root = holders[0]
        old = root.find("{%s}Toelichting" % sc.tns)
        if old is not None:
            set_text(old, "")
            el = old
        else:
            el = etree.Element("{%s}Toelichting" % sc.tns)
            seq_insert(sc, root, el)
        explicit = rng.random() < 0.5
        m.ov(el)["explicit_empty"] = explicit
        return "lexical: empty Toelichting %s @ %s" % ("<x></x>" if explicit else "<x/>", path_of(el)), m
    if r == 4:
        # empty an element: element-only with all-optional content, or a simple one
        el = rng.choice(elements(m.root)[1:])
        for c in list(el):
            el.remove(c)
        el.text = None
        explicit = rng.random() < 0.5
        m.ov(el)["explicit_empty"] = explicit
        return "lexical: emptied %s %s @ %s" % (etree.QName(el).localname,
                                                "<x></x>" if explicit else "<x/>", path_of(el)), m
    if r == 5:
        m.after_root = rng.choice(["", "\n\n  \n", "\t"])
        return "lexical: trailing whitespace %s @ /" % json.dumps(m.after_root), m
    # strip / add indentation whitespace everywhere in element-only content
    ws = rng.choice(["", "\n    ", "\r\n", "\t"])
    for e in complex_elements(sc, m.root):
        if child_elements(e):
            e.text = ws if ws else None
            for c in e:
                c.tail = ws if ws else None
    return "lexical: element-only whitespace %s @ /" % json.dumps(ws), m


# ---------------------------------------------------------------------------
# Issue #11 families: generated on top of --count (at least --family-min each,
# see FAMILIES), and kept even when not well-formed: a document that is not
# (namespace-)well-formed is not schema-valid, and both oracles say so (see
# the oracle section). Class strings (before " @ ") are keyed on by
# tests/it/oracle.rs.
# ---------------------------------------------------------------------------

def spell_with_refs(rng, s, at_least=1):
    """s with a random non-empty set of its characters written as character
    references (decimal or hex, random hex case and leading zeros)."""
    idx = list(range(len(s)))
    chosen = set(rng.sample(idx, rng.randint(min(at_least, len(s)), len(s))))
    out = []
    for i, ch in enumerate(s):
        if i not in chosen:
            out.append(esc_attr(ch, '"'))
            continue
        zeros = "0" * rng.choice([0, 0, 0, 1, 3])
        if rng.random() < 0.5:
            h = "%X" % ord(ch)
            out.append("&#x%s%s;" % (zeros, h if rng.random() < 0.5 else h.lower()))
        else:
            out.append("&#%s%d;" % (zeros, ord(ch)))
    return "".join(out)


def add_raw_attrs(m, el, s):
    ov = m.ov(el)
    ov["extra_attrs"] = ov.get("extra_attrs", "") + s


def insert_raw(m, parent, idx, raw):
    """Raw markup as the idx-th child of parent (one per mutant)."""
    marker = etree.Comment("@@RAW@@")
    parent.insert(idx, marker)
    m.raw_marker = raw


def replace_raw(m, el, raw):
    parent = el.getparent()
    idx = list(parent).index(el)
    tail = el.tail
    parent.remove(el)
    insert_raw(m, parent, idx, raw)
    parent[idx].tail = tail


def wildcard_box(rng, sc, m):
    """(area, box element, created) of a LokaleKenmerken / Subgroepen of a
    Meting or Correctie root, made if absent; None for other roots."""
    holders = [e for e in elements(m.root) if etree.QName(e).localname in ("Meting", "Correctie")
               and etree.QName(e).namespace == sc.tns]
    if not holders:
        return None
    area = rng.choice(["LokaleKenmerken", "Subgroepen"])
    box = holders[0].find("{%s}%s" % (sc.tns, area))
    created = box is None
    if created:
        box = etree.Element("{%s}%s" % (sc.tns, area))
        seq_insert(sc, holders[0], box)
    return area, box, created


FOREIGN_G = "urn:gemeente:test"


def m_ns_charref(rng, sc, seed):
    """(a) Namespace names spelled with character references."""
    m = Mutant(seed)
    tns = sc.tns
    r = rng.randrange(6)
    if r in (0, 1):
        # The document's own declaration of the target namespace, however
        # it is bound (default or prefix): first occurrence in the output.
        near = r == 1 and rng.random() < 0.4
        uri = tns
        if near:
            i = rng.randrange(len(tns))
            ch = rng.choice([c for c in "vV1x:" if c != tns[i]])
            spelled = spell_with_refs(rng, tns[:i]) + charref(ch, True) + esc_attr(tns[i + 1:], '"')
            how = "near-miss"
        else:
            spelled = spell_with_refs(rng, uri)
            how = "same"
        if r == 1:
            m.ov(m.root)["force_prefix"] = rng.choice(["pl", "p", "lad"])
        m.raw_subs = [('="%s"' % tns, '="%s"' % spelled)]
        return "ns-charref: target namespace %s%s %s @ /" % (
            how, " prefixed" if r == 1 else "", show(spelled)), m
    if r == 2:
        # The XSI namespace spelled with references, then an xsi attribute.
        spelled = spell_with_refs(rng, XSI)
        els = elements(m.root)
        el = rng.choice(els)
        p = rng.choice(["xsi", "i", "xi"])
        what = rng.choice(["schemaLocation", "noNamespaceSchemaLocation", "nil-false", "type-own"])
        on_el = rng.random() < 0.5
        decl = ' xmlns:%s="%s"' % (p, spelled)
        if what == "schemaLocation":
            a = ' %s:schemaLocation="%s participatieladder-v1.xsd"' % (p, tns)
        elif what == "noNamespaceSchemaLocation":
            a = ' %s:noNamespaceSchemaLocation="x.xsd"' % p
        elif what == "nil-false":
            a = ' %s:nil="false"' % p
        else:
            t = sc.type_of(el)
            if t is None or not t.startswith("pl:"):
                return None
            a = ' xmlns:tq="%s" %s:type="tq:%s"' % (tns, p, t[3:])
        add_raw_attrs(m, el if on_el else m.root, decl)
        add_raw_attrs(m, el, a)
        return "ns-charref: xsi namespace spelled, %s:%s on %s @ %s" % (
            p, what, etree.QName(el).localname, path_of(el)), m
    if r in (3, 4):
        # An element in ##other wildcard content whose namespace is the
        # target namespace (not allowed) or another one, spelled.
        wb = wildcard_box(rng, sc, m)
        if wb is None:
            return None
        area, box, created = wb
        which = rng.choice(["tns", "tns", "foreign", "near-miss"])
        if which == "tns":
            uri = spell_with_refs(rng, tns)
        elif which == "foreign":
            uri = spell_with_refs(rng, FOREIGN_G)
        else:
            uri = spell_with_refs(rng, tns[:-1]) + charref("2", rng.random() < 0.5)
        name = rng.choice(["Kenmerk", "Stadsdeel", "Toelichting"])
        if rng.random() < 0.5:
            raw = '<%s xmlns="%s">x</%s>' % (name, uri, name)
            form = "default"
        else:
            raw = '<q:%s xmlns:q="%s">x</q:%s>' % (name, uri, name)
            form = "prefixed"
        idx = rng.randint(0, len(box)) if rng.random() < 0.3 else len(box)
        insert_raw(m, box, idx, raw)
        return "ns-charref: %s element (%s) in %s%s %s @ %s" % (
            which, form, area, " (new)" if created else "", show(uri), path_of(box)), m
    # Two attributes with the same local name whose namespaces are equal
    # only once references are resolved (not namespace-well-formed), or
    # differ by one character (well-formed).
    same = rng.random() < 0.7
    base = rng.choice([FOREIGN_G, "urn:x:a", "http://example.org/ns"])
    other = base if same else base[:-1] + chr(ord(base[-1]) + 1)
    a_uri, b_uri = spell_with_refs(rng, base), esc_attr(other, '"')
    if rng.random() < 0.5:
        a_uri, b_uri = b_uri, a_uri
    local = rng.choice(["k", "code", "id"])
    attrs = ' xmlns:a="%s" xmlns:b="%s" a:%s="1" b:%s="2"' % (a_uri, b_uri, local, local)
    wb = wildcard_box(rng, sc, m) if rng.random() < 0.6 else None
    if wb is not None:
        area, box, created = wb
        insert_raw(m, box, len(box), '<g:Kenmerk xmlns:g="%s"%s>x</g:Kenmerk>' % (FOREIGN_G, attrs))
        where = "in " + area + (" (new)" if created else "")
        at = path_of(box)
    else:
        el = rng.choice(elements(m.root))
        add_raw_attrs(m, el, attrs)
        where = "on " + etree.QName(el).localname
        at = path_of(el)
    return "ns-charref: attributes with %s namespaces %s @ %s" % (
        "equal-after-refs" if same else "different", where, at), m


XMLDECL_DEFECTS = ["standalone-before-encoding", "standalone-value", "pseudo-attr-case",
                   "twice", "unknown-pseudo-attr", "no-space", "encname", "version-value",
                   "quotes-mismatched"]


def m_xml_decl(rng, sc, seed):
    """(b) XML declarations, productions [23]-[32] of XML 1.0."""
    m = Mutant(seed)

    def eq():
        return rng.choice(["=", "=", " = ", "\t=", "= ", "\n=\n"])

    def ws():
        return rng.choice([" ", " ", "  ", "\t", "\n", "\r\n", " \t "])

    def q(v):
        c = rng.choice(['"', "'"])
        return "%s%s%s" % (c, v, c)

    parts = [["version", eq(), q("1.0")]]
    if rng.random() < 0.7:
        parts.append(["encoding", eq(), q(rng.choice(["UTF-8", "utf-8", "Utf-8"]))])
    if rng.random() < 0.5:
        parts.append(["standalone", eq(), q(rng.choice(["yes", "no"]))])
    defect = rng.choice(XMLDECL_DEFECTS) if rng.random() < 0.6 else None
    seps = [ws() for _ in parts]
    if defect == "standalone-before-encoding":
        have = {n: [n, e, v] for n, e, v in parts}
        enc = have.get("encoding") or ["encoding", eq(), q("UTF-8")]
        sd = have.get("standalone") or ["standalone", eq(), q(rng.choice(["yes", "no"]))]
        parts = [parts[0], sd, enc]
        seps = [ws() for _ in parts]
    elif defect == "standalone-value":
        v = rng.choice(["maybe", "NO", "Yes", "YES", "true", "1", "", " yes", "yes "])
        sd = ["standalone", eq(), q(v)]
        if parts[-1][0] == "standalone":
            parts[-1] = sd
        else:
            parts.append(sd)
            seps.append(ws())
    elif defect == "pseudo-attr-case":
        i = rng.randrange(len(parts))
        parts[i][0] = rng.choice([parts[i][0].capitalize(), parts[i][0].upper()])
    elif defect == "twice":
        i = rng.randrange(len(parts))
        parts.insert(i + 1, list(parts[i]))
        seps.append(ws())
    elif defect == "unknown-pseudo-attr":
        i = rng.randint(1, len(parts))
        parts.insert(i, [rng.choice(["foo", "lang", "xml:lang", "charset"]), eq(), q("x")])
        seps.append(ws())
    elif defect == "no-space":
        if len(parts) < 2:
            if rng.random() < 0.5:
                parts.append(["encoding", eq(), q("UTF-8")])
            else:
                parts.append(["standalone", eq(), q("yes")])
            seps.append(ws())
        i = rng.randrange(1, len(parts))
        seps[i] = ""
        defect = "no-space-before-" + parts[i][0]
    elif defect == "encname":
        v = rng.choice(["1UTF-8", "_UTF-8", "", "-UTF-8", "UTF-8?", "UTF-8 ", "ÜTF-8"])
        enc = ["encoding", eq(), q(v)]
        if len(parts) > 1 and parts[1][0] == "encoding":
            parts[1] = enc
        else:
            parts.insert(1, enc)
            seps.append(ws())
    elif defect == "version-value":
        parts[0][2] = q(rng.choice(["2.0", "1", "1.0 ", " 1.0", "1.x", "v1.0", ""]))
    elif defect == "quotes-mismatched":
        i = rng.randrange(len(parts))
        v = parts[i][2]
        parts[i][2] = v[:-1] + ("'" if v[0] == '"' else '"')
    body = "".join(sep + n + e + v for sep, (n, e, v) in zip(seps, parts))
    tail = rng.choice(["", "", " ", "\n"])
    m.decl = "<?xml%s%s?>\n" % (body, tail)
    return "xml-decl: %s %s @ /" % (defect or "valid", show(m.decl)), m


BAD_NCNAME_START = ["1", "9", "-", ".", "\u0301", "\u0300", "\u00b7", "\u203f"]
NAME_REST = ["K", "k", "1", "-", ".", "_", "\u00b7", "\u0301", "é"]


def m_ncname(rng, sc, seed):
    """(c) Names after a prefix that are not NCNames, and xmlns:p=""."""
    m = Mutant(seed)

    def local(bad):
        first = rng.choice(BAD_NCNAME_START) if bad else rng.choice(["K", "_", "é", "Kenmerk"])
        return first + "".join(rng.choice(NAME_REST) for _ in range(rng.randint(0, 3)))

    r = rng.randrange(7)
    wb = wildcard_box(rng, sc, m) if r not in (4, 5) else None
    if r not in (4, 5) and wb is None:
        r = rng.choice([4, 5])
    if r in (0, 1):
        # element name in skipped content; r == 1: controls that are NCNames
        area, box, created = wb
        bad = r == 0
        name = "g:" + local(bad)
        if bad and rng.random() < 0.15:
            name = "g:a:" + local(False)
        if rng.random() < 0.5:
            raw = '<%s xmlns:g="%s">x</%s>' % (name, FOREIGN_G, name)
        else:
            raw = '<g:Blok xmlns:g="%s"><%s/></g:Blok>' % (FOREIGN_G, name)
        insert_raw(m, box, len(box), raw)
        return "ncname: element %s %s in %s @ %s" % ("bad" if bad else "good", show(name), area,
                                                   path_of(box)), m
    if r == 2:
        area, box, created = wb
        bad = rng.random() < 0.75
        aname = "g:" + local(bad)
        raw = '<g:Kenmerk xmlns:g="%s" %s="x">x</g:Kenmerk>' % (FOREIGN_G, aname)
        insert_raw(m, box, len(box), raw)
        return "ncname: attribute %s %s in %s @ %s" % ("bad" if bad else "good", show(aname), area,
                                                     path_of(box)), m
    if r == 3:
        # a prefix that is not an NCName, declared and used
        area, box, created = wb
        p = rng.choice(BAD_NCNAME_START) + rng.choice(["p", "g"])
        if rng.random() < 0.5:
            raw = '<%s:K xmlns:%s="%s">x</%s:K>' % (p, p, FOREIGN_G, p)
            how = "used"
        else:
            raw = '<g:K xmlns:g="%s" xmlns:%s="%s">x</g:K>' % (FOREIGN_G, p, FOREIGN_G)
            how = "declared"
        insert_raw(m, box, len(box), raw)
        return "ncname: prefix %s %s in %s @ %s" % (how, show(p), area, path_of(box)), m
    if r == 4:
        # on a schema element: a target-namespace element whose local name
        # (after a prefix) is not an NCName, or a foreign attribute so named
        cands = text_elements(sc, m.root)
        if not cands:
            return None
        el = rng.choice(cands)
        name = etree.QName(el).localname
        if rng.random() < 0.5:
            bad = "pl:" + rng.choice(BAD_NCNAME_START) + name
            raw = '<%s xmlns:pl="%s">%s</%s>' % (bad, sc.tns, esc_text(el.text or ""), bad)
            replace_raw(m, el, raw)
            return "ncname: schema element renamed %s @ %s" % (show(bad), path_of(el.getparent())), m
        aname = "g:" + local(True)
        add_raw_attrs(m, el, ' xmlns:g="%s" %s="x"' % (FOREIGN_G, aname))
        return "ncname: attribute %s on %s @ %s" % (show(aname), name, path_of(el)), m
    # xmlns:p="" (r 5: on a schema element, r 6: on foreign content)
    if r == 5:
        el = rng.choice(elements(m.root))
        p = rng.choice(["p", "gem", "pl", "xsi", "lad"])
        q = rng.choice(['""', "''"])
        add_raw_attrs(m, el, " xmlns:%s=%s" % (p, q))
        return "ncname: undeclare xmlns:%s=\"\" on %s @ %s" % (p, etree.QName(el).localname,
                                                              path_of(el)), m
    area, box, created = wb
    used = rng.random() < 0.5
    inner = '<g:Leeg xmlns:g=""/>' if used else '<g:Leeg xmlns:p=""/>'
    raw = '<g:Kenmerk xmlns:g="%s">%s</g:Kenmerk>' % (FOREIGN_G, inner)
    insert_raw(m, box, len(box), raw)
    return "ncname: undeclare xmlns:%s=\"\" in %s @ %s" % ("g" if used else "p", area,
                                                          path_of(box)), m


# Built-in derivation (Datatypes §3.3), as far as the schema's types need it.
BUILTIN_BASE = {
    "xs:positiveInteger": "xs:nonNegativeInteger", "xs:nonNegativeInteger": "xs:integer",
    "xs:integer": "xs:decimal", "xs:decimal": "xs:anySimpleType",
    "xs:token": "xs:normalizedString", "xs:normalizedString": "xs:string",
    "xs:string": "xs:anySimpleType", "xs:date": "xs:anySimpleType",
    "xs:dateTime": "xs:anySimpleType", "xs:boolean": "xs:anySimpleType",
    "xs:anySimpleType": "xs:anyType",
}


def type_chain(sc, t):
    """t, its base, its base's base, ... up to xs:anyType."""
    out = [t]
    while True:
        if t in sc.simple:
            t = sc.simple[t]["base"]
        elif t in BUILTIN_BASE:
            t = BUILTIN_BASE[t]
        elif t in sc.complex_seq:
            t = "xs:anyType"
        else:
            return out
        out.append(t)


def m_xsi_type(rng, sc, seed):
    """(d) xsi:type naming the declared type, a type derived from it, or not."""
    m = Mutant(seed)
    tns = sc.tns
    cands = [e for e in elements(m.root) if sc.type_of(e) is not None]
    if not cands:
        return None
    if rng.random() < 0.6:
        simple = [e for e in cands if sc.is_simple(e)]
        cands = simple or cands
    el = rng.choice(cands)
    own = sc.type_of(el)
    chain = type_chain(sc, own)
    everything = sorted(set(sc.simple) | set(sc.complex_seq) | set(BUILTIN_BASE))
    derived = [t for t in everything if t != own and own in type_chain(sc, t)]
    how = rng.choice(["own", "own", "own-ws", "own-unprefixed", "base", "derived", "derived",
                      "unrelated", "undefined", "unbound-prefix", "wrong-namespace", "any"])
    if how in ("own", "own-ws", "own-unprefixed"):
        target = own
    elif how == "base":
        target = chain[1]
    elif how == "derived":
        if not derived:
            return None
        target = rng.choice(derived)
    elif how == "unrelated":
        target = rng.choice([t for t in everything if t not in chain and t not in derived])
    elif how == "undefined":
        target = own[:3] + rng.choice(typo_variants(own[3:]))
        if target in everything:
            return None
    elif how == "any":
        target = rng.choice(["xs:anyType", "xs:anySimpleType"])
    else:
        target = own
    pl = rng.choice(["pl", "p", "t", "ns9"])
    xs = rng.choice(["xs", "xsd", "s"])
    decls = ""
    prefix, local = target.split(":")
    if how == "own-unprefixed":
        # only means the target namespace where it is the default namespace
        if prefix != "pl" or el.prefix is not None or etree.QName(el).namespace != tns:
            return None
        value = local
    elif how == "unbound-prefix":
        value = "q:" + local
    elif prefix == "pl":
        decls += ' xmlns:%s="%s"' % (pl, tns + ":x" if how == "wrong-namespace" else tns)
        value = "%s:%s" % (pl, local)
    else:
        decls += ' xmlns:%s="%s"' % (xs, tns if how == "wrong-namespace" else XS)
        value = "%s:%s" % (xs, local)
    if how == "own-ws":
        lead, trail = rng.choice([(" ", " "), ("  ", ""), ("", "\t"), ("\n", "\n"),
                                  ("&#x20;", ""), ("", "&#9;"), ("&#10;", "&#13;")])
        value = lead + value + trail
        label = value
    else:
        label = value
    xsi = rng.choice(["xsi", "i"])
    xsi_decl = ' xmlns:%s="%s"' % (xsi, XSI)
    if rng.random() < 0.5:
        add_raw_attrs(m, m.root, xsi_decl)
        xsi_decl = ""
    add_raw_attrs(m, el, '%s%s %s:type="%s"' % (xsi_decl, decls, xsi, value))
    return "xsi-type: %s[%s] %s on %s @ %s" % (how, own, show(label), etree.QName(el).localname,
                                              path_of(el)), m


MARKUP_PIECES = ["]]&gt;", "]]>", "<![CDATA[]]]]><![CDATA[>]]>", "<![CDATA[<Fout>]]>",
                 "&lt;/Omschrijving&gt;&lt;/Fout&gt;", "&lt;![CDATA[", "&amp;lt;", "]]",
                 "&#93;&#93;&#62;", "<![CDATA[x", "-->", "<!--]]>-->", "&lt;?xml?&gt;",
                 "<![CDATA[&amp;]]>", "]]]]&gt;", "&#x5D;]&gt;"]


def m_markup_values(rng, sc, seed):
    """(e) Values whose text looks like markup, `]]>` above all: error
    messages quote them, so the Foutbericht must survive them (the reply
    itself is checked in tests/it/no_panic.rs)."""
    m = Mutant(seed)
    if rng.random() < 0.15:
        raw = rng.choice(["]]>", "]]&gt;", "<![CDATA[", "&lt;/Fout&gt;"])
        m.root.attrib.pop("versie", None)
        add_raw_attrs(m, m.root, ' versie="%s"' % raw)
        return "markup: versie=%s @ /" % show(raw), m
    cands = text_elements(sc, m.root)
    if not cands:
        return None
    el = rng.choice(cands)
    text = el.text or ""
    pieces = [rng.choice(MARKUP_PIECES) for _ in range(rng.randint(1, 3))]
    where = rng.choice(["replace", "before", "after", "middle"])
    cut = {"replace": 0, "before": 0, "after": len(text), "middle": len(text) // 2}[where]
    keep = "" if where == "replace" else text
    raw = esc_text(keep[:cut]) + "".join(pieces) + esc_text(keep[cut:])
    set_text(el, "")
    m.ov(el)["content_raw"] = raw
    return "markup: value[%s] %s %s @ %s" % (sc.type_of(el), where, show("".join(pieces)),
                                            path_of(el)), m


FAMILIES = [
    ("ns-charref", m_ns_charref),
    ("xml-decl", m_xml_decl),
    ("ncname", m_ncname),
    ("xsi-type", m_xsi_type),
    ("markup-in-values", m_markup_values),
]


KINDS = [
    ("delete", m_delete),
    ("duplicate", m_duplicate),
    ("swap", m_swap),
    ("move", m_move),
    ("rename", m_rename),
    ("value-temporal", make_value("temporal")),
    ("value-number-boolean", make_value("number")),
    ("value-enum", make_value("enum")),
    ("value-string", make_value("string")),
    ("value-pattern", make_value("pattern")),
    ("namespace", m_namespace),
    ("attribute", m_attribute),
    ("text-in-element-only", m_text_in_element_only),
    ("child-in-simple", m_child_in_simple),
    ("comment-pi", m_comment_pi),
    ("cdata-charref-entity", m_cdata_refs),
    ("ns-form", m_ns_form),
    ("empty-quotes-decl", m_empty_quotes),
]


def serialize(m, sc):
    """The mutant's bytes, or None when a raw substitution found nothing."""
    data = m.serialize(sc.tns)
    if hasattr(m, "raw_marker"):
        data = data.replace(b"<!--@@RAW@@-->", m.raw_marker.encode("utf-8"), 1)
    for old, new in getattr(m, "raw_subs", []):
        old = old.encode("utf-8")
        if old not in data:
            return None
        data = data.replace(old, new.encode("utf-8"), 1)
    return data


_WF_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_blank_text=False)


def well_formed(data):
    try:
        etree.fromstring(data, _WF_PARSER)
        return True
    except etree.XMLSyntaxError:
        return False


# ---------------------------------------------------------------------------
# Oracles
# ---------------------------------------------------------------------------

LINE_RE = re.compile(r"^(m\d{5}\.xml) (validates|fails to validate)$")
# libxml2 reports namespace errors (and some well-formedness errors) and goes
# on to validate, even to "validates"; a document it reports as not
# (namespace-)well-formed counts as not valid. Its fatal errors give no
# verdict line at all.
WF_ERROR_RE = re.compile(r"^(m\d{5}\.xml):\d+: (?:parser|namespace) error : ")


ROOT_TAG_RE = re.compile(rb"<([A-Za-z_][^\s/>]*)([^>]*)>")
VERSIE_RE = re.compile(rb"""(?:^|\s)versie\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def declared_version(data):
    """The root's versie as written (character references resolved), or None."""
    body = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", data, flags=re.S)
    m = ROOT_TAG_RE.search(body)
    if not m:
        return None
    v = VERSIE_RE.search(m.group(2))
    if not v:
        return None
    raw = (v.group(1) if v.group(1) is not None else v.group(2)).decode("utf-8", "replace")
    return html.unescape(raw)


def start_xmllint(schema, outdir, files):
    cmd = ["xmllint", "--noout", "--nonet", "--schema", str(schema)] + files
    return subprocess.Popen(cmd, cwd=str(outdir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def load_xmlschema(schema_path):
    import xmlschema
    return xmlschema, xmlschema.XMLSchema10(str(schema_path), allow="sandbox", defuse="always")


def xmlschema_valid(xs_mod, schema, data):
    """False also when the document cannot be parsed (not well-formed) or an
    xsi:type names a type xmlschema cannot resolve (it raises instead of
    reporting cvc-elt.4.2)."""
    from xmlschema.exceptions import XMLResourceParseError, XMLSchemaKeyError
    try:
        res = xs_mod.XMLResource(data, allow="none", defuse="always")
        return schema.is_valid(res, use_location_hints=False)
    except (XMLResourceParseError, XMLSchemaKeyError):
        return False


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schema", required=True,
                    help="the latest XSD: the mutations' structure, and the judge of a "
                         "document whose versie names no other")
    ap.add_argument("--version", action="append", default=[], metavar="VERSIE=XSD",
                    help="the XSD judging documents whose root says versie=VERSIE")
    ap.add_argument("--seed-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--family-min", type=int, default=60,
                    help="mutants per issue-#11 family at least (FAMILIES)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.monotonic()

    schema_path = Path(args.schema).resolve()
    sc = SchemaInfo(schema_path)
    seed_files = sorted(Path(args.seed_dir).rglob("*.xml"))
    if not seed_files:
        raise SystemExit("no *.xml seeds under %s" % args.seed_dir)
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob("m[0-9][0-9][0-9][0-9][0-9].xml"):
        old.unlink()

    entries = []   # (file, kind, mutation, bytes)
    seen = set()
    seeds = []
    for f in seed_files:
        data = f.read_bytes()
        root = etree.fromstring(data, _WF_PARSER)
        seeds.append((f.name, root))
        if data not in seen:
            seen.add(data)
            entries.append(("seed", "seed %s" % f.relative_to(args.seed_dir), data))

    rng = random.Random(args.seed)
    made = 0
    per_kind = {k: 0 for k, _ in KINDS}
    rejected_wf = 0
    i = 0
    max_attempts = args.count * 60
    attempts = 0
    while made < args.count and attempts < max_attempts:
        kind, fn = KINDS[i % len(KINDS)]
        i += 1
        for _ in range(25):
            attempts += 1
            seed_name, seed_root = rng.choice(seeds)
            try:
                res = fn(rng, sc, seed_root)
            except (IndexError, ValueError):
                res = None
            if res is None:
                continue
            desc, m = res
            data = serialize(m, sc)
            if data is None or data in seen:
                continue
            if not well_formed(data):
                rejected_wf += 1
                continue
            seen.add(data)
            entries.append((kind, desc, data))
            per_kind[kind] += 1
            made += 1
            break
    if made < args.count:
        raise SystemExit("could only make %d distinct mutants (wanted %d)" % (made, args.count))

    # Issue #11 families, on top of --count with their own random stream (the
    # mutants above stay what they were), not-well-formed ones kept.
    per_family = max(args.family_min, args.count // len(KINDS))
    frng = random.Random("families-%d" % args.seed)
    for kind, fn in FAMILIES:
        got, tries = 0, 0
        while got < per_family:
            tries += 1
            if tries > per_family * 60:
                raise SystemExit("family %s: only %d distinct mutants (wanted %d)"
                                 % (kind, got, per_family))
            seed_name, seed_root = frng.choice(seeds)
            try:
                res = fn(frng, sc, seed_root)
            except (IndexError, ValueError):
                res = None
            if res is None:
                continue
            desc, m = res
            data = serialize(m, sc)
            if data is None or data in seen:
                continue
            seen.add(data)
            entries.append((kind, desc, data))
            got += 1
    t_gen = time.monotonic() - t0

    files = []
    for n, (kind, desc, data) in enumerate(entries, 1):
        name = "m%05d.xml" % n
        (outdir / name).write_bytes(data)
        files.append(name)

    # Each mutant is judged by the XSD of the version its root declares, as
    # ladderpost does (a versie naming no version: the latest, --schema).
    by_version = {v: Path(p).resolve() for v, p in (x.split("=", 1) for x in args.version)}
    schema_of = [by_version.get(declared_version(data), schema_path) for _, _, data in entries]
    # xmllint runs in the background while xmlschema works in-process.
    lint_procs = []
    for sp in sorted(set(schema_of)):
        group = [f for f, s_ in zip(files, schema_of) if s_ == sp]
        half = (len(group) + 1) // 2
        lint_procs += [(b, start_xmllint(sp, outdir, b)) for b in (group[:half], group[half:]) if b]
    xs_schemas = {}
    xs_verdicts = []
    for (_, _, data), sp in zip(entries, schema_of):
        if sp not in xs_schemas:
            xs_schemas[sp] = load_xmlschema(sp)
        xs_mod, xs_schema = xs_schemas[sp]
        xs_verdicts.append(xmlschema_valid(xs_mod, xs_schema, data))
    lint = {}
    for b, proc in lint_procs:
        _, err = proc.communicate()
        not_wf = set()
        for line in err.decode("utf-8", "replace").splitlines():
            mt = LINE_RE.match(line)
            if mt:
                lint[mt.group(1)] = mt.group(2) == "validates"
            mt = WF_ERROR_RE.match(line)
            if mt:
                not_wf.add(mt.group(1))
        for f in not_wf:
            lint[f] = False
        missing = [f for f in b if f not in lint]
        if missing:
            raise SystemExit("xmllint gave no verdict for %s (exit %s):\n%s" % (
                missing[:5], proc.returncode, err.decode("utf-8", "replace")[-2000:]))

    verdicts = []
    for name, (kind, desc, data), xv in zip(files, entries, xs_verdicts):
        verdicts.append({"file": name, "kind": kind, "mutation": desc,
                         "xmllint": lint[name], "xmlschema": bool(xv),
                         "well_formed": well_formed(data)})
    with open(outdir / "verdicts.json", "w", encoding="utf-8") as fh:
        json.dump(verdicts, fh, ensure_ascii=False, indent=1)
    elapsed = time.monotonic() - t0

    if not args.quiet:
        stats = {}
        for v in verdicts:
            s = stats.setdefault(v["kind"], [0, 0, 0, 0])
            s[0] += 1
            s[1] += v["xmllint"] and v["xmlschema"]
            s[2] += (not v["xmllint"]) and (not v["xmlschema"])
            s[3] += v["xmllint"] != v["xmlschema"]
        print("%-22s %6s %6s %8s %8s" % ("kind", "total", "valid", "invalid", "disagree"))
        for k, (tot, va, inv, dis) in stats.items():
            print("%-22s %6d %6d %8d %8d" % (k, tot, va, inv, dis))
        tot = len(verdicts)
        va = sum(v["xmllint"] and v["xmlschema"] for v in verdicts)
        dis = [v for v in verdicts if v["xmllint"] != v["xmlschema"]]
        print("%-22s %6d %6d %8d %8d" % ("TOTAL", tot, va, tot - va - len(dis), len(dis)))
        print("seeds %d, mutants %d, dropped not-well-formed %d, generation %.1fs, total %.1fs"
              % (len(seeds), made, rejected_wf, t_gen, elapsed))
        for v in dis:
            print("DISAGREE %s xmllint=%s xmlschema=%s  %s" % (
                v["file"], v["xmllint"], v["xmlschema"], v["mutation"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

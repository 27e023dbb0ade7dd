//! The streaming validator: one pass over quick-xml's events, driven by the
//! compiled schema, that checks well-formedness beyond quick-xml's own,
//! content models, attributes and simple types, and builds the
//! [`ValidDocument`] tree as it goes.
//!
//! Errors are collected (up to a bound) rather than stopping at the first,
//! so a sender sees everything wrong at once; a well-formedness error ends
//! the pass, since nothing after it can be trusted.

use std::collections::HashSet;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::datatypes;
use super::model::{CompiledSchema, ComplexType, Edge, ElementDecl, Matcher, TypeRef};
use super::tree::{Node, ValidDocument, NONE};
use super::versie::{self, Schemaversie, NAMESPACE};
use crate::diagnostics::{Code, Melding, Position};
use crate::xml::{self, Limits, Namespaces};

const XSI: &[u8] = b"http://www.w3.org/2001/XMLSchema-instance";
const XS: &str = "http://www.w3.org/2001/XMLSchema";
const MAX_ERRORS: usize = 100;

#[derive(Clone, Copy)]
enum Kind {
    Complex {
        ty: &'static ComplexType,
        state: u16,
    },
    Simple {
        ty: u16,
    },
    /// Content not validated: a wildcard's element, or below an error.
    Skip,
}

struct Frame {
    kind: Kind,
    node: u32,
    last_child: u32,
    start: usize,
    text_reported: bool,
}

struct Pass<'a> {
    source: &'a [u8],
    /// The version the root's `versie` names, chosen at the root.
    versie: Schemaversie,
    schema: &'static CompiledSchema,
    base: usize,
    nodes: Vec<Node>,
    values: String,
    text: String,
    stack: Vec<Frame>,
    errors: Vec<Melding>,
}

/// Validates `source` against the compiled schema with default limits.
pub fn validate(source: &[u8]) -> Result<ValidDocument<'_>, Vec<Melding>> {
    validate_with(source, &Limits::default())
}

/// Validates `source` against the compiled schema.
pub fn validate_with<'a>(
    source: &'a [u8],
    limits: &Limits,
) -> Result<ValidDocument<'a>, Vec<Melding>> {
    let (text, base) = xml::check_document(source, limits).map_err(|e| vec![e])?;
    let mut pass = Pass {
        source,
        versie: Schemaversie::LATEST,
        schema: Schemaversie::LATEST.compiled(),
        base,
        nodes: Vec::with_capacity(source.len() / 48 + 8),
        values: String::with_capacity(source.len() / 3),
        text: String::new(),
        stack: Vec::with_capacity(16),
        errors: Vec::new(),
    };
    match pass.run(text, limits) {
        Ok(()) if pass.errors.is_empty() => Ok(ValidDocument {
            source,
            versie: pass.versie,
            nodes: pass.nodes,
            values: pass.values,
        }),
        Ok(()) => Err(pass.errors),
        Err(fatal) => {
            pass.errors.push(fatal);
            Err(pass.errors)
        }
    }
}

impl<'a> Pass<'a> {
    fn position(&self, offset: usize) -> Position {
        Position::of_offset(self.source, self.base + offset)
    }

    fn path(&self) -> String {
        let mut path = String::new();
        for f in &self.stack {
            if f.node != NONE {
                path.push('/');
                path.push_str(self.nodes[f.node as usize].name);
            }
        }
        path
    }

    /// The namespace and local part of a qualified name; an undeclared
    /// prefix makes the document not namespace-well-formed. Unprefixed
    /// attributes are in no namespace (`element` false).
    fn resolve<'r>(
        &self,
        names: &'r Namespaces,
        qname: &'r [u8],
        element: bool,
        offset: usize,
    ) -> Result<(Option<&'r [u8]>, &'r [u8]), Melding> {
        let (prefix, local) = xml::split_qname(qname);
        if prefix.is_empty() && !element {
            return Ok((None, local));
        }
        match names.resolve(prefix) {
            Ok(ns) => Ok((ns.map(str::as_bytes), local)),
            Err(xml::UndeclaredPrefix) => Err(self.malformed(
                offset,
                format!(
                    "undeclared namespace prefix '{}'",
                    String::from_utf8_lossy(prefix)
                ),
            )),
        }
    }

    fn malformed(&self, offset: usize, message: impl Into<String>) -> Melding {
        Melding::new(Code::XmlMalformed, message).at(self.position(offset))
    }

    /// Records a validity error, up to `MAX_ERRORS`; at that many, `run`
    /// stops reading (the message is refused either way).
    fn error(&mut self, code: Code, offset: usize, path: String, message: String) {
        if self.errors.len() < MAX_ERRORS {
            let m = Melding::new(code, message)
                .at(self.position(offset))
                .with_path(path);
            self.errors.push(m);
        }
    }

    fn run(&mut self, text: &'a str, limits: &Limits) -> Result<(), Melding> {
        let mut reader = Reader::from_str(text);
        let mut names = Namespaces::default();
        {
            let config = reader.config_mut();
            config.check_end_names = true;
            config.check_comments = true;
            config.expand_empty_elements = true;
            config.trim_text(false);
        }
        let mut seen_root = false;
        let mut elements = 0usize;
        let mut first_event = true;
        loop {
            let offset = reader.buffer_position() as usize;
            let event = match reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let at = (reader.error_position() as usize).min(text.len());
                    return Err(self.malformed(at, format!("not well-formed XML: {e}")));
                }
            };
            let at_start = std::mem::take(&mut first_event);
            match event {
                Event::Decl(_) => {
                    if !at_start || offset != 0 {
                        return Err(self.malformed(
                            offset,
                            "an XML declaration may only stand at the very start",
                        ));
                    }
                    let raw = text
                        .get(offset..reader.buffer_position() as usize)
                        .unwrap_or("");
                    check_declaration(raw)
                        .map_err(|(code, m)| Melding::new(code, m).at(self.position(offset)))?;
                }
                Event::DocType(_) => {
                    return Err(Melding::new(
                        Code::XmlDtd,
                        "document type declarations (DTDs) are not accepted: no entities, no external resources",
                    )
                    .at(self.position(offset)));
                }
                Event::PI(pi) => {
                    let target = pi.target();
                    if target.eq_ignore_ascii_case(b"xml")
                        || !xml::is_qname(target)
                        || target.contains(&b':')
                    {
                        return Err(self.malformed(offset, "invalid processing instruction target"));
                    }
                }
                Event::Comment(_) => {}
                Event::Start(e) => {
                    if self.stack.is_empty() && seen_root {
                        return Err(self.malformed(
                            offset,
                            "a second root element; a document has exactly one",
                        ));
                    }
                    seen_root = true;
                    elements += 1;
                    if elements > limits.max_elements {
                        return Err(Melding::new(
                            Code::XmlTooManyElements,
                            format!("more than {} elements", limits.max_elements),
                        )
                        .at(self.position(offset)));
                    }
                    if self.stack.len() >= limits.max_depth {
                        return Err(Melding::new(
                            Code::XmlTooDeep,
                            format!("elements nested more than {} deep", limits.max_depth),
                        )
                        .at(self.position(offset)));
                    }
                    self.attribute_limits(&e, offset, limits)?;
                    names.open(&e).map_err(|m| self.malformed(offset, m))?;
                    self.start(&names, &e, offset)?;
                }
                Event::End(_) => {
                    let end = reader.buffer_position() as usize;
                    self.end(offset, end);
                    names.close();
                }
                Event::Text(_) => {
                    // The event is this slice of the (already checked) text.
                    let raw = text
                        .get(offset..reader.buffer_position() as usize)
                        .unwrap_or("");
                    if raw.contains("]]>") {
                        return Err(
                            self.malformed(offset, "']]>' is not allowed in character data")
                        );
                    }
                    self.characters(raw, offset, false)?;
                }
                Event::CData(t) => {
                    let raw = std::str::from_utf8(t.as_ref()).unwrap_or("");
                    if self.stack.is_empty() {
                        return Err(
                            self.malformed(offset, "character data outside the root element")
                        );
                    }
                    // Line ends inside CDATA are normalised like any other.
                    self.characters(raw, offset, false)?;
                }
                Event::GeneralRef(r) => {
                    let body = std::str::from_utf8(r.as_ref()).unwrap_or("");
                    let c = xml::resolve_reference(body).map_err(|m| self.malformed(offset, m))?;
                    if self.stack.is_empty() {
                        return Err(
                            self.malformed(offset, "character data outside the root element")
                        );
                    }
                    let mut buf = [0u8; 4];
                    self.characters(c.encode_utf8(&mut buf), offset, true)?;
                }
                Event::Empty(_) => unreachable_empty(),
                Event::Eof => {
                    if !seen_root {
                        return Err(self.malformed(offset, "the document has no root element"));
                    }
                    if !self.stack.is_empty() {
                        return Err(self.malformed(offset, "the document ends inside an element"));
                    }
                    return Ok(());
                }
            }
            if self.errors.len() >= MAX_ERRORS {
                return Ok(());
            }
        }
    }

    /// Character data: text, CDATA or a resolved reference.
    fn characters(&mut self, raw: &str, offset: usize, literal: bool) -> Result<(), Melding> {
        let Some(frame) = self.stack.last() else {
            if raw.bytes().all(xml::is_xml_space) {
                return Ok(());
            }
            return Err(self.malformed(offset, "text outside the root element"));
        };
        let reported = frame.text_reported;
        match frame.kind {
            Kind::Simple { .. } => {
                if literal {
                    self.text.push_str(raw);
                } else {
                    xml::push_text(&mut self.text, raw);
                }
            }
            Kind::Complex { ty, .. } => {
                if !raw.bytes().all(xml::is_xml_space) && !reported {
                    if let Some(f) = self.stack.last_mut() {
                        f.text_reported = true;
                    }
                    let path = self.path();
                    self.error(
                        Code::XsdTextNotAllowed,
                        offset,
                        path,
                        format!(
                            "text is not allowed here: {} contains only elements",
                            ty.name
                        ),
                    );
                }
            }
            Kind::Skip => {}
        }
        Ok(())
    }

    fn start(
        &mut self,
        names: &Namespaces,
        e: &BytesStart<'_>,
        offset: usize,
    ) -> Result<(), Melding> {
        let qname = e.name().into_inner();
        if !xml::is_qname(qname) {
            return Err(self.malformed(offset, "invalid element name"));
        }
        let (ns, local) = self.resolve(names, qname, true, offset)?;
        let name = || String::from_utf8_lossy(local);

        // Decide what this element is before looking at its attributes.
        enum Found {
            Decl(&'static ElementDecl),
            Foreign,
            Skip,
        }
        if self.stack.is_empty() {
            // The root's `versie` chooses the tables the document is judged by.
            self.versie = Schemaversie::declared(root_versie(e).as_deref().map(str::as_bytes));
            self.schema = self.versie.compiled();
        }
        let schema = self.schema;
        let found = match self.stack.last() {
            None => match schema.roots.iter().find(|d| matches(d, ns, local)) {
                Some(d) => Found::Decl(d),
                None => {
                    let expected: Vec<&str> = schema.roots.iter().map(|d| d.name).collect();
                    self.error(
                        Code::XsdRoot,
                        offset,
                        format!("/{}", name()),
                        format!(
                            "root element {} is not a message of this schema; expected one of {} in namespace {}",
                            describe(ns, &name()),
                            expected.join(", "),
                            NAMESPACE
                        ),
                    );
                    Found::Skip
                }
            },
            Some(frame) => {
                match frame.kind {
                    Kind::Skip => Found::Skip,
                    Kind::Simple { ty } => {
                        let ty = &schema.simple_types[ty as usize];
                        let path = self.path();
                        self.error(
                            Code::XsdElementInSimple,
                            offset,
                            path,
                            format!(
                                "element {} is not allowed here: the value must be plain text ({})",
                                name(),
                                ty.name
                            ),
                        );
                        Found::Skip
                    }
                    Kind::Complex { ty, state } => {
                        let hit =
                            find_edge(ty, state, ns, local)
                                .map(|e| (e, false))
                                .or_else(|| {
                                    // Recover from missing elements: is this element
                                    // allowed a few required elements further on?
                                    reachable(ty, state)
                                        .find_map(|s| find_edge(ty, s, ns, local))
                                        .map(|e| (e, true))
                                });
                        if let Some((_, true)) = hit {
                            let expected = expected_names(ty, state);
                            let path = self.path();
                            self.error(
                                Code::XsdMissingElement,
                                offset,
                                path,
                                format!("expected {expected} before element {}", name()),
                            );
                        }
                        match hit.map(|(e, _)| e) {
                            Some(edge) => {
                                if let Some(Frame {
                                    kind: Kind::Complex { state, .. },
                                    ..
                                }) = self.stack.last_mut()
                                {
                                    *state = edge.target;
                                }
                                match &edge.matcher {
                                    Matcher::Element(d) => Found::Decl(d),
                                    Matcher::Wildcard(_) => Found::Foreign,
                                }
                            }
                            None => {
                                let expected = expected_names(ty, state);
                                let path = self.path();
                                let later = (ns == Some(NAMESPACE.as_bytes()))
                                    .then(|| versie::added_in(local))
                                    .flatten()
                                    .filter(|&v| v > self.versie)
                                    .map(|v| {
                                        format!(" ({} is part of schema {v}: the message must say versie=\"{v}\")", name())
                                    })
                                    .unwrap_or_default();
                                self.error(
                                    Code::XsdUnexpectedElement,
                                    offset,
                                    format!("{path}/{}", name()),
                                    format!(
                                        "element {} is not allowed here; expected {}{later}",
                                        describe(ns, &name()),
                                        expected
                                    ),
                                );
                                Found::Skip
                            }
                        }
                    }
                }
            }
        };

        let parent = self.stack.last().map_or(NONE, |f| f.node);
        let (kind, node) = match found {
            Found::Decl(d) => {
                let node = self.push_node(d.name, parent, offset, false);
                let kind = match d.ty {
                    TypeRef::Complex(i) => Kind::Complex {
                        ty: &schema.complex_types[i as usize],
                        state: 0,
                    },
                    TypeRef::Simple(i) => {
                        self.text.clear();
                        Kind::Simple { ty: i }
                    }
                };
                (kind, node)
            }
            Found::Foreign => {
                let node = self.push_node("*", parent, offset, true);
                let start = self.values.len() as u32;
                self.values
                    .push_str(ns.and_then(|n| std::str::from_utf8(n).ok()).unwrap_or(""));
                self.nodes[node as usize].namespace = start..self.values.len() as u32;
                (Kind::Skip, node)
            }
            Found::Skip => (Kind::Skip, NONE),
        };
        self.stack.push(Frame {
            kind,
            node,
            last_child: NONE,
            start: offset,
            text_reported: false,
        });
        self.attributes(names, e, offset)
    }

    fn push_node(&mut self, name: &'static str, parent: u32, offset: usize, foreign: bool) -> u32 {
        let index = self.nodes.len() as u32;
        self.nodes.push(Node {
            name,
            parent,
            first_child: NONE,
            next_sibling: NONE,
            value: 0..0,
            span: (self.base + offset) as u32..(self.base + offset) as u32,
            foreign,
            namespace: 0..0,
        });
        if let Some(frame) = self.stack.last_mut() {
            if frame.last_child == NONE {
                self.nodes[parent as usize].first_child = index;
            } else {
                self.nodes[frame.last_child as usize].next_sibling = index;
            }
            frame.last_child = index;
        }
        index
    }

    /// Refuses an element with more attributes or namespace declarations
    /// than the limits allow, before anything looks at them one by one.
    fn attribute_limits(
        &self,
        e: &BytesStart<'_>,
        offset: usize,
        limits: &Limits,
    ) -> Result<(), Melding> {
        let (mut attributes, mut declarations) = (0usize, 0usize);
        // Syntax errors are reported by `attributes`; here only counted.
        for attr in e.attributes().with_checks(false).flatten() {
            attributes += 1;
            if attr.key.as_namespace_binding().is_some() {
                declarations += 1;
            }
            let too_many = if attributes > limits.max_attributes {
                format!(
                    "more than {} attributes on one element",
                    limits.max_attributes
                )
            } else if declarations > limits.max_namespace_declarations {
                format!(
                    "more than {} namespace declarations on one element",
                    limits.max_namespace_declarations
                )
            } else {
                continue;
            };
            return Err(
                Melding::new(Code::XmlTooManyAttributes, too_many).at(self.position(offset))
            );
        }
        Ok(())
    }

    /// Well-formedness of every attribute, and validity against the type
    /// of the element just pushed.
    fn attributes(
        &mut self,
        names: &Namespaces,
        e: &BytesStart<'_>,
        offset: usize,
    ) -> Result<(), Melding> {
        let (complex, validate) = match self.stack.last().map(|f| &f.kind) {
            Some(Kind::Complex { ty, .. }) => (Some(*ty), true),
            Some(Kind::Simple { .. }) => (None, true),
            _ => (None, false),
        };
        let mut seen: u64 = 0;
        // Duplicate checks by hash, not quick-xml's pairwise scan: linear in
        // the number of attributes.
        let mut seen_names: HashSet<&[u8]> = HashSet::new();
        let mut resolved: HashSet<(Option<Vec<u8>>, Vec<u8>)> = HashSet::new();
        for attr in e.attributes().with_checks(false) {
            let attr = attr.map_err(|err| {
                self.malformed(offset, format!("not well-formed attribute: {err}"))
            })?;
            let key = attr.key;
            if !xml::is_qname(key.as_ref()) {
                return Err(self.malformed(offset, "invalid attribute name"));
            }
            if !seen_names.insert(key.into_inner()) {
                return Err(self.malformed(
                    offset,
                    format!(
                        "attribute {} appears twice",
                        String::from_utf8_lossy(key.as_ref())
                    ),
                ));
            }
            let raw = std::str::from_utf8(&attr.value).unwrap_or("");
            let value = xml::attribute_value(raw).map_err(|m| self.malformed(offset, m))?;
            if key.as_namespace_binding().is_some() {
                continue;
            }
            let (ns, local) = self.resolve(names, key.into_inner(), false, offset)?;
            // Namespaces in XML: no two attributes with the same expanded name.
            if ns.is_some() && !resolved.insert((ns.map(<[u8]>::to_vec), local.to_vec())) {
                return Err(
                    self.malformed(offset, "two attributes with the same namespace and name")
                );
            }
            if !validate {
                continue;
            }
            let name = String::from_utf8_lossy(key.as_ref()).into_owned();
            if ns == Some(XSI) {
                match local {
                    b"schemaLocation" | b"noNamespaceSchemaLocation" => continue,
                    b"nil" => {
                        let path = self.path();
                        self.error(
                            Code::XsdXsi,
                            offset,
                            path,
                            "xsi:nil is not allowed: no element of this schema is nillable".into(),
                        );
                        continue;
                    }
                    b"type" => {
                        self.xsi_type(names, &value, offset);
                        continue;
                    }
                    _ => {}
                }
            }
            let root = self.stack.len() == 1;
            if root && ns.is_none() && local == b"versie" && Schemaversie::parse(&value).is_none() {
                // Named as what it is rather than as a pattern mismatch.
                let known: Vec<&str> = Schemaversie::ALL.iter().map(|v| v.as_str()).collect();
                let path = self.path();
                self.error(
                    Code::XsdVersie,
                    offset,
                    format!("{path}/@versie"),
                    format!(
                        "versie {} is not a published version of this schema; published: {}",
                        datatypes::quoted(&value),
                        known.join(", ")
                    ),
                );
                if let Some(i) =
                    complex.and_then(|ty| ty.attributes.iter().position(|a| a.name == "versie"))
                {
                    seen |= 1 << i;
                }
                continue;
            }
            let decl = complex.and_then(|ty| {
                ty.attributes.iter().enumerate().find(|(_, a)| {
                    ns.is_none() && a.namespace.is_none() && a.name.as_bytes() == local
                })
            });
            let Some((i, decl)) = decl else {
                let path = self.path();
                self.error(
                    Code::XsdAttributeNotAllowed,
                    offset,
                    path,
                    format!("attribute {name} is not allowed here"),
                );
                continue;
            };
            seen |= 1 << i;
            let ty = &self.schema.simple_types[decl.ty as usize];
            let normalized = datatypes::normalize(&value, ty.whitespace);
            if let Err((code, message)) =
                datatypes::check(&normalized, ty, decl.ty as usize, self.versie)
            {
                let path = self.path();
                self.error(code, offset, format!("{path}/@{name}"), message);
            } else if let Some(fixed) = decl.fixed {
                if normalized != fixed {
                    let path = self.path();
                    self.error(
                        Code::XsdAttributeFixed,
                        offset,
                        format!("{path}/@{name}"),
                        format!(
                            "attribute {name} must be {fixed:?}, not {}",
                            datatypes::quoted(&normalized)
                        ),
                    );
                }
            }
        }
        if let Some(ty) = complex {
            for (i, a) in ty.attributes.iter().enumerate() {
                if a.required && seen & (1 << i) == 0 {
                    let path = self.path();
                    self.error(
                        Code::XsdAttributeMissing,
                        offset,
                        path,
                        format!("required attribute {} is missing", a.name),
                    );
                }
            }
        }
        Ok(())
    }

    /// `xsi:type` (Structures §3.3.4 cvc-elt.4): it must name the
    /// element's declared type or a type validly derived from it, which
    /// then governs the element's value.
    fn xsi_type(&mut self, names: &Namespaces, value: &str, offset: usize) {
        let qname = value.trim_matches([' ', '\t', '\n', '\r']);
        let Some(frame) = self.stack.last() else {
            return;
        };
        let resolved = if xml::is_qname(qname.as_bytes()) {
            let (prefix, local) = xml::split_qname(qname.as_bytes());
            names.resolve(prefix).ok().map(|ns| (ns, local))
        } else {
            None
        };
        let refuse = |why: String| (Code::XsdXsi, why);
        let outcome = match (resolved, frame.kind) {
            (None, _) => Err(refuse(format!(
                "xsi:type {} is not a qualified name with a declared prefix",
                datatypes::quoted(qname)
            ))),
            (Some((ns, local)), Kind::Simple { ty }) => {
                let schema = self.schema;
                let named = schema.simple_types.iter().position(|t| {
                    t.global
                        && match t.name.strip_prefix("xs:") {
                            Some(builtin) => ns == Some(XS) && builtin.as_bytes() == local,
                            None => ns == Some(NAMESPACE) && t.name.as_bytes() == local,
                        }
                });
                match named.filter(|&s| derives(schema, s as u16, ty)) {
                    Some(s) => Ok(Kind::Simple { ty: s as u16 }),
                    None => Err(refuse(format!(
                        "xsi:type {} is not the element's type {} nor a type derived from it",
                        datatypes::quoted(qname),
                        schema.simple_types[ty as usize].name
                    ))),
                }
            }
            (Some((ns, local)), Kind::Complex { ty, state }) => {
                // The schema derives no complex types: only the type itself.
                if ty.global && ns == Some(NAMESPACE) && ty.name.as_bytes() == local {
                    Ok(Kind::Complex { ty, state })
                } else {
                    Err(refuse(format!(
                        "xsi:type {} is not the element's type nor a type derived from it",
                        datatypes::quoted(qname)
                    )))
                }
            }
            (_, Kind::Skip) => return,
        };
        match outcome {
            Ok(kind) => {
                if let Some(f) = self.stack.last_mut() {
                    f.kind = kind;
                }
            }
            Err((code, message)) => {
                let path = self.path();
                self.error(code, offset, path, message);
            }
        }
    }

    fn end(&mut self, offset: usize, end: usize) {
        let Some(frame) = self.stack.last() else {
            return;
        };
        match frame.kind {
            Kind::Complex { ty, state } => {
                if !ty.states[state as usize].accepting {
                    let expected = expected_names(ty, state);
                    let path = self.path();
                    self.error(
                        Code::XsdMissingElement,
                        offset,
                        path,
                        format!("element is incomplete: expected {expected} before this end tag"),
                    );
                }
            }
            Kind::Simple { ty } => {
                let t = &self.schema.simple_types[ty as usize];
                let text = std::mem::take(&mut self.text);
                let normalized = datatypes::normalize(&text, t.whitespace);
                match datatypes::check(&normalized, t, ty as usize, self.versie) {
                    Ok(()) => {
                        let start = self.values.len() as u32;
                        self.values.push_str(&normalized);
                        let node = &mut self.nodes[frame.node as usize];
                        node.value = start..self.values.len() as u32;
                    }
                    Err((code, message)) => {
                        let path = self.path();
                        let at = frame.start;
                        self.error(code, at, path, message);
                    }
                }
                self.text = text;
                self.text.clear();
            }
            Kind::Skip => {}
        }
        if let Some(frame) = self.stack.pop() {
            if frame.node != NONE {
                self.nodes[frame.node as usize].span.end = (self.base + end) as u32;
            }
        }
    }
}

fn find_edge(
    ty: &'static ComplexType,
    state: u16,
    ns: Option<&[u8]>,
    local: &[u8],
) -> Option<&'static Edge> {
    ty.states[state as usize]
        .edges
        .iter()
        .find(|edge| match &edge.matcher {
            Matcher::Element(d) => matches(d, ns, local),
            Matcher::Wildcard(w) => w
                .namespaces
                .allows(NAMESPACE, ns.and_then(|n| std::str::from_utf8(n).ok())),
        })
}

/// The states reachable from `state` by one or more elements, nearest first.
fn reachable(ty: &'static ComplexType, state: u16) -> impl Iterator<Item = u16> {
    let mut seen = vec![false; ty.states.len()];
    let mut order = Vec::new();
    let mut queue = std::collections::VecDeque::from([state]);
    seen[state as usize] = true;
    while let Some(s) = queue.pop_front() {
        for e in ty.states[s as usize].edges {
            if !seen[e.target as usize] {
                seen[e.target as usize] = true;
                order.push(e.target);
                queue.push_back(e.target);
            }
        }
    }
    order.into_iter()
}

fn matches(d: &ElementDecl, ns: Option<&[u8]>, local: &[u8]) -> bool {
    d.name.as_bytes() == local && d.namespace.map(str::as_bytes) == ns
}

fn describe(ns: Option<&[u8]>, name: &str) -> String {
    match ns {
        Some(ns) if ns == NAMESPACE.as_bytes() => name.to_string(),
        Some(ns) => format!("{name} (namespace {})", String::from_utf8_lossy(ns)),
        None => format!("{name} (no namespace)"),
    }
}

/// What the content model accepts next, for error messages.
fn expected_names(ty: &ComplexType, state: u16) -> String {
    let st = &ty.states[state as usize];
    let mut names: Vec<String> = st
        .edges
        .iter()
        .map(|e| match &e.matcher {
            Matcher::Element(d) => d.name.to_string(),
            Matcher::Wildcard(_) => "an element in another namespace".to_string(),
        })
        .collect();
    if st.accepting {
        names.push("the end of the element".to_string());
    }
    match names.len() {
        0 => "no content".to_string(),
        1 => names.remove(0),
        _ => format!("one of {}", names.join(", ")),
    }
}

/// Checks the XML declaration (`<?xml` to `?>`) by its grammar, and that
/// it names UTF-8 if any encoding.
fn check_declaration(raw: &str) -> Result<(), (Code, String)> {
    let encoding = xml::declaration(raw).map_err(|m| (Code::XmlMalformed, m))?;
    match encoding {
        Some(enc) if !enc.eq_ignore_ascii_case("UTF-8") && !enc.eq_ignore_ascii_case("UTF8") => {
            Err((
                Code::XmlEncoding,
                format!("encoding {enc} is not accepted; send UTF-8"),
            ))
        }
        _ => Ok(()),
    }
}

/// Whether simple type `s` is `t` or derived from it by restriction.
fn derives(schema: &CompiledSchema, mut s: u16, t: u16) -> bool {
    loop {
        if s == t {
            return true;
        }
        match schema.simple_types[s as usize].base {
            Some(base) => s = base,
            None => return false,
        }
    }
}

/// The root's `versie`, unprefixed and normalised; `None` when absent or
/// unreadable (the attribute pass reports that).
fn root_versie(e: &BytesStart<'_>) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        (a.key.as_ref() == b"versie").then(|| {
            let raw = std::str::from_utf8(&a.value).ok()?;
            xml::attribute_value(raw).ok().map(|v| v.into_owned())
        })?
    })
}

/// `expand_empty_elements` turns `<a/>` into Start + End.
fn unreachable_empty() {}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = include_str!("../../fixtures/valid/meting-0363-trede3-groei.xml");
    const ROOT: &str = r#"versie="1.0">"#;
    const XSI_NS: &str = r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;

    /// The fixture with extra declarations on the root and `from` replaced.
    fn variant(declarations: &str, from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "{from}");
        BASE.replacen(ROOT, &format!("versie=\"1.0\" {declarations}>"), 1)
            .replacen(from, to, 1)
    }

    fn codes(doc: &str) -> Vec<&'static str> {
        match validate(doc.as_bytes()) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(|e| e.code.as_str()).collect(),
        }
    }

    #[test]
    fn namespace_names_spelled_with_references_are_the_namespaces_they_name() {
        let default = BASE.replacen(
            r#"xmlns="urn:ladderpost:participatieladder:v1""#,
            r#"xmlns="urn:ladderpost:participatieladder:&#x76;1""#,
            1,
        );
        assert_eq!(codes(&default), Vec::<&str>::new());
        // The target namespace, however spelt, is not ##other.
        let wildcard = variant(
            r#"xmlns:t="urn:ladderpost:&#112;articipatieladder:v1""#,
            "<gem:",
            "<t:Bsn>1</t:Bsn><gem:",
        );
        assert!(!codes(&wildcard).is_empty(), "{wildcard}");
        let xsi = variant(
            r#"xmlns:xsi="http://www.&#119;3.org/2001/XMLSchema-instance""#,
            "<Huisnummer>",
            r#"<Huisnummer xsi:nil="true">"#,
        );
        assert_eq!(codes(&xsi), ["xsd.xsi"]);
        let twice = variant(
            r#"xmlns:a="urn:x" xmlns:b="urn:&#x78;""#,
            "<Huisnummer>",
            r#"<Huisnummer a:k="1" b:k="2">"#,
        );
        assert!(codes(&twice).contains(&"xml.malformed"), "{twice}");
    }

    #[test]
    fn a_declaration_out_of_grammar_is_not_well_formed() {
        let decl = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
        for bad in [
            r#"<?xml version="1.0" standalone="yes" encoding="UTF-8"?>"#,
            r#"<?xml version="1.0" standalone="maybe"?>"#,
            r#"<?xml version="1.0"encoding="UTF-8"?>"#,
        ] {
            assert_eq!(
                codes(&BASE.replacen(decl, bad, 1)),
                ["xml.malformed"],
                "{bad}"
            );
        }
        let latin = r#"<?xml version="1.0" encoding="ISO-8859-1"?>"#;
        assert_eq!(codes(&BASE.replacen(decl, latin, 1)), ["xml.encoding"]);
    }

    #[test]
    fn prefixed_names_must_be_ncnames_and_prefixes_stay_declared() {
        for (decls, to) in [
            ("", "<gem:1K/><gem:"),
            ("", "<gem:-K/><gem:"),
            ("", "<gem:\u{301}K/><gem:"),
            ("", r#"<gem:a gem:1a="x"/><gem:"#),
            (r#"xmlns:p="""#, "<gem:"),
        ] {
            assert_eq!(
                codes(&variant(decls, "<gem:", to)),
                ["xml.malformed"],
                "{to}"
            );
        }
    }

    #[test]
    fn xsi_type_may_name_the_declared_type_or_one_derived_from_it() {
        let pl = format!(r#"{XSI_NS} xmlns:pl="urn:ladderpost:participatieladder:v1""#);
        let own = variant(
            &pl,
            "<Huisnummer>",
            r#"<Huisnummer xsi:type=" pl:Huisnummer ">"#,
        );
        assert_eq!(codes(&own), Vec::<&str>::new());
        let complex = variant(&pl, "<Adres>", r#"<Adres xsi:type="pl:Adres">"#);
        assert_eq!(codes(&complex), Vec::<&str>::new());
        let xs = format!(r#"{XSI_NS} xmlns:xs="http://www.w3.org/2001/XMLSchema""#);
        for (decls, to) in [
            // A base of the declared type is not derived from it.
            (xs.as_str(), r#"<Huisnummer xsi:type="xs:positiveInteger">"#),
            (pl.as_str(), r#"<Huisnummer xsi:type="pl:Postcode">"#),
            (pl.as_str(), r#"<Huisnummer xsi:type="pl:Bestaatniet">"#),
            (pl.as_str(), r#"<Huisnummer xsi:type="q:Huisnummer">"#),
        ] {
            assert_eq!(
                codes(&variant(decls, "<Huisnummer>", to)),
                ["xsd.xsi"],
                "{to}"
            );
        }
        // The value is checked against the type xsi:type names.
        let bad_value = variant(
            &pl,
            "<Huisnummer>112",
            r#"<Huisnummer xsi:type="pl:Huisnummer">100000"#,
        );
        assert_eq!(codes(&bad_value), ["xsd.range"]);
    }
}

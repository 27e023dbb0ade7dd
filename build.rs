//! Compiles the published XSD into the validator's tables.
//!
//! xsd-parser reads `schemas/participatieladder-v1.xsd` (and what it
//! includes) into its typed model of the XSD; this script turns that model
//! into deterministic content-model automata, attribute lists and simple
//! types with their facets, written as Rust statics to
//! `$OUT_DIR/compiled_schema.rs` (types in `src/schema/model.rs`).
//!
//! It supports a deliberate subset of XSD 1.0 (see docs/validation.md) and
//! fails the build, naming the construct, on anything outside it — so the
//! published schema can never say more than the validator checks.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use xsd_parser::models::schema::xs::{
    Annotation, AnnotationContent, AttributeType, AttributeUseType, BasicNamespaceListItemType,
    ComplexBaseType, ComplexBaseTypeContent, ElementType, ElementTypeContent, Facet,
    FormChoiceType, GroupType, GroupTypeContent, NamespaceListType, ProcessContentsType,
    RestrictionContent, SchemaContent, SimpleBaseType, SimpleBaseTypeContent,
};
use xsd_parser::models::schema::{MaxOccurs, QName};
use xsd_parser::pipeline::parser::resolver::FileResolver;
use xsd_parser::Parser;

const XS: &str = "http://www.w3.org/2001/XMLSchema";
const ENTRY: &str = "schemas/participatieladder-v1.xsd";

fn main() {
    println!("cargo:rerun-if-changed=schemas");
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let code = match compile(&manifest.join(ENTRY)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error compiling {ENTRY}: {e}");
            panic!("the published XSD uses a construct ladderpost does not support: {e}");
        }
    };
    std::fs::write(out.join("compiled_schema.rs"), code).expect("write compiled schema");
}

type Result<T> = std::result::Result<T, String>;

fn compile(entry: &Path) -> Result<String> {
    let schemas = Parser::new()
        .with_resolver(FileResolver::new())
        .resolve_includes(true)
        .with_default_namespaces()
        .add_schema_from_file(entry)
        .map_err(|e| format!("parse: {e}"))?
        .finish();

    let mut c = Compiler::default();
    for (_, info) in schemas.schemas() {
        let schema = &info.schema;
        let tns = schema
            .target_namespace
            .clone()
            .ok_or("the schema needs a targetNamespace")?;
        if !c.target_ns.is_empty() && c.target_ns != tns {
            return Err("all schema documents must share one target namespace".into());
        }
        c.target_ns = tns;
        c.qualified = schema.element_form_default == FormChoiceType::Qualified;
        if schema.attribute_form_default == FormChoiceType::Qualified {
            return Err("attributeFormDefault=\"qualified\"".into());
        }
        for item in &schema.content {
            match item {
                SchemaContent::SimpleType(t) => {
                    c.simple_defs.insert(name_of(&t.name)?, t.clone());
                }
                SchemaContent::ComplexType(t) => {
                    c.complex_defs.insert(name_of(&t.name)?, t.clone());
                }
                SchemaContent::Group(g) => {
                    c.group_defs.insert(name_of(&g.name)?, g.clone());
                }
                SchemaContent::Element(e) => c.global_elements.push(e.clone()),
                SchemaContent::Annotation(_) | SchemaContent::Include(_) => {}
                other => return Err(format!("unsupported top-level component {other:?}")),
            }
        }
    }

    let mut roots = Vec::new();
    for e in c.global_elements.clone() {
        roots.push(c.element_decl(&e, true)?);
    }
    Ok(c.emit(&roots))
}

fn name_of(name: &Option<String>) -> Result<String> {
    name.clone()
        .ok_or_else(|| "a named component without a name".to_string())
}

fn documented(annotation: Option<&Annotation>) -> bool {
    annotation.is_some_and(|a| {
        a.content
            .iter()
            .any(|c| matches!(c, AnnotationContent::Documentation(_)))
    })
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Ws {
    Preserve,
    Replace,
    Collapse,
}

#[derive(Clone, Debug)]
struct Simple {
    name: String,
    builtin: &'static str,
    integer: bool,
    whitespace: Ws,
    enumerations: Vec<Vec<String>>,
    patterns: Vec<String>,
    length: Option<u32>,
    min_length: Option<u32>,
    max_length: Option<u32>,
    min_inclusive: Option<i128>,
    max_inclusive: Option<i128>,
}

#[derive(Clone, Debug)]
struct Decl {
    name: String,
    namespace: Option<String>,
    ty: TypeRef,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TypeRef {
    Simple(usize),
    Complex(usize),
}

#[derive(Clone, Debug)]
enum Wild {
    Any,
    Other,
    List(Vec<Option<String>>),
}

#[derive(Clone, Debug)]
enum Leaf {
    Element(Decl),
    Wildcard(Wild),
}

#[derive(Clone, Debug)]
struct Attr {
    name: String,
    ty: usize,
    required: bool,
    fixed: Option<String>,
}

/// An automaton state: whether it accepts, and its edges (leaf, target).
type StateOut = (bool, Vec<(Leaf, usize)>);

#[derive(Clone, Debug, Default)]
struct Complex {
    name: String,
    attributes: Vec<Attr>,
    states: Vec<StateOut>,
}

/// A content-model particle before expansion.
#[derive(Clone, Debug)]
enum Particle {
    Leaf(Leaf, usize, MaxOccurs),
    Seq(Vec<Particle>, usize, MaxOccurs),
    Choice(Vec<Particle>, usize, MaxOccurs),
}

/// A regular expression over positions (Glushkov construction).
enum Re {
    Empty,
    Pos(usize),
    Seq(Vec<Re>),
    Alt(Vec<Re>),
    Opt(Box<Re>),
    Star(Box<Re>),
}

#[derive(Default)]
struct Compiler {
    target_ns: String,
    qualified: bool,
    simple_defs: HashMap<String, SimpleBaseType>,
    complex_defs: HashMap<String, ComplexBaseType>,
    group_defs: HashMap<String, GroupType>,
    global_elements: Vec<ElementType>,
    simples: Vec<Simple>,
    simple_index: HashMap<String, usize>,
    complexes: Vec<Complex>,
    complex_index: HashMap<String, usize>,
    anonymous: usize,
}

impl Compiler {
    fn is_xs(q: &QName) -> bool {
        q.namespace().is_some_and(|n| &n[..] == XS.as_bytes())
    }

    fn is_target(&self, q: &QName) -> bool {
        q.namespace()
            .is_some_and(|n| &n[..] == self.target_ns.as_bytes())
    }

    fn local(q: &QName) -> String {
        String::from_utf8_lossy(q.local_name()).into_owned()
    }

    /// Resolves a type reference by name.
    fn type_ref(&mut self, q: &QName) -> Result<TypeRef> {
        let local = Self::local(q);
        if Self::is_xs(q) {
            return Ok(TypeRef::Simple(self.builtin(&local)?));
        }
        if !self.is_target(q) {
            return Err(format!("type {local} is not in the target namespace"));
        }
        if let Some(&i) = self.simple_index.get(&local) {
            return Ok(TypeRef::Simple(i));
        }
        if let Some(&i) = self.complex_index.get(&local) {
            return Ok(TypeRef::Complex(i));
        }
        if let Some(def) = self.simple_defs.get(&local).cloned() {
            let s = self.simple_type(&def, local.clone())?;
            self.simples.push(s);
            let i = self.simples.len() - 1;
            self.simple_index.insert(local, i);
            return Ok(TypeRef::Simple(i));
        }
        if let Some(def) = self.complex_defs.get(&local).cloned() {
            // Reserve the slot first: content models may refer back to it.
            self.complexes.push(Complex::default());
            let i = self.complexes.len() - 1;
            self.complex_index.insert(local.clone(), i);
            let c = self.complex_type(&def, local)?;
            self.complexes[i] = c;
            return Ok(TypeRef::Complex(i));
        }
        Err(format!("unknown type {local}"))
    }

    fn builtin(&mut self, local: &str) -> Result<usize> {
        let key = format!("xs:{local}");
        if let Some(&i) = self.simple_index.get(&key) {
            return Ok(i);
        }
        let (builtin, integer, whitespace, min) = match local {
            "string" => ("String", false, Ws::Preserve, None),
            "normalizedString" => ("NormalizedString", false, Ws::Replace, None),
            "token" => ("Token", false, Ws::Collapse, None),
            "boolean" => ("Boolean", false, Ws::Collapse, None),
            "date" => ("Date", false, Ws::Collapse, None),
            "dateTime" => ("DateTime", false, Ws::Collapse, None),
            "integer" => ("Integer", true, Ws::Collapse, None),
            "nonNegativeInteger" => ("NonNegativeInteger", true, Ws::Collapse, Some(0)),
            "positiveInteger" => ("PositiveInteger", true, Ws::Collapse, Some(1)),
            other => return Err(format!("built-in type xs:{other}")),
        };
        self.simples.push(Simple {
            name: key.clone(),
            builtin,
            integer,
            whitespace,
            enumerations: Vec::new(),
            patterns: Vec::new(),
            length: None,
            min_length: None,
            max_length: None,
            min_inclusive: min,
            max_inclusive: None,
        });
        let i = self.simples.len() - 1;
        self.simple_index.insert(key, i);
        Ok(i)
    }

    fn simple_type(&mut self, def: &SimpleBaseType, name: String) -> Result<Simple> {
        let mut restriction = None;
        for c in &def.content {
            match c {
                SimpleBaseTypeContent::Annotation(_) => {}
                SimpleBaseTypeContent::Restriction(r) => restriction = Some(r),
                other => return Err(format!("simple type {name}: unsupported {other:?}")),
            }
        }
        let r = restriction.ok_or_else(|| format!("simple type {name} has no restriction"))?;
        let mut s = match &r.base {
            Some(base) => match self.type_ref(base)? {
                TypeRef::Simple(i) => self.simples[i].clone(),
                TypeRef::Complex(_) => return Err(format!("{name}: complex base")),
            },
            None => {
                let inline = r.content.iter().find_map(|c| match c {
                    RestrictionContent::SimpleType(t) => Some(t),
                    _ => None,
                });
                let inline = inline.ok_or_else(|| format!("{name}: restriction without base"))?;
                self.simple_type(inline, format!("{name}/base"))?
            }
        };
        s.name = name.clone();
        let mut enumeration = Vec::new();
        let mut patterns = Vec::new();
        for c in &r.content {
            let RestrictionContent::Facet(f) = c else {
                continue;
            };
            let number = |v: &str| -> Result<u32> {
                v.trim()
                    .parse()
                    .map_err(|_| format!("{name}: facet value {v:?}"))
            };
            let integer = |v: &str| -> Result<i128> {
                if !s.integer {
                    return Err(format!("{name}: range facets on a non-integer type"));
                }
                v.trim()
                    .trim_start_matches('+')
                    .parse()
                    .map_err(|_| format!("{name}: facet value {v:?}"))
            };
            match f {
                Facet::Enumeration(v) => {
                    if s.integer || s.builtin == "Boolean" || s.builtin.starts_with("Date") {
                        return Err(format!("{name}: enumeration on a non-string type"));
                    }
                    enumeration.push(v.value.clone());
                }
                Facet::Pattern(v) => patterns.push(translate_pattern(&v.value)?),
                Facet::Length(v) => s.length = Some(number(&v.value)?),
                Facet::MinLength(v) => {
                    let n = number(&v.value)?;
                    s.min_length = Some(s.min_length.map_or(n, |m| m.max(n)));
                }
                Facet::MaxLength(v) => {
                    let n = number(&v.value)?;
                    s.max_length = Some(s.max_length.map_or(n, |m| m.min(n)));
                }
                Facet::MinInclusive(v) => {
                    let n = integer(&v.value)?;
                    s.min_inclusive = Some(s.min_inclusive.map_or(n, |m| m.max(n)));
                }
                Facet::MinExclusive(v) => {
                    let n = integer(&v.value)? + 1;
                    s.min_inclusive = Some(s.min_inclusive.map_or(n, |m| m.max(n)));
                }
                Facet::MaxInclusive(v) => {
                    let n = integer(&v.value)?;
                    s.max_inclusive = Some(s.max_inclusive.map_or(n, |m| m.min(n)));
                }
                Facet::MaxExclusive(v) => {
                    let n = integer(&v.value)? - 1;
                    s.max_inclusive = Some(s.max_inclusive.map_or(n, |m| m.min(n)));
                }
                Facet::WhiteSpace(v) => {
                    let ws = match v.value.as_str() {
                        "preserve" => Ws::Preserve,
                        "replace" => Ws::Replace,
                        "collapse" => Ws::Collapse,
                        other => return Err(format!("{name}: whiteSpace {other}")),
                    };
                    if ws < s.whitespace {
                        return Err(format!("{name}: whiteSpace weaker than its base"));
                    }
                    s.whitespace = ws;
                }
                other => return Err(format!("{name}: unsupported facet {other:?}")),
            }
        }
        if !enumeration.is_empty() {
            s.enumerations.push(enumeration);
        }
        if !patterns.is_empty() {
            let alternatives: Vec<String> = patterns.iter().map(|p| format!("(?:{p})")).collect();
            s.patterns.push(format!("^(?:{})$", alternatives.join("|")));
        }
        Ok(s)
    }

    fn complex_type(&mut self, def: &ComplexBaseType, name: String) -> Result<Complex> {
        if def.mixed == Some(true) {
            return Err(format!("{name}: mixed content"));
        }
        let mut particle = None;
        let mut attributes = Vec::new();
        for c in &def.content {
            match c {
                ComplexBaseTypeContent::Annotation(_) => {}
                ComplexBaseTypeContent::Sequence(g) => particle = Some(self.group(g, true)?),
                ComplexBaseTypeContent::Choice(g) => particle = Some(self.group(g, false)?),
                ComplexBaseTypeContent::Group(g) => particle = Some(self.group_ref(g)?),
                ComplexBaseTypeContent::Attribute(a) => attributes.push(self.attribute(a, &name)?),
                other => return Err(format!("{name}: unsupported {other:?}")),
            }
        }
        let states = match particle {
            Some(p) => self.automaton(&p, &name)?,
            None => vec![(true, Vec::new())],
        };
        Ok(Complex {
            name,
            attributes,
            states,
        })
    }

    fn attribute(&mut self, a: &AttributeType, owner: &str) -> Result<Attr> {
        let name = name_of(&a.name)
            .map_err(|_| format!("{owner}: attribute references are not supported"))?;
        if !documented(a.annotation.as_ref()) {
            return Err(format!("{owner}/@{name} has no xs:documentation"));
        }
        if a.default.is_some() || a.form.is_some() {
            return Err(format!("{owner}/@{name}: default or form"));
        }
        let ty = match (&a.type_, &a.simple_type) {
            (Some(q), None) => match self.type_ref(q)? {
                TypeRef::Simple(i) => i,
                TypeRef::Complex(_) => return Err(format!("{owner}/@{name}: complex type")),
            },
            (None, Some(inline)) => {
                self.anonymous += 1;
                let s = self.simple_type(inline, format!("{owner}/@{name}"))?;
                self.simples.push(s);
                self.simples.len() - 1
            }
            _ => return Err(format!("{owner}/@{name}: needs exactly one type")),
        };
        let required = match a.use_ {
            AttributeUseType::Required => true,
            AttributeUseType::Optional => false,
            AttributeUseType::Prohibited => return Err(format!("{owner}/@{name}: prohibited")),
        };
        Ok(Attr {
            name,
            ty,
            required,
            fixed: a.fixed.clone(),
        })
    }

    fn group(&mut self, g: &GroupType, sequence: bool) -> Result<Particle> {
        let mut items = Vec::new();
        for c in &g.content {
            match c {
                GroupTypeContent::Annotation(_) => {}
                GroupTypeContent::Element(e) => {
                    let decl = self.element_decl(e, false)?;
                    items.push(Particle::Leaf(
                        Leaf::Element(decl),
                        e.min_occurs,
                        e.max_occurs,
                    ));
                }
                GroupTypeContent::Sequence(s) => items.push(self.group(s, true)?),
                GroupTypeContent::Choice(s) => items.push(self.group(s, false)?),
                GroupTypeContent::Group(r) => items.push(self.group_ref(r)?),
                GroupTypeContent::Any(any) => {
                    if any.process_contents != ProcessContentsType::Skip {
                        return Err("xs:any needs processContents=\"skip\"".into());
                    }
                    if any.not_namespace.is_some() || any.not_q_name.is_some() {
                        return Err("xs:any with notNamespace/notQName (XSD 1.1)".into());
                    }
                    let wild = match &any.namespace {
                        None | Some(NamespaceListType::Any) => Wild::Any,
                        Some(NamespaceListType::Other) => Wild::Other,
                        Some(NamespaceListType::BasicNamespaceList(list)) => Wild::List(
                            list.0
                                .iter()
                                .map(|item| match item {
                                    BasicNamespaceListItemType::String(s) => Some(s.clone()),
                                    BasicNamespaceListItemType::TargetNamespace => {
                                        Some(self.target_ns.clone())
                                    }
                                    BasicNamespaceListItemType::Local => None,
                                })
                                .collect(),
                        ),
                    };
                    items.push(Particle::Leaf(
                        Leaf::Wildcard(wild),
                        any.min_occurs,
                        any.max_occurs,
                    ));
                }
                GroupTypeContent::All(_) => return Err("xs:all".into()),
            }
        }
        let (min, max) = (g.min_occurs, g.max_occurs);
        Ok(if sequence {
            Particle::Seq(items, min, max)
        } else {
            Particle::Choice(items, min, max)
        })
    }

    fn group_ref(&mut self, r: &GroupType) -> Result<Particle> {
        let q = r.ref_.as_ref().ok_or("a local xs:group without ref")?;
        let local = Self::local(q);
        let def = self
            .group_defs
            .get(&local)
            .cloned()
            .ok_or_else(|| format!("unknown group {local}"))?;
        let inner = def
            .content
            .iter()
            .find_map(|c| match c {
                GroupTypeContent::Sequence(s) => Some((s, true)),
                GroupTypeContent::Choice(s) => Some((s, false)),
                _ => None,
            })
            .ok_or_else(|| format!("group {local} needs a sequence or choice"))?;
        let p = self.group(inner.0, inner.1)?;
        // The reference's occurrence wraps the group's own particle.
        Ok(Particle::Seq(vec![p], r.min_occurs, r.max_occurs))
    }

    fn element_decl(&mut self, e: &ElementType, global: bool) -> Result<Decl> {
        if let Some(r) = &e.ref_ {
            let local = Self::local(r);
            let g = self
                .global_elements
                .iter()
                .find(|g| g.name.as_deref() == Some(local.as_str()))
                .cloned()
                .ok_or_else(|| format!("unknown element {local}"))?;
            return self.element_decl(&g, true);
        }
        let name = name_of(&e.name)?;
        let annotation = e.content.iter().find_map(|c| match c {
            ElementTypeContent::Annotation(a) => Some(a),
            _ => None,
        });
        if !documented(annotation) {
            return Err(format!("element {name} has no xs:documentation"));
        }
        if e.default.is_some() || e.fixed.is_some() {
            return Err(format!("element {name}: default/fixed values"));
        }
        if e.nillable == Some(true) {
            return Err(format!("element {name}: nillable"));
        }
        if e.substitution_group.is_some() || e.abstract_ {
            return Err(format!("element {name}: substitution groups"));
        }
        let qualified = global
            || match e.form {
                Some(f) => f == FormChoiceType::Qualified,
                None => self.qualified,
            };
        let inline_type = e.content.iter().find_map(|c| match c {
            ElementTypeContent::SimpleType(t) => Some(Err(t)),
            ElementTypeContent::ComplexType(t) => Some(Ok(t)),
            _ => None,
        });
        let ty = match (&e.type_, inline_type) {
            (Some(q), None) => self.type_ref(q)?,
            (None, Some(Err(simple))) => {
                let s = self.simple_type(simple, format!("{name}(anonymous)"))?;
                self.simples.push(s);
                TypeRef::Simple(self.simples.len() - 1)
            }
            (None, Some(Ok(complex))) => {
                self.complexes.push(Complex::default());
                let i = self.complexes.len() - 1;
                self.complexes[i] = self.complex_type(complex, format!("{name}(anonymous)"))?;
                TypeRef::Complex(i)
            }
            _ => return Err(format!("element {name} needs exactly one type")),
        };
        Ok(Decl {
            name,
            namespace: qualified.then(|| self.target_ns.clone()),
            ty,
        })
    }

    /// Glushkov automaton of a particle. Occurrence ranges are unrolled as
    /// p{2,4} = p p (p (p)?)?, which keeps a UPA-conforming model
    /// deterministic.
    fn automaton(&self, p: &Particle, owner: &str) -> Result<Vec<StateOut>> {
        let mut leaves = Vec::new();
        let re = expand(p, &mut leaves);
        let n = leaves.len();
        let mut follow = vec![BTreeSet::new(); n];
        let (nullable, first, last) = analyse(&re, &mut follow);
        let mut states = Vec::with_capacity(n + 1);
        let edges_of = |set: &BTreeSet<usize>| -> Vec<(Leaf, usize)> {
            set.iter().map(|&p| (leaves[p].clone(), p + 1)).collect()
        };
        states.push((nullable, edges_of(&first)));
        for (p, f) in follow.iter().enumerate() {
            states.push((last.contains(&p), edges_of(f)));
        }
        for (_, edges) in &states {
            for (i, (a, _)) in edges.iter().enumerate() {
                for (b, _) in &edges[i + 1..] {
                    if overlap(a, b, &self.target_ns) {
                        return Err(format!(
                            "{owner}: content model violates Unique Particle Attribution"
                        ));
                    }
                }
            }
        }
        Ok(states)
    }

    fn emit(&self, roots: &[Decl]) -> String {
        let mut o = String::new();
        let decl = |d: &Decl| -> String {
            let ty = match d.ty {
                TypeRef::Simple(i) => format!("TypeRef::Simple({i})"),
                TypeRef::Complex(i) => format!("TypeRef::Complex({i})"),
            };
            format!(
                "ElementDecl {{ name: {:?}, namespace: {:?}, ty: {ty} }}",
                d.name, d.namespace
            )
        };
        writeln!(o, "// @generated by build.rs from {ENTRY}; do not edit.").unwrap();
        writeln!(o, "pub static SCHEMA: CompiledSchema = CompiledSchema {{").unwrap();
        writeln!(o, "    target_namespace: {:?},", self.target_ns).unwrap();
        writeln!(o, "    roots: &[").unwrap();
        for r in roots {
            writeln!(o, "        {},", decl(r)).unwrap();
        }
        writeln!(o, "    ],\n    complex_types: &[").unwrap();
        for c in &self.complexes {
            writeln!(
                o,
                "        ComplexType {{ name: {:?}, attributes: &[",
                c.name
            )
            .unwrap();
            for a in &c.attributes {
                writeln!(
                    o,
                    "            AttributeDecl {{ name: {:?}, namespace: None, ty: {}, required: {}, fixed: {:?} }},",
                    a.name, a.ty, a.required, a.fixed
                )
                .unwrap();
            }
            writeln!(o, "        ], states: &[").unwrap();
            for (accepting, edges) in &c.states {
                write!(o, "            State {{ accepting: {accepting}, edges: &[").unwrap();
                for (leaf, target) in edges {
                    let m = match leaf {
                        Leaf::Element(d) => format!("Matcher::Element({})", decl(d)),
                        Leaf::Wildcard(w) => {
                            let ns = match w {
                                Wild::Any => "NamespaceConstraint::Any".to_string(),
                                Wild::Other => "NamespaceConstraint::Other".to_string(),
                                Wild::List(l) => format!("NamespaceConstraint::List(&{l:?})"),
                            };
                            format!("Matcher::Wildcard(Wildcard {{ namespaces: {ns} }})")
                        }
                    };
                    write!(o, "Edge {{ matcher: {m}, target: {target} }}, ").unwrap();
                }
                writeln!(o, "] }},").unwrap();
            }
            writeln!(o, "        ] }},").unwrap();
        }
        writeln!(o, "    ],\n    simple_types: &[").unwrap();
        for s in &self.simples {
            let ws = match s.whitespace {
                Ws::Preserve => "Preserve",
                Ws::Replace => "Replace",
                Ws::Collapse => "Collapse",
            };
            writeln!(
                o,
                "        SimpleType {{ name: {:?}, builtin: Builtin::{}, whitespace: WhiteSpace::{ws}, enumerations: &[{}], patterns: &{:?}, length: {:?}, min_length: {:?}, max_length: {:?}, min_inclusive: {:?}, max_inclusive: {:?} }},",
                s.name,
                s.builtin,
                s.enumerations
                    .iter()
                    .map(|e| format!("&{e:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                s.patterns, s.length, s.min_length, s.max_length, s.min_inclusive, s.max_inclusive
            )
            .unwrap();
        }
        writeln!(o, "    ],\n}};").unwrap();
        o
    }
}

fn overlap(a: &Leaf, b: &Leaf, target: &str) -> bool {
    let wild_allows = |w: &Wild, ns: Option<&str>| match w {
        Wild::Any => true,
        Wild::Other => ns.is_some_and(|ns| ns != target),
        Wild::List(l) => l.iter().any(|x| x.as_deref() == ns),
    };
    match (a, b) {
        (Leaf::Element(x), Leaf::Element(y)) => x.name == y.name && x.namespace == y.namespace,
        (Leaf::Element(d), Leaf::Wildcard(w)) | (Leaf::Wildcard(w), Leaf::Element(d)) => {
            wild_allows(w, d.namespace.as_deref())
        }
        (Leaf::Wildcard(_), Leaf::Wildcard(_)) => true,
    }
}

/// Unrolls occurrence ranges into a position regex; each copy of a leaf is a
/// new position.
fn expand(p: &Particle, leaves: &mut Vec<Leaf>) -> Re {
    let (min, max) = match p {
        Particle::Leaf(_, min, max)
        | Particle::Seq(_, min, max)
        | Particle::Choice(_, min, max) => (*min, *max),
    };
    let once = |leaves: &mut Vec<Leaf>| -> Re {
        match p {
            Particle::Leaf(leaf, ..) => {
                leaves.push(leaf.clone());
                Re::Pos(leaves.len() - 1)
            }
            Particle::Seq(items, ..) => Re::Seq(items.iter().map(|i| expand(i, leaves)).collect()),
            Particle::Choice(items, ..) => {
                Re::Alt(items.iter().map(|i| expand(i, leaves)).collect())
            }
        }
    };
    let mut seq: Vec<Re> = (0..min).map(|_| once(leaves)).collect();
    match max {
        MaxOccurs::Unbounded => seq.push(Re::Star(Box::new(once(leaves)))),
        MaxOccurs::Bounded(max) => {
            // Build (p (p (p)?)?)? from the inside out, positions in order.
            let optional: Vec<Re> = (min..max).map(|_| once(leaves)).collect();
            let mut tail: Option<Re> = None;
            for r in optional.into_iter().rev() {
                let inner = match tail.take() {
                    Some(t) => Re::Seq(vec![r, t]),
                    None => r,
                };
                tail = Some(Re::Opt(Box::new(inner)));
            }
            if let Some(t) = tail {
                seq.push(t);
            }
        }
    }
    match seq.len() {
        0 => Re::Empty,
        1 => seq.pop().unwrap_or(Re::Empty),
        _ => Re::Seq(seq),
    }
}

/// Returns (nullable, first, last) and fills the follow sets.
fn analyse(re: &Re, follow: &mut [BTreeSet<usize>]) -> (bool, BTreeSet<usize>, BTreeSet<usize>) {
    match re {
        Re::Empty => (true, BTreeSet::new(), BTreeSet::new()),
        Re::Pos(p) => (false, [*p].into(), [*p].into()),
        Re::Opt(inner) => {
            let (_, f, l) = analyse(inner, follow);
            (true, f, l)
        }
        Re::Star(inner) => {
            let (_, f, l) = analyse(inner, follow);
            for &p in &l {
                follow[p].extend(f.iter().copied());
            }
            (true, f, l)
        }
        Re::Alt(items) => {
            let mut out = (false, BTreeSet::new(), BTreeSet::new());
            for i in items {
                let (n, f, l) = analyse(i, follow);
                out.0 |= n;
                out.1.extend(f);
                out.2.extend(l);
            }
            out
        }
        Re::Seq(items) => {
            let mut nullable = true;
            let mut first = BTreeSet::new();
            let mut last: BTreeSet<usize> = BTreeSet::new();
            for i in items {
                let (n, f, l) = analyse(i, follow);
                for &p in &last {
                    follow[p].extend(f.iter().copied());
                }
                if nullable {
                    first.extend(f.iter().copied());
                }
                if n {
                    last.extend(l);
                } else {
                    last = l;
                }
                nullable &= n;
            }
            (nullable, first, last)
        }
    }
}

/// Translates an XSD 1.0 regular expression (Part 2, appendix F) into the
/// `regex` crate's syntax. XSD regexes are implicitly anchored; `^` and `$`
/// are ordinary characters; `.` excludes only newline and carriage return;
/// `\s` is exactly space, tab, newline, carriage return.
fn translate_pattern(xsd: &str) -> Result<String> {
    let mut out = String::new();
    let chars: Vec<char> = xsd.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = false;
    let lit = |c: char| format!("\\x{{{:X}}}", c as u32);
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\\' => {
                let e = next.ok_or("pattern ends in a backslash")?;
                i += 1;
                match e {
                    'n' => out.push_str("\\n"),
                    'r' => out.push_str("\\r"),
                    't' => out.push_str("\\t"),
                    '\\' | '|' | '.' | '-' | '^' | '?' | '*' | '+' | '{' | '}' | '(' | ')'
                    | '[' | ']' => out.push_str(&lit(e)),
                    'd' => out.push_str("\\p{Nd}"),
                    'D' if !in_class => out.push_str("\\P{Nd}"),
                    's' if in_class => out.push_str(" \\t\\n\\r"),
                    's' => out.push_str("[ \\t\\n\\r]"),
                    'S' if !in_class => out.push_str("[^ \\t\\n\\r]"),
                    'w' if !in_class => out.push_str("[^\\p{P}\\p{Z}\\p{C}]"),
                    'W' if !in_class => out.push_str("[\\p{P}\\p{Z}\\p{C}]"),
                    'p' | 'P' => {
                        let end = chars[i..]
                            .iter()
                            .position(|&c| c == '}')
                            .ok_or("unterminated \\p{")?;
                        let body: String = chars[i + 1..i + end + 1].iter().collect();
                        if body.starts_with("{Is") {
                            return Err(format!("block escape \\{e}{body}"));
                        }
                        out.push('\\');
                        out.push(e);
                        out.push_str(&body);
                        i += end;
                    }
                    other => return Err(format!("unsupported escape \\{other} in {xsd:?}")),
                }
                class_start = false;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if next == Some('^') {
                    out.push('^');
                    i += 1;
                }
            }
            '[' => return Err(format!("character class subtraction in {xsd:?}")),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '-' if in_class => {
                let at_edge = class_start || next == Some(']');
                if next == Some('[') {
                    return Err(format!("character class subtraction in {xsd:?}"));
                }
                out.push_str(if at_edge { "\\x{2D}" } else { "-" });
            }
            '.' if !in_class => out.push_str("[^\\n\\r]"),
            '^' | '$' | '#' | '&' | '~' | ' ' => out.push_str(&lit(c)),
            _ => out.push(c),
        }
        if c != '[' {
            class_start = false;
        }
        i += 1;
    }
    if in_class {
        return Err(format!("unterminated character class in {xsd:?}"));
    }
    Ok(out)
}

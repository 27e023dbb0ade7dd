//! The compiled form of the published XSD: content models as deterministic
//! automata, attributes, and simple types with their facets.
//!
//! `build.rs` reads `schemas/*.xsd` with xsd-parser and writes these tables
//! as Rust statics (see `compiled`), so the validator never interprets the
//! XSD at run time and nothing of the schema is copied by hand.

/// A whole compiled schema.
#[derive(Debug)]
pub struct CompiledSchema {
    pub target_namespace: &'static str,
    /// The global element declarations: the documents' possible roots.
    pub roots: &'static [ElementDecl],
    pub complex_types: &'static [ComplexType],
    pub simple_types: &'static [SimpleType],
}

/// An element declaration (global, or local within a content model).
#[derive(Debug)]
pub struct ElementDecl {
    pub name: &'static str,
    /// `None` for an unqualified local element.
    pub namespace: Option<&'static str>,
    pub ty: TypeRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeRef {
    Simple(u16),
    Complex(u16),
}

/// A complex type with element-only (or empty) content.
#[derive(Debug)]
pub struct ComplexType {
    pub name: &'static str,
    /// A global named type, which `xsi:type` can name.
    pub global: bool,
    pub attributes: &'static [AttributeDecl],
    /// State 0 is the start state.
    pub states: &'static [State],
}

/// One state of a content model's deterministic automaton.
#[derive(Debug)]
pub struct State {
    /// Whether the element may end in this state.
    pub accepting: bool,
    pub edges: &'static [Edge],
}

#[derive(Debug)]
pub struct Edge {
    pub matcher: Matcher,
    pub target: u16,
}

#[derive(Debug)]
pub enum Matcher {
    Element(ElementDecl),
    Wildcard(Wildcard),
}

/// An `xs:any`. Only `processContents="skip"` is supported: the matched
/// element's content is not validated.
#[derive(Debug)]
pub struct Wildcard {
    pub namespaces: NamespaceConstraint,
}

#[derive(Debug)]
pub enum NamespaceConstraint {
    /// `##any`
    Any,
    /// `##other`: any namespace except the target namespace and no namespace.
    Other,
    /// An explicit list; `None` stands for `##local` (no namespace).
    List(&'static [Option<&'static str>]),
}

impl NamespaceConstraint {
    pub fn allows(&self, target: &str, ns: Option<&str>) -> bool {
        match self {
            NamespaceConstraint::Any => true,
            NamespaceConstraint::Other => ns.is_some_and(|ns| ns != target),
            NamespaceConstraint::List(list) => list.contains(&ns),
        }
    }
}

#[derive(Debug)]
pub struct AttributeDecl {
    pub name: &'static str,
    pub namespace: Option<&'static str>,
    pub ty: u16,
    pub required: bool,
    pub fixed: Option<&'static str>,
}

/// The built-in datatypes the validator knows (XSD 1.0 Part 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    String,
    NormalizedString,
    Token,
    Boolean,
    Date,
    DateTime,
    Decimal,
    Integer,
    NonNegativeInteger,
    PositiveInteger,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::String => "xs:string",
            Builtin::NormalizedString => "xs:normalizedString",
            Builtin::Token => "xs:token",
            Builtin::Boolean => "xs:boolean",
            Builtin::Date => "xs:date",
            Builtin::DateTime => "xs:dateTime",
            Builtin::Decimal => "xs:decimal",
            Builtin::Integer => "xs:integer",
            Builtin::NonNegativeInteger => "xs:nonNegativeInteger",
            Builtin::PositiveInteger => "xs:positiveInteger",
        }
    }

    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Builtin::Integer | Builtin::NonNegativeInteger | Builtin::PositiveInteger
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WhiteSpace {
    Preserve,
    Replace,
    Collapse,
}

/// A simple type: a built-in base plus the facets of every restriction step.
/// A value must satisfy each step, so facets of several steps are all kept.
#[derive(Debug)]
pub struct SimpleType {
    pub name: &'static str,
    /// The simple type it restricts, by index (`None`: a primitive).
    pub base: Option<u16>,
    /// A global named type or a built-in, which `xsi:type` can name.
    pub global: bool,
    pub builtin: Builtin,
    pub whitespace: WhiteSpace,
    /// One list per restriction step that has enumerations.
    pub enumerations: &'static [&'static [&'static str]],
    /// One regex per restriction step that has patterns (a step's patterns
    /// are alternatives), translated to anchored `regex` crate syntax.
    pub patterns: &'static [&'static str],
    pub length: Option<u32>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    /// Integer bounds, already folded to the tightest of all steps.
    pub min_inclusive: Option<i128>,
    pub max_inclusive: Option<i128>,
}

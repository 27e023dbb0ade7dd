//! The result of schema validation: a small read-only tree of the document's
//! elements with their whitespace-normalised values, built in the same pass
//! that validated them.
//!
//! The domain layer reads its typed message from this tree, so the bytes are
//! parsed exactly once. Elements matched by an `xs:any` wildcard are kept as
//! one node each with their raw XML; their insides are not looked at.

use std::ops::Range;

use crate::diagnostics::Position;

#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Local name of the element (from the schema; `*` for foreign ones).
    pub name: &'static str,
    pub parent: u32,
    pub first_child: u32,
    pub next_sibling: u32,
    /// The normalised value in `ValidDocument::values` (simple content only).
    pub value: Range<u32>,
    /// Byte range of the whole element in the source, from `<` to after `>`.
    pub span: Range<u32>,
    /// Matched by a wildcard: foreign content, kept raw.
    pub foreign: bool,
    /// For a foreign element: its namespace URI, in `ValidDocument::values`.
    pub namespace: Range<u32>,
}

pub(crate) const NONE: u32 = u32::MAX;

/// A schema-valid document.
#[derive(Debug, Clone)]
pub struct ValidDocument<'a> {
    pub(crate) source: &'a [u8],
    /// The version the document declares, whose tables judged it.
    pub(crate) versie: super::Schemaversie,
    pub(crate) nodes: Vec<Node>,
    pub(crate) values: String,
}

impl<'a> ValidDocument<'a> {
    /// The schema version the document declares and follows.
    pub fn versie(&self) -> super::Schemaversie {
        self.versie
    }

    /// The root element.
    pub fn root(&self) -> Element<'_> {
        Element {
            doc: self,
            index: 0,
        }
    }

    /// Where the root element stands in the source, from its `<` to after
    /// its end tag: the document without prolog and trailing comments.
    pub fn root_span(&self) -> Range<usize> {
        self.nodes
            .first()
            .map_or(0..0, |n| n.span.start as usize..n.span.end as usize)
    }

    /// The bytes this document was read from.
    pub fn source(&self) -> &'a [u8] {
        self.source
    }
}

/// One element of a [`ValidDocument`].
#[derive(Clone, Copy)]
pub struct Element<'d> {
    doc: &'d ValidDocument<'d>,
    index: u32,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Element({})", self.path())
    }
}

impl<'d> Element<'d> {
    fn node(&self) -> &'d Node {
        &self.doc.nodes[self.index as usize]
    }

    /// The element's local name.
    pub fn name(&self) -> &'d str {
        self.node().name
    }

    /// The element's value after the whitespace normalisation its type
    /// prescribes; empty for elements with element content.
    pub fn value(&self) -> &'d str {
        let r = &self.node().value;
        &self.doc.values[r.start as usize..r.end as usize]
    }

    /// Whether a wildcard (`xs:any`) matched this element.
    pub fn is_foreign(&self) -> bool {
        self.node().foreign
    }

    /// The namespace URI of a foreign element (empty for the schema's own,
    /// which are all in the target namespace). `raw()` does not repeat
    /// declarations inherited from ancestors; this is the one that matters.
    pub fn namespace(&self) -> &'d str {
        let r = &self.node().namespace;
        &self.doc.values[r.start as usize..r.end as usize]
    }

    /// The element exactly as it stands in the source, tags included.
    pub fn raw(&self) -> &'d str {
        let r = &self.node().span;
        // The source was checked to be UTF-8 before validation began.
        std::str::from_utf8(&self.doc.source[r.start as usize..r.end as usize]).unwrap_or("")
    }

    /// The child elements, in document order.
    pub fn children(&self) -> Children<'d> {
        Children {
            doc: self.doc,
            next: self.node().first_child,
        }
    }

    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<Element<'d>> {
        self.children().find(|c| c.name() == name)
    }

    /// The value of the first child with this local name.
    pub fn child_value(&self, name: &str) -> Option<&'d str> {
        self.child(name).map(|c| c.value())
    }

    /// All children with this local name.
    pub fn children_named<'n>(&self, name: &'n str) -> impl Iterator<Item = Element<'d>> + 'n
    where
        'd: 'n,
    {
        self.children().filter(move |c| c.name() == name)
    }

    /// Where the element's start tag begins.
    pub fn position(&self) -> Position {
        Position::of_offset(self.doc.source, self.node().span.start as usize)
    }

    /// The element's path from the root, e.g. `/Meting/Client/Bsn`.
    pub fn path(&self) -> String {
        let mut names = Vec::new();
        let mut i = self.index;
        while i != NONE {
            let n = &self.doc.nodes[i as usize];
            names.push(n.name);
            i = n.parent;
        }
        names.iter().rev().fold(String::new(), |mut acc, n| {
            acc.push('/');
            acc.push_str(n);
            acc
        })
    }
}

/// Iterator over an element's children.
pub struct Children<'d> {
    doc: &'d ValidDocument<'d>,
    next: u32,
}

impl<'d> Iterator for Children<'d> {
    type Item = Element<'d>;

    fn next(&mut self) -> Option<Element<'d>> {
        if self.next == NONE {
            return None;
        }
        let index = self.next;
        self.next = self.doc.nodes[index as usize].next_sibling;
        Some(Element {
            doc: self.doc,
            index,
        })
    }
}

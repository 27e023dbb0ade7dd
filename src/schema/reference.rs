//! The schema reference for vendors (`docs/schema.md`), generated from the
//! published XSD and its `xs:documentation`, so that the reference can never
//! say something the schema does not. `ladderpost schema-reference` prints
//! it; a test fails when `docs/schema.md` is not what it prints.

use std::fmt::Write as _;

use quick_xml::events::Event;
use quick_xml::Reader;

/// The latest published schema, as compiled into this build; its elements
/// of a later version say so in their documentation ("Since 1.1.").
pub const XSD: &str = include_str!("../../schemas/participatieladder-v1.1.xsd");
const FILE: &str = "schemas/participatieladder-v1.1.xsd";

/// One XSD element: its local name, attributes, children, and the comment
/// before it (the schema's header).
#[derive(Default)]
struct Node {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn kids<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of `xs:annotation/xs:documentation`, on one line.
    fn doc(&self) -> String {
        let text: Vec<&str> = self
            .kids("annotation")
            .flat_map(|a| a.kids("documentation"))
            .flat_map(|d| d.text.split_whitespace())
            .collect();
        text.join(" ")
    }
}

/// Reads the XSD into a tree of [`Node`]s; the first comment is returned
/// beside it.
fn read(xsd: &str) -> Result<(Node, String), String> {
    let mut reader = Reader::from_str(xsd);
    reader.config_mut().expand_empty_elements = true;
    let mut stack = vec![Node::default()];
    let mut header = String::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let mut attributes = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    let raw = std::str::from_utf8(&a.value).map_err(|e| e.to_string())?;
                    let value = crate::xml::attribute_value(raw)?;
                    let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                    attributes.push((key, value.into_owned()));
                }
                stack.push(Node {
                    name,
                    attributes,
                    ..Node::default()
                });
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("unbalanced XSD")?;
                stack
                    .last_mut()
                    .ok_or("unbalanced XSD")?
                    .children
                    .push(node);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(r) => {
                let body = String::from_utf8_lossy(r.as_ref()).into_owned();
                let c = crate::xml::resolve_reference(&body)?;
                if let Some(top) = stack.last_mut() {
                    top.text.push(c);
                }
            }
            Event::Comment(c) if header.is_empty() => {
                header = String::from_utf8_lossy(c.as_ref()).into_owned();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut root = stack.pop().ok_or("empty XSD")?;
    let schema = root
        .children
        .pop()
        .filter(|s| s.name == "schema")
        .ok_or("no xs:schema")?;
    Ok((schema, header))
}

/// A type's name as the reference shows it: the schema's own without
/// prefix, built-ins as `xs:…`.
fn type_name(qname: &str) -> String {
    match qname.split_once(':') {
        Some(("xs", local)) => format!("xs:{local}"),
        Some((_, local)) => local.to_string(),
        None => qname.to_string(),
    }
}

fn occurs(node: &Node) -> String {
    let min = node.attr("minOccurs").unwrap_or("1");
    let max = match node.attr("maxOccurs").unwrap_or("1") {
        "unbounded" => "n",
        m => m,
    };
    if min == max {
        min.to_string()
    } else {
        format!("{min}..{max}")
    }
}

/// A table cell: no line breaks, `|` escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The anchor GitHub gives a heading.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

struct Schema<'a> {
    root: &'a Node,
}

impl<'a> Schema<'a> {
    fn global(&self, kind: &str, name: &str) -> Option<&'a Node> {
        self.root
            .children
            .iter()
            .find(|n| n.name == kind && n.attr("name") == Some(name))
    }

    /// The rows of a content model's particles: elements, groups,
    /// choices, wildcards.
    fn rows(&self, particles: &[Node], out: &mut String) {
        for particle in particles {
            match particle.name.as_str() {
                "element" => {
                    let (name, ty, doc) = match particle.attr("ref") {
                        Some(r) => {
                            let local = type_name(r);
                            let global = self.global("element", &local);
                            let ty = global.and_then(|g| g.attr("type")).map(type_name);
                            let doc = global.map(Node::doc).unwrap_or_default();
                            (local, ty.unwrap_or_default(), doc)
                        }
                        None => (
                            particle.attr("name").unwrap_or("").to_string(),
                            particle.attr("type").map(type_name).unwrap_or_default(),
                            particle.doc(),
                        ),
                    };
                    let doc = if doc.is_empty() { particle.doc() } else { doc };
                    let _ = writeln!(
                        out,
                        "| `{name}` | {ty} | {} | {} |",
                        occurs(particle),
                        cell(&doc)
                    );
                }
                "group" => {
                    let g = type_name(particle.attr("ref").unwrap_or(""));
                    let _ = writeln!(
                        out,
                        "| *the elements of group {g}* | | {} | see [{g}](#{}) |",
                        occurs(particle),
                        anchor(&g)
                    );
                }
                "choice" => {
                    let options: Vec<&Node> = particle.kids("element").collect();
                    let names: Vec<String> = options
                        .iter()
                        .map(|e| {
                            format!(
                                "`{}`",
                                type_name(e.attr("ref").or(e.attr("name")).unwrap_or(""))
                            )
                        })
                        .collect();
                    let types: Vec<String> = options
                        .iter()
                        .map(|e| match e.attr("ref") {
                            Some(r) => self
                                .global("element", &type_name(r))
                                .and_then(|g| g.attr("type"))
                                .map(type_name)
                                .unwrap_or_default(),
                            None => e.attr("type").map(type_name).unwrap_or_default(),
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "| *one of* {} | {} | {} | {} |",
                        names.join(", "),
                        types.join(", "),
                        occurs(particle),
                        cell(&particle.doc())
                    );
                }
                "any" => {
                    let ns = particle.attr("namespace").unwrap_or("##any");
                    let _ = writeln!(
                        out,
                        "| *any element*, namespace `{ns}`, not validated | | {} | {} |",
                        occurs(particle),
                        cell(&particle.doc())
                    );
                }
                _ => {}
            }
        }
    }

    fn complex(&self, node: &Node, out: &mut String) {
        let name = node.attr("name").unwrap_or("");
        let _ = writeln!(out, "### {name}\n\n{}\n", node.doc());
        let model = node
            .children
            .iter()
            .find(|c| matches!(c.name.as_str(), "sequence" | "choice"));
        if let Some(model) = model {
            let _ = writeln!(
                out,
                "| Element | Type | Occurs | Meaning |\n|---|---|---|---|"
            );
            if model.name == "choice" {
                self.rows(std::slice::from_ref(model), out);
            } else {
                self.rows(&model.children, out);
            }
            out.push('\n');
        } else {
            out.push_str("No content.\n\n");
        }
        for a in node.kids("attribute") {
            let fixed = a
                .attr("fixed")
                .map(|f| format!(", fixed `\"{f}\"`"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "Attribute `{}`: {}, {}{fixed}. {}\n",
                a.attr("name").unwrap_or(""),
                a.attr("type").map(type_name).unwrap_or_default(),
                a.attr("use").unwrap_or("optional"),
                a.doc()
            );
        }
    }

    fn simple(&self, node: &Node, out: &mut String) {
        let name = node.attr("name").unwrap_or("");
        let _ = writeln!(out, "### {name}\n\n{}\n", node.doc());
        let Some(r) = node.kids("restriction").next() else {
            return;
        };
        let _ = writeln!(
            out,
            "Restricts {}.\n",
            r.attr("base").map(type_name).unwrap_or_default()
        );
        let facets: Vec<String> = r
            .children
            .iter()
            .filter(|f| !matches!(f.name.as_str(), "annotation" | "enumeration"))
            .map(|f| format!("{} `{}`", f.name, f.attr("value").unwrap_or("")))
            .collect();
        if !facets.is_empty() {
            let _ = writeln!(out, "Facets: {}.\n", facets.join(", "));
        }
        let codes: Vec<&Node> = r.kids("enumeration").collect();
        if !codes.is_empty() {
            out.push_str("| Code | Meaning |\n|---|---|\n");
            for c in codes {
                let _ = writeln!(
                    out,
                    "| `{}` | {} |",
                    cell(c.attr("value").unwrap_or("")),
                    cell(&c.doc())
                );
            }
            out.push('\n');
        }
    }
}

/// The reference, as Markdown.
pub fn markdown(xsd: &str) -> Result<String, String> {
    let (root, header) = read(xsd)?;
    let schema = Schema { root: &root };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The published schema: reference\n\n\
         <!-- Generated from {FILE} by `ladderpost schema-reference`; do not edit.\n     \
         The test `schema_reference_is_current` fails when this file is stale. -->\n\n\
         Namespace `{}`, schema version {}. Elements must appear in the order\n\
         listed; \"Occurs\" is `minOccurs..maxOccurs` (`n` = unbounded; one number\n\
         means exactly that many). Types without a prefix are the schema's own;\n\
         the meanings are the schema's `xs:documentation`.\n",
        root.attr("targetNamespace").unwrap_or(""),
        root.attr("version").unwrap_or("")
    );
    let header: Vec<&str> = header.lines().map(str::trim_end).collect();
    let _ = writeln!(out, "```\n{}\n```\n", header.join("\n").trim_matches('\n'));
    out.push_str("## Root elements\n\n| Element | Type | Meaning |\n|---|---|---|\n");
    for e in root.kids("element") {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            e.attr("name").unwrap_or(""),
            e.attr("type").map(type_name).unwrap_or_default(),
            cell(&e.doc())
        );
    }
    out.push_str("\n## Complex types and groups\n\n");
    for node in &root.children {
        if matches!(node.name.as_str(), "complexType" | "group") {
            schema.complex(node, &mut out);
        }
    }
    out.push_str("## Simple types\n\n");
    for node in root.kids("simpleType") {
        schema.simple(node, &mut out);
    }
    Ok(out.trim_end().to_string() + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_global_declaration_has_its_section() {
        let md = markdown(XSD).unwrap();
        let (root, _) = read(XSD).unwrap();
        for kind in ["complexType", "group", "simpleType"] {
            for n in root.kids(kind) {
                let name = n.attr("name").unwrap();
                assert!(md.contains(&format!("\n### {name}\n")), "{kind} {name}");
            }
        }
        assert!(md.contains("| `Huisnummer` | Huisnummer |"));
        assert!(md.contains("| *the elements of group MetingGegevens* |"));
        assert!(md.contains("| `Organisatie` | Tekst200 | 0..1 |"));
    }
}

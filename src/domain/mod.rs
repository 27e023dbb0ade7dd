//! Domain types (TEMPORARY skeleton; the domain helper fills this in).
use crate::report::Melding;
use crate::schema::ValidDocument;

#[derive(Debug, Clone)]
pub enum Document {}

impl Document {
    pub fn from_valid(_doc: &ValidDocument<'_>) -> Result<(Document, Vec<Melding>), Vec<Melding>> {
        Err(Vec::new())
    }
}

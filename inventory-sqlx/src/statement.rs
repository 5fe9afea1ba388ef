//! One SQL statement built from named parts, each part's parameters bound where its
//! text is written, so text and bind order cannot drift apart.
//!
//! ```text
//! let mut statement = Statement::default();
//! let skus = statement.bind(vec!["A".to_owned()], "text[]")?; // "$1::text[]"
//! statement.part("marked", format!("INSERT INTO t SELECT unnest({skus}) RETURNING 1"));
//! statement.finish("SELECT 1")
//! ```

use inventory_core::StoreError;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, Encode, Postgres, Type};

use crate::error::corrupt;

/// Parts (`name AS (body)`) and the parameters they bind, in order.
#[derive(Default)]
pub(crate) struct Statement {
    parts: Vec<(&'static str, String)>,
    arguments: PgArguments,
}

impl Statement {
    /// Binds `value` as the next parameter and returns its placeholder, cast to
    /// `sql_type` (`$7::text[]`).
    pub(crate) fn bind<T>(&mut self, value: T, sql_type: &str) -> Result<String, StoreError>
    where
        T: for<'q> Encode<'q, Postgres> + Type<Postgres>,
    {
        self.arguments
            .add(value)
            .map_err(|error| corrupt("parameter", error))?;
        Ok(format!("${}::{sql_type}", self.arguments.len()))
    }

    /// Binds `value` of every item as one array parameter and returns its placeholder.
    pub(crate) fn column<I, T>(
        &mut self,
        items: &[I],
        value: impl Fn(&I) -> T,
        sql_type: &str,
    ) -> Result<String, StoreError>
    where
        Vec<T>: for<'q> Encode<'q, Postgres> + Type<Postgres>,
    {
        self.bind(items.iter().map(value).collect::<Vec<T>>(), sql_type)
    }

    /// Binds `value` of every item, as JSON text, as one array parameter (`what` names
    /// it in errors) and returns its placeholder.
    pub(crate) fn json_column<I, T: serde::Serialize + ?Sized>(
        &mut self,
        items: &[I],
        value: impl Fn(&I) -> &T,
        what: &str,
    ) -> Result<String, StoreError> {
        let texts = items
            .iter()
            .map(|item| serde_json::to_string(value(item)).map_err(|e| corrupt(what, e)))
            .collect::<Result<Vec<String>, StoreError>>()?;
        self.bind(texts, "text[]")
    }

    /// Adds the part `name AS (body)`.
    pub(crate) fn part(&mut self, name: &'static str, body: String) {
        self.parts.push((name, body));
    }

    /// Whether a part of this name was added.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.parts.iter().any(|(part, _)| *part == name)
    }

    /// The statement's text, `WITH` the parts, then `main`; and its arguments.
    pub(crate) fn finish(self, main: &str) -> (String, PgArguments) {
        let mut text = String::new();
        for (index, (name, body)) in self.parts.iter().enumerate() {
            text.push_str(if index == 0 { "WITH\n" } else { ",\n" });
            text.push_str(name);
            text.push_str(" AS (\n");
            text.push_str(body.trim());
            text.push_str("\n)");
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(main);
        (text, self.arguments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_binds_and_parts_keep_their_order() {
        let mut statement = Statement::default();
        let first = statement.bind(vec![1_i64], "int8[]").unwrap();
        statement.part("a", format!("SELECT unnest({first})"));
        let second = statement.bind("x".to_owned(), "text").unwrap();
        statement.part("b", format!("SELECT {second}"));
        assert!(statement.has("a") && !statement.has("c"));
        let (text, arguments) = statement.finish("SELECT 1");
        assert_eq!(
            text,
            "WITH\na AS (\nSELECT unnest($1::int8[])\n),\nb AS (\nSELECT $2::text\n)\nSELECT 1"
        );
        assert_eq!(arguments.len(), 2);
    }
}

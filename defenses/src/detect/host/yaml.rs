//! A YAML document as a tree whose every node knows its line and column, so that a Sigma
//! rule's errors point into the file (`rule.yml:12:7`). Built from the event stream of
//! yaml-rust2's parser, which carries a position with each event.

use super::sigma::SigmaError;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A node of the tree: a scalar, a sequence or a mapping, where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// What it holds.
    pub(crate) value: Value,
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column.
    pub(crate) col: usize,
}

/// A node's content.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// A scalar as written, and whether it was quoted (a quoted `123` is text).
    Scalar(String, bool),
    /// `- a`, `[a, b]`.
    Seq(Vec<Node>),
    /// `key: value` pairs in file order.
    Map(Vec<(Node, Node)>),
}

/// A scalar read as YAML's core schema reads a plain one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    /// `null`, `~` or nothing.
    Null,
    /// A whole number.
    Int(i64),
    /// `true` or `false`.
    Bool(bool),
    /// Anything else, quoted text included.
    Text(&'a str),
}

impl Node {
    /// The scalar's meaning, or `None` for a sequence or mapping.
    pub(crate) fn scalar(&self) -> Option<Scalar<'_>> {
        let Value::Scalar(s, quoted) = &self.value else {
            return None;
        };
        if *quoted {
            return Some(Scalar::Text(s));
        }
        Some(match s.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
            "true" | "True" | "TRUE" => Scalar::Bool(true),
            "false" | "False" | "FALSE" => Scalar::Bool(false),
            _ => match s.parse::<i64>() {
                Ok(n) => Scalar::Int(n),
                Err(_) => Scalar::Text(s),
            },
        })
    }

    /// The scalar as text, whatever its type (`1` is "1"), or `None` for a collection.
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// The value at `key` of a mapping, with the key node.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(m) => m.iter().find(|(k, _)| k.text() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What kind of node it is, for messages ("a list", "a mapping", "text").
    pub(crate) fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar(..) => "a single value",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parses one YAML document; a second document (`---`), an alias or a syntax error is an
/// error at its position.
pub(crate) fn parse(text: &str) -> Result<Node, SigmaError> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, true).map_err(|e| {
        let m = e.marker();
        SigmaError::at(m.line(), m.col() + 1, "", format!("not valid YAML: {}", e.info()))
    })?;
    if let Some(err) = b.error {
        return Err(err);
    }
    match b.docs.len() {
        0 => Err(SigmaError::at(1, 1, "", "the file holds no YAML document")),
        1 => Ok(b.docs.remove(0)),
        _ => {
            let second = &b.docs[1];
            Err(SigmaError::at(
                second.line,
                second.col,
                "",
                "several YAML documents in one file (rule collections, `action: global`) are not \
                 supported: one rule per file",
            ))
        }
    }
}

/// Collections being built, innermost last.
enum Open {
    Seq(Node),
    /// A mapping, and its key waiting for a value.
    Map(Node, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    docs: Vec<Node>,
    error: Option<SigmaError>,
}

impl Builder {
    fn node(value: Value, mark: Marker) -> Node {
        Node {
            value,
            line: mark.line(),
            col: mark.col() + 1,
        }
    }

    /// Puts a finished node into the collection around it, or makes it a document.
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Open::Seq(s)) => {
                if let Value::Seq(items) = &mut s.value {
                    items.push(node);
                }
            }
            Some(Open::Map(m, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    if let Value::Map(pairs) = &mut m.value {
                        pairs.push((k, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(s, style, _, _) => {
                let quoted = style != TScalarStyle::Plain;
                self.push(Builder::node(Value::Scalar(s, quoted), mark));
            }
            Event::SequenceStart(..) => self
                .stack
                .push(Open::Seq(Builder::node(Value::Seq(Vec::new()), mark))),
            Event::MappingStart(..) => self
                .stack
                .push(Open::Map(Builder::node(Value::Map(Vec::new()), mark), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(Open::Seq(n) | Open::Map(n, _)) = self.stack.pop() {
                    self.push(n);
                }
            }
            Event::Alias(_) => {
                self.error = Some(SigmaError::at(
                    mark.line(),
                    mark.col() + 1,
                    "",
                    "YAML aliases (*name) are not supported in a rule: write the value out",
                ));
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_know_their_line_and_column() {
        let doc = parse("title: x\ndetection:\n  sel:\n    Image: 'a'\n").unwrap();
        let sel = doc.get("detection").unwrap().get("sel").unwrap();
        let image = sel.get("Image").unwrap();
        assert_eq!((image.line, image.col), (4, 12));
        assert_eq!(image.scalar(), Some(Scalar::Text("a")));
    }

    #[test]
    fn plain_scalars_follow_the_core_schema_and_quoted_ones_stay_text() {
        let doc = parse("a: 4624\nb: '4624'\nc: null\nd:\ne: true\n").unwrap();
        assert_eq!(doc.get("a").unwrap().scalar(), Some(Scalar::Int(4624)));
        assert_eq!(doc.get("b").unwrap().scalar(), Some(Scalar::Text("4624")));
        assert_eq!(doc.get("c").unwrap().scalar(), Some(Scalar::Null));
        assert_eq!(doc.get("d").unwrap().scalar(), Some(Scalar::Null));
        assert_eq!(doc.get("e").unwrap().scalar(), Some(Scalar::Bool(true)));
    }

    #[test]
    fn a_second_document_and_a_syntax_error_are_located() {
        let e = parse("title: a\n---\ntitle: b\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("one rule per file"), "{e}");
        let e = parse("title: [a\n").unwrap_err();
        assert!(e.message.starts_with("not valid YAML"), "{e}");
        assert!(e.line >= 1);
    }
}

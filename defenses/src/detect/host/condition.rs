//! A Sigma rule's `condition`: search identifiers joined by `and`, `or`, `not` and
//! parentheses, and `1 of` / `all of` a pattern or `them`. Precedence as the Sigma rules
//! specification (v2.0.0, "Condition") gives it, least binding first: or, and, not,
//! x of, parentheses. Aggregations (`| count() > 5`) and `near` are not part of the subset.

/// A parsed condition over the selections, by index in the rule's list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    /// One selection.
    Sel(usize),
    /// Every operand.
    And(Vec<Condition>),
    /// One operand or more.
    Or(Vec<Condition>),
    /// Not the operand.
    Not(Box<Condition>),
}

impl Condition {
    /// Evaluates with `sel(i)` telling whether selection `i` matched.
    pub(crate) fn eval(&self, sel: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Condition::Sel(i) => sel(*i),
            Condition::And(cs) => cs.iter().all(|c| c.eval(sel)),
            Condition::Or(cs) => cs.iter().any(|c| c.eval(sel)),
            Condition::Not(c) => !c.eval(sel),
        }
    }
}

/// A condition that cannot be used: what, and at which character of the condition text
/// (0-based).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConditionError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Pipe,
}

fn lex(text: &str) -> Vec<(usize, Tok)> {
    let mut out = Vec::new();
    let mut word: Option<(usize, String)> = None;
    for (i, c) in text.char_indices() {
        let single = match c {
            '(' => Some(Tok::Open),
            ')' => Some(Tok::Close),
            '|' => Some(Tok::Pipe),
            _ => None,
        };
        if c.is_whitespace() || single.is_some() {
            if let Some((at, w)) = word.take() {
                out.push((at, Tok::Word(w)));
            }
            if let Some(t) = single {
                out.push((i, t));
            }
        } else {
            word.get_or_insert_with(|| (i, String::new())).1.push(c);
        }
    }
    if let Some((at, w)) = word {
        out.push((at, Tok::Word(w)));
    }
    out
}

struct Parser<'a> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    names: &'a [String],
    end: usize,
}

/// Parses `text` against the rule's selection names (in file order).
pub(crate) fn parse(text: &str, names: &[String]) -> Result<Condition, ConditionError> {
    let mut p = Parser {
        toks: lex(text),
        pos: 0,
        names,
        end: text.len(),
    };
    if p.toks.is_empty() {
        return Err(ConditionError {
            offset: 0,
            message: "the condition is empty".into(),
        });
    }
    let c = p.or()?;
    match p.toks.get(p.pos) {
        None => Ok(c),
        Some((at, Tok::Pipe)) => Err(ConditionError {
            offset: *at,
            message: "aggregations (`| count() ...`) are not supported: a host rule matches single events"
                .into(),
        }),
        Some((at, t)) => Err(ConditionError {
            offset: *at,
            message: format!(
                "expected `and`, `or` or the end of the condition, found {}",
                show(t)
            ),
        }),
    }
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("{w:?}"),
        Tok::Open => "`(`".into(),
        Tok::Close => "`)`".into(),
        Tok::Pipe => "`|`".into(),
    }
}

fn keyword(t: Option<&(usize, Tok)>, k: &str) -> bool {
    matches!(t, Some((_, Tok::Word(w))) if w.eq_ignore_ascii_case(k))
}

impl Parser<'_> {
    fn peek(&self) -> Option<&(usize, Tok)> {
        self.toks.get(self.pos)
    }

    fn err<T>(&self, message: String) -> Result<T, ConditionError> {
        let offset = self.peek().map_or(self.end, |(at, _)| *at);
        Err(ConditionError { offset, message })
    }

    fn or(&mut self) -> Result<Condition, ConditionError> {
        let mut terms = vec![self.and()?];
        while keyword(self.peek(), "or") {
            self.pos += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Condition::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Condition, ConditionError> {
        let mut terms = vec![self.not()?];
        while keyword(self.peek(), "and") {
            self.pos += 1;
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Condition::And(terms)
        })
    }

    fn not(&mut self) -> Result<Condition, ConditionError> {
        if keyword(self.peek(), "not") {
            self.pos += 1;
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Condition, ConditionError> {
        let Some((at, tok)) = self.peek().cloned() else {
            return self.err("the condition ends where a selection was expected".into());
        };
        match tok {
            Tok::Open => {
                self.pos += 1;
                let c = self.or()?;
                match self.peek() {
                    Some((_, Tok::Close)) => {
                        self.pos += 1;
                        Ok(c)
                    }
                    _ => self.err("a `(` is not closed".into()),
                }
            }
            Tok::Close | Tok::Pipe => self.err(format!("expected a selection, found {}", show(&tok))),
            Tok::Word(w) => {
                let lw = w.to_ascii_lowercase();
                if matches!(lw.as_str(), "and" | "or") {
                    return self.err(format!("expected a selection, found {w:?}"));
                }
                if lw == "near" {
                    return self.err("`near` is not supported".into());
                }
                let quantity = match lw.as_str() {
                    "all" => Some(true),
                    "1" | "any" => Some(false),
                    n if n.parse::<u32>().is_ok() => {
                        return self.err(format!("`{n} of` is not supported: use `1 of` or `all of`"));
                    }
                    _ => None,
                };
                self.pos += 1;
                match quantity {
                    Some(all) if keyword(self.peek(), "of") => {
                        self.pos += 1;
                        self.of(all)
                    }
                    _ => match self.names.iter().position(|n| *n == w) {
                        Some(i) => Ok(Condition::Sel(i)),
                        None => Err(ConditionError {
                            offset: at,
                            message: format!(
                                "{w:?} names no selection of this rule (it has {})",
                                list(self.names)
                            ),
                        }),
                    },
                }
            }
        }
    }

    /// `1 of X` / `all of X`, after `of`.
    fn of(&mut self, all: bool) -> Result<Condition, ConditionError> {
        let Some((at, Tok::Word(target))) = self.peek().cloned() else {
            return self.err("`of` needs a selection pattern or `them`".into());
        };
        self.pos += 1;
        let picked: Vec<Condition> = if target == "them" {
            self.names
                .iter()
                .enumerate()
                .filter(|(_, n)| !n.starts_with('_'))
                .map(|(i, _)| Condition::Sel(i))
                .collect()
        } else {
            self.names
                .iter()
                .enumerate()
                .filter(|(_, n)| name_glob(&target, n))
                .map(|(i, _)| Condition::Sel(i))
                .collect()
        };
        if picked.is_empty() {
            return Err(ConditionError {
                offset: at,
                message: format!(
                    "{target:?} matches no selection of this rule (it has {})",
                    list(self.names)
                ),
            });
        }
        Ok(if all {
            Condition::And(picked)
        } else {
            Condition::Or(picked)
        })
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names.join(", ")
}

/// A selection-name pattern: `*` for any run of characters, the rest literal.
fn name_glob(pattern: &str, name: &str) -> bool {
    super::matcher::Glob::new(&pattern.replace('?', "\\?"), true).matches(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    fn eval(cond: &str, sel_names: &[&str], matched: &[&str]) -> bool {
        let n = names(sel_names);
        let c = parse(cond, &n).unwrap();
        c.eval(&mut |i| matched.contains(&sel_names[i]))
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_tighter_than_and() {
        let s = ["a", "b", "c"];
        assert!(eval("a or b and c", &s, &["a"]));
        assert!(!eval("(a or b) and c", &s, &["a"]));
        assert!(eval("a and not b", &s, &["a"]));
        assert!(!eval("a and not b", &s, &["a", "b"]));
        assert!(eval("not a and not b", &s, &["c"]));
        assert!(eval("a AND NOT (b or c)", &s, &["a"]));
    }

    #[test]
    fn one_of_and_all_of_patterns_and_them() {
        let s = ["selection_img", "selection_cli", "filter_admin", "_helper"];
        assert!(eval("1 of selection_*", &s, &["selection_cli"]));
        assert!(!eval("all of selection_*", &s, &["selection_cli"]));
        assert!(eval(
            "all of selection_* and not 1 of filter*",
            &s,
            &["selection_img", "selection_cli"]
        ));
        assert!(eval("1 of them", &s, &["filter_admin"]));
        // `them` leaves out identifiers starting with an underscore.
        assert!(!eval("1 of them", &s, &["_helper"]));
        assert!(!eval("all of them", &s, &["selection_img", "selection_cli"]));
    }

    #[test]
    fn errors_name_the_place_and_the_reason() {
        let n = names(&["selection", "filter"]);
        let e = parse("selection and not filtr", &n).unwrap_err();
        assert_eq!(e.offset, 18);
        assert!(
            e.message.contains("\"filtr\" names no selection"),
            "{}",
            e.message
        );
        let e = parse("selection | count() > 5", &n).unwrap_err();
        assert_eq!(e.offset, 10);
        assert!(e.message.contains("aggregations"), "{}", e.message);
        let e = parse("(selection or filter", &n).unwrap_err();
        assert!(e.message.contains("not closed"), "{}", e.message);
        let e = parse("1 of sel_*", &n).unwrap_err();
        assert!(e.message.contains("matches no selection"), "{}", e.message);
        let e = parse("selection and", &n).unwrap_err();
        assert!(e.message.contains("ends where a selection"), "{}", e.message);
        let e = parse("2 of them", &n).unwrap_err();
        assert!(e.message.contains("`2 of` is not supported"), "{}", e.message);
    }
}

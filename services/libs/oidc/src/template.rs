//! The subset of Go `text/template` that upstream Fulcio's `ci-issuer-metadata`
//! templates use, compiled at configuration time.
//!
//! A template without `{{` is a *bare claim name*: its value is that claim
//! (or default) verbatim, and a missing name is an error. Otherwise the
//! template is text with actions:
//!
//! * `{{ .name }}`: the claim/default `name`; missing is an error (Go's
//!   `missingkey=error`);
//! * `{{ index . "name" }}` or `{{ (index . "name") }}`: same, but a missing
//!   name renders as the empty string (Go's `index` on a map);
//! * `{{ if eq ARG "literal" }} … {{ else }} … {{ end }}` where ARG is either
//!   of the forms above (`else` optional, blocks may nest).
//!
//! Anything else (pipelines, other functions, trim markers `{{-`, comments,
//! escapes in string literals) is refused when the configuration is loaded.

use crate::TokenError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Template {
    /// No `{{`: the whole string names one claim.
    Bare(String),
    /// Parsed Go-template subset.
    Nodes(Vec<Node>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Text(String),
    Value(Arg),
    IfEq { arg: Arg, literal: String, then: Vec<Node>, otherwise: Vec<Node> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arg {
    name: String,
    /// `index . "x"` yields "" for a missing key; `.x` is an error.
    missing_is_empty: bool,
}

/// Values available to a template: token claims first, then defaults.
pub(crate) trait Lookup {
    /// `Ok(None)` when neither a claim nor a default has this name.
    fn lookup(&self, name: &str) -> Result<Option<String>, TokenError>;
}

impl Template {
    pub(crate) fn compile(src: &str) -> Result<Self, String> {
        if !src.contains("{{") {
            if src.contains("}}") {
                return Err("unbalanced \"}}\"".into());
            }
            return Ok(Template::Bare(src.to_owned()));
        }
        let mut rest = src;
        // Stack of open blocks: (nodes so far in the enclosing list, open `if`).
        let mut stack: Vec<(Vec<Node>, PendingIf)> = Vec::new();
        let mut current: Vec<Node> = Vec::new();
        while !rest.is_empty() {
            match rest.find("{{") {
                None => {
                    if rest.contains("}}") {
                        return Err("unbalanced \"}}\"".into());
                    }
                    current.push(Node::Text(rest.to_owned()));
                    rest = "";
                }
                Some(start) => {
                    let text = &rest[..start];
                    if text.contains("}}") {
                        return Err("unbalanced \"}}\"".into());
                    }
                    if !text.is_empty() {
                        current.push(Node::Text(text.to_owned()));
                    }
                    let after = &rest[start + 2..];
                    let end = after.find("}}").ok_or("unterminated action")?;
                    let action = &after[..end];
                    rest = &after[end + 2..];
                    if action.starts_with('-') || action.ends_with('-') {
                        return Err("trim markers ({{- -}}) are not supported".into());
                    }
                    match parse_action(action)? {
                        Action::Value(arg) => current.push(Node::Value(arg)),
                        Action::If(arg, literal) => {
                            let pending = PendingIf { arg, literal, then: None };
                            stack.push((std::mem::take(&mut current), pending));
                        }
                        Action::Else => {
                            let (_, pending) = stack.last_mut().ok_or("{{else}} without {{if}}")?;
                            if pending.then.is_some() {
                                return Err("two {{else}} in one {{if}}".into());
                            }
                            pending.then = Some(std::mem::take(&mut current));
                        }
                        Action::End => {
                            let (mut outer, pending) = stack.pop().ok_or("{{end}} without {{if}}")?;
                            let body = std::mem::take(&mut current);
                            let (then, otherwise) = match pending.then {
                                Some(then) => (then, body),
                                None => (body, Vec::new()),
                            };
                            outer.push(Node::IfEq { arg: pending.arg, literal: pending.literal, then, otherwise });
                            current = outer;
                        }
                    }
                }
            }
        }
        if !stack.is_empty() {
            return Err("{{if}} without {{end}}".into());
        }
        Ok(Template::Nodes(current))
    }

    pub(crate) fn render(&self, data: &dyn Lookup) -> Result<String, TokenError> {
        match self {
            Template::Bare(name) => data.lookup(name)?.ok_or_else(|| TokenError::MissingClaim(name.clone())),
            Template::Nodes(nodes) => {
                let mut out = String::new();
                render_nodes(nodes, data, &mut out)?;
                Ok(out)
            }
        }
    }
}

struct PendingIf {
    arg: Arg,
    literal: String,
    /// `Some` once `{{else}}` was seen: the `then` branch.
    then: Option<Vec<Node>>,
}

fn resolve(arg: &Arg, data: &dyn Lookup) -> Result<String, TokenError> {
    match data.lookup(&arg.name)? {
        Some(v) => Ok(v),
        None if arg.missing_is_empty => Ok(String::new()),
        None => Err(TokenError::MissingClaim(arg.name.clone())),
    }
}

fn render_nodes(nodes: &[Node], data: &dyn Lookup, out: &mut String) -> Result<(), TokenError> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Value(arg) => out.push_str(&resolve(arg, data)?),
            Node::IfEq { arg, literal, then, otherwise } => {
                let branch = if resolve(arg, data)? == *literal { then } else { otherwise };
                render_nodes(branch, data, out)?;
            }
        }
    }
    Ok(())
}

enum Action {
    Value(Arg),
    If(Arg, String),
    Else,
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    Dot,
    Field(String),
    Word(String),
    Str(String),
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn lex(action: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = action.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            ' ' | '\t' => {
                chars.next();
            }
            '(' => {
                chars.next();
                toks.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                toks.push(Tok::RParen);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string literal".into()),
                        Some((_, '"')) => break,
                        Some((_, '\\')) => return Err("escapes in string literals are not supported".into()),
                        Some((_, ch)) if ch.is_control() => return Err("control character in string literal".into()),
                        Some((_, ch)) => s.push(ch),
                    }
                }
                toks.push(Tok::Str(s));
            }
            '.' => {
                chars.next();
                let mut name = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if is_ident_char(ch) {
                        name.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if name.is_empty() {
                    toks.push(Tok::Dot);
                } else {
                    if chars.peek().is_some_and(|&(_, ch)| ch == '.') {
                        return Err("nested field access (.a.b) is not supported".into());
                    }
                    toks.push(Tok::Field(name));
                }
            }
            c if c.is_ascii_alphabetic() => {
                let mut word = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if is_ident_char(ch) {
                        word.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                toks.push(Tok::Word(word));
            }
            other => return Err(format!("unsupported character {other:?} at offset {i} in action")),
        }
    }
    Ok(toks)
}

/// ARG := `.name` | `index . "name"` | `( ARG )`
fn parse_arg(toks: &[Tok]) -> Result<(Arg, &[Tok]), String> {
    match toks {
        [Tok::Field(name), rest @ ..] => Ok((Arg { name: name.clone(), missing_is_empty: false }, rest)),
        [Tok::Word(w), Tok::Dot, Tok::Str(name), rest @ ..] if w == "index" => {
            Ok((Arg { name: name.clone(), missing_is_empty: true }, rest))
        }
        [Tok::LParen, rest @ ..] => {
            let (arg, rest) = parse_arg(rest)?;
            match rest {
                [Tok::RParen, rest @ ..] => Ok((arg, rest)),
                _ => Err("expected \")\"".into()),
            }
        }
        _ => Err("expected .name or index . \"name\"".into()),
    }
}

fn parse_action(action: &str) -> Result<Action, String> {
    let toks = lex(action)?;
    match toks.as_slice() {
        [] => Err("empty action".into()),
        [Tok::Word(w)] if w == "else" => Ok(Action::Else),
        [Tok::Word(w)] if w == "end" => Ok(Action::End),
        [Tok::Word(w), rest @ ..] if w == "if" => match rest {
            [Tok::Word(eq), rest @ ..] if eq == "eq" => {
                let (arg, rest) = parse_arg(rest)?;
                match rest {
                    [Tok::Str(lit)] => Ok(Action::If(arg, lit.clone())),
                    _ => Err("expected {{if eq ARG \"literal\"}}".into()),
                }
            }
            _ => Err("only {{if eq ARG \"literal\"}} is supported".into()),
        },
        _ => {
            let (arg, rest) = parse_arg(&toks)?;
            if rest.is_empty() {
                Ok(Action::Value(arg))
            } else {
                Err(format!("unsupported action {{{{{action}}}}}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Map(BTreeMap<&'static str, &'static str>);
    impl Lookup for Map {
        fn lookup(&self, name: &str) -> Result<Option<String>, TokenError> {
            Ok(self.0.get(name).map(|v| (*v).to_owned()))
        }
    }

    fn data() -> Map {
        Map(BTreeMap::from([
            ("url", "https://github.com"),
            ("job_workflow_ref", "o/r/.github/workflows/w.yml@refs/heads/main"),
            ("ref_type", "branch"),
            ("ref", "main"),
            ("oidc.circleci.com/ssh-rerun", "false"),
        ]))
    }

    fn render(src: &str) -> Result<String, TokenError> {
        Template::compile(src).unwrap().render(&data())
    }

    #[test]
    fn fields_bare_names_and_index() {
        assert_eq!(
            render("{{ .url }}/{{ .job_workflow_ref }}").unwrap(),
            "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main"
        );
        assert_eq!(render("{{.url}}").unwrap(), "https://github.com");
        assert_eq!(render("ref").unwrap(), "main");
        assert_eq!(render(r#"{{(index . "oidc.circleci.com/ssh-rerun")}}"#).unwrap(), "false");
        assert_eq!(render(r#"x{{index . "absent"}}y"#).unwrap(), "xy");
        assert_eq!(render("{{ .absent }}").unwrap_err(), TokenError::MissingClaim("absent".into()));
        assert_eq!(render("absent").unwrap_err(), TokenError::MissingClaim("absent".into()));
    }

    #[test]
    fn if_eq_else_end() {
        let gitlab = r#"refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}"#;
        assert_eq!(render(gitlab).unwrap(), "refs/heads/main");
        let circle = r#"{{if eq (index . "oidc.circleci.com/ssh-rerun") "true"}}ssh-rerun{{ else }}""{{end}}"#;
        assert_eq!(render(circle).unwrap(), "\"\"");
        assert_eq!(render(r#"{{if eq .ref "main"}}a{{if eq .ref_type "tag"}}b{{end}}c{{end}}"#).unwrap(), "ac");
    }

    #[test]
    fn unsupported_syntax_refused_at_compile() {
        for bad in [
            "{{ .url",
            "{{ .url }}}}",
            "}}",
            "{{- .url }}",
            "{{ .url -}}",
            "{{ .a.b }}",
            "{{ .url | printf }}",
            "{{ printf \"%s\" .url }}",
            "{{ if .url }}x{{ end }}",
            "{{ if eq .url \"a\" }}x",
            "{{ end }}",
            "{{ else }}",
            "{{ if eq .url \"a\" }}x{{ else }}y{{ else }}z{{ end }}",
            "{{ \"lit\\n\" }}",
            "{{ /* c */ }}",
            "{{ }}",
            "{{ index . }}",
        ] {
            assert!(Template::compile(bad).is_err(), "{bad}");
        }
    }
}

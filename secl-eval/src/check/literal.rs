//! String literals compiled against the field they meet (SPEC §5), and array literals.

use super::{CheckResult, Checker, FieldInfo, Kind, Operand};
use crate::ir::{Lit, Node, Ty};
use crate::matcher::{StrMatcher, fold};
use crate::model::{ConstValue, PathKind};
use crate::value::{glob::Glob, path, pattern::Pattern};
use secl_syntax::Span;
use secl_syntax::ast::{Array, ArrayKind, StringKind};
use secl_syntax::diagnostics::codes;
use std::sync::Arc;

impl Checker<'_> {
    /// Compiles one string literal for comparison with `field` (or with a non-field value
    /// when `field` is `None`, where patterns keep their meaning only inside lists).
    pub(super) fn matcher(
        &self,
        field: Option<&FieldInfo>,
        kind: StringKind,
        text: &str,
        span: Span,
    ) -> CheckResult<StrMatcher> {
        let Some(f) = field else {
            return self.plain_matcher(kind, text, span, false);
        };
        let ci = f.case_insensitive;
        // Extension fields compare against `.ext` (SPEC §5.6); regexps are not rewritten.
        let owned;
        let text = if f.is_extension && kind != StringKind::Regex && !text.starts_with('.') {
            owned = format!(".{text}");
            owned.as_str()
        } else {
            text
        };
        let is_path = f.path_kind == PathKind::Path;
        // Every validated field rejects regexps, as the reference's path validation does
        // before anything else (`mount.mountpoint.path` too, not only file paths).
        if kind == StringKind::Regex && validates_paths(f) {
            return Err(self.error(codes::REGEX_ON_PATH, span, format!("regexp not supported on path `{}`", f.name)));
        }
        if validates_paths(f)
            && let Err(msg) = path::validate(text)
        {
            return Err(self.error(codes::INVALID_PATH, span, msg).with_path_help());
        }
        match kind {
            StringKind::Plain if ci => Ok(StrMatcher::ExactFolded(Arc::from(fold(text)))),
            StringKind::Plain => Ok(StrMatcher::Exact(Arc::from(text))),
            StringKind::Pattern if is_path => {
                Glob::new(text, ci).map(StrMatcher::Glob).map_err(|e| self.error(codes::INVALID_PATTERN, span, e))
            }
            _ => self.plain_matcher(kind, text, span, ci),
        }
    }

    fn plain_matcher(&self, kind: StringKind, text: &str, span: Span, ci: bool) -> CheckResult<StrMatcher> {
        match kind {
            StringKind::Plain => Ok(StrMatcher::Exact(Arc::from(text))),
            StringKind::Pattern => {
                Pattern::new(text, ci).map(StrMatcher::Pattern).map_err(|e| self.error(codes::INVALID_PATTERN, span, e))
            }
            StringKind::Regex => {
                let source = if ci { format!("(?i){text}") } else { text.to_owned() };
                regex::RegexBuilder::new(&source).size_limit(1 << 20).build().map(StrMatcher::Regex).map_err(|e| {
                    self.error(
                        codes::INVALID_REGEX,
                        span,
                        format!("invalid regexp `{text}`: {}", first_line(&e.to_string())),
                    )
                })
            }
        }
    }

    /// The right side of `in`/`not in`/`allin`, or a bare-list macro body.
    pub(super) fn array(&mut self, a: &Array) -> CheckResult<Operand> {
        let span = a.span;
        match &a.kind {
            ArrayKind::Strings(members) => {
                let list = members.iter().map(|m| (m.kind, Arc::from(m.text.as_str()), m.span)).collect::<Vec<_>>();
                let lit = Lit::Strs(members.iter().map(|m| Arc::from(m.text.as_str())).collect());
                Ok(Operand::new(Node::Lit(lit), Ty::StrArray, Kind::Values(list, None), span))
            }
            ArrayKind::Ints(v) => {
                let ints: Vec<i64> = v.iter().map(|(i, _)| *i).collect();
                Ok(Operand::new(Node::Lit(Lit::Ints(ints.clone().into())), Ty::IntArray, Kind::IntList(ints), span))
            }
            ArrayKind::Cidrs(v) => {
                let mut ips = Vec::with_capacity(v.len());
                for (text, s) in v {
                    ips.push(self.ip_or_cidr(text, *s)?);
                }
                Ok(Operand::new(Node::Lit(Lit::Ips(ips.into())), Ty::IpArray, Kind::IpList, span))
            }
            ArrayKind::Idents(v) => self.ident_list(v, span),
            ArrayKind::Ident(name) => self.ident_array(name, span),
            ArrayKind::Cidr(text) => {
                let ip = self.ip_or_cidr(text, span)?;
                Ok(Operand::new(Node::Lit(Lit::Ips(vec![ip].into())), Ty::IpArray, Kind::IpList, span))
            }
            ArrayKind::Variable(name) => self.variable(name, span),
            ArrayKind::FieldRef(name) => self.field_ref(name, span),
        }
    }

    fn ip_or_cidr(&self, text: &str, span: Span) -> CheckResult<crate::value::ip::IpNet> {
        if text.contains('/') { self.parse_cidr(text, span) } else { self.parse_ip(text, span) }
    }

    /// A bare identifier right of `in`: macros first, then constants or fields (SPEC §3).
    fn ident_array(&mut self, name: &str, span: Span) -> CheckResult<Operand> {
        if let Some(op) = self.macro_operand(name, span)? {
            return Ok(op);
        }
        if let Some(c) = self.env.fields.constant(name) {
            // An int or bool constant stays a scalar: the reference then rejects the
            // membership (`open.flags in O_CREAT` is `array of int expected`).
            return Ok(super::const_operand(c, span));
        }
        self.field_operand(name, span)
    }

    /// `[A, B, C ]`: constants of one type (SPEC §4.1).
    fn ident_list(&mut self, names: &[(String, Span)], span: Span) -> CheckResult<Operand> {
        let mut ints = Vec::new();
        let mut bools = Vec::new();
        let mut first_ty: Option<Ty> = None;
        for (i, (name, s)) in names.iter().enumerate() {
            let Some(c) = self.env.fields.constant(name) else {
                if i == 0 {
                    return Err(self.error(
                        codes::MIXED_ARRAY,
                        *s,
                        "array of unsupported identifiers (ident type: `%!s(<nil>)`)",
                    ));
                }
                return Err(self.unknown_field(name, *s));
            };
            let ty = match c {
                ConstValue::Int(v) => {
                    ints.push(v);
                    Ty::Int
                }
                ConstValue::Bool(b) => {
                    bools.push(b);
                    Ty::Bool
                }
                ConstValue::StrArray(_) => Ty::StrArray,
            };
            match first_ty {
                None => first_ty = Some(ty),
                Some(t) if t != ty => {
                    return Err(self.error(
                        codes::MIXED_ARRAY,
                        *s,
                        format!("can't mix constants types in arrays: `{name}` is not of type {}", t.expected_name()),
                    ));
                }
                Some(_) => {}
            }
        }
        match first_ty {
            Some(Ty::Bool) => {
                Ok(Operand::new(Node::Lit(Lit::Bools(bools.into())), Ty::BoolArray, Kind::BoolList, span))
            }
            Some(Ty::Int) => {
                Ok(Operand::new(Node::Lit(Lit::Ints(ints.clone().into())), Ty::IntArray, Kind::IntList(ints), span))
            }
            _ => Err(self.error(codes::MIXED_ARRAY, span, "array of unsupported identifiers")),
        }
    }
}

/// Path values are validated for every field whose name ends in `.path`, including
/// `mount.*.path`, except the syscall argument paths (SPEC §5.3). The model marks
/// `mount.mountpoint.path` like a syscall path (plain-string patterns), so the kind alone
/// does not tell: it skipped the validation of `mount.*.path` values.
fn validates_paths(f: &FieldInfo) -> bool {
    f.name.ends_with(".path") && !f.name.contains(".syscall.")
}

fn first_line(s: &str) -> String {
    // The regex crate's errors draw their own caret over several lines; keep the message.
    s.lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map_or_else(|| s.lines().next().unwrap_or("").to_owned(), |l| l.trim_start_matches("error: ").to_owned())
}

trait PathHelp {
    fn with_path_help(self) -> Self;
}

impl PathHelp for Box<secl_syntax::Diagnostic> {
    fn with_path_help(mut self) -> Self {
        self.help = Some(
            "path values must be absolute and clean (no `//`, `.`, `..` or trailing `/`), or start with `*`".into(),
        );
        self
    }
}

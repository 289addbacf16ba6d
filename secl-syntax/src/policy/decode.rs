//! From a marked YAML tree to [`Policy`], decoding as leniently as the reference does and
//! reporting each malformed definition on its own so that the rest of the file loads.

use super::text::{Text, align, detect_style};
use super::types::*;
use super::yaml::{self, LineIndex};
use crate::diagnostics::{Code, Diagnostic, SourceFile, codes};
use crate::span::Span;
use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use std::collections::BTreeMap;
use std::sync::Arc;

type Res<T> = Result<T, Box<Diagnostic>>;

const ID_PATTERN: &str = "^[A-Za-z0-9_]*$";

/// Macros may not use FIM fields (the reference rejects them at load time).
const FIM_PREFIX: &str = "fim.write.file.";

/// Keys that each select one action kind; an action item must hold exactly one.
const ACTION_KEYS: &[&str] = &["set", "kill", "hash", "coredump", "log", "network_filter"];

pub(crate) fn parse(source: Arc<SourceFile>, is_default: bool) -> (Option<Policy>, Vec<Diagnostic>) {
    if source.text.len() > super::MAX_POLICY_SIZE {
        let d = Diagnostic::error(
            codes::TOO_LARGE,
            format!("policy file is larger than {} MiB", super::MAX_POLICY_SIZE >> 20),
        )
        .with_source(source.clone());
        return (None, vec![d]);
    }
    let (root, index) = match yaml::load(&source) {
        Ok(x) => x,
        Err(d) => return (None, vec![*d]),
    };
    let dec = Decoder { source: &source, src: &source.text, index: &index };
    let mut diags = Vec::new();
    let policy = dec.policy(&root, is_default, &mut diags);
    (policy, diags)
}

/// The file name a policy is known by (the reference names policies after their file).
pub(crate) fn policy_name(source_name: &str) -> String {
    std::path::Path::new(source_name)
        .file_name()
        .map_or_else(|| source_name.to_string(), |n| n.to_string_lossy().into_owned())
}

fn is_valid_id(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Keeps the value of a decoded key, or records why it could not be decoded.
fn ok<T>(errs: &mut Vec<Diagnostic>, r: Res<T>) -> Option<T> {
    r.map_err(|d| errs.push(*d)).ok()
}

struct Decoder<'a> {
    source: &'a Arc<SourceFile>,
    src: &'a str,
    index: &'a LineIndex,
}

impl Decoder<'_> {
    fn error(&self, code: Code, message: impl Into<String>, span: Span, label: &str) -> Diagnostic {
        Diagnostic::error(code, message).with_label(span, label).with_source(self.source.clone())
    }

    fn start(&self, node: &Node) -> usize {
        node.span().start().map_or(self.index.base(), |m| self.index.byte(self.src, m))
    }

    fn text(&self, s: &MarkedScalarNode) -> Text {
        let start = s.span().start().map_or(self.index.base(), |m| self.index.byte(self.src, m));
        if s.as_str().is_empty() && s.may_coerce() {
            let span = Span::new(start, start);
            return Text::synthetic("", span, self.source.clone());
        }
        let style = detect_style(self.src, start, s.may_coerce(), s.as_str());
        let (map, span) = align(self.source, start, s.as_str(), style);
        Text { value: s.as_str().to_string(), span, map }
    }

    fn span(&self, node: &Node) -> Span {
        match node {
            Node::Scalar(s) => self.text(s).span,
            _ => {
                let bytes = self.src.as_bytes();
                let mut start = self.start(node);
                // Block collections are marked where the scanner recognised them (the
                // first `:`, the first entry's value), not where they begin.
                if let Some(key) = node.as_mapping().and_then(|m| m.keys().next()) {
                    start = start.min(self.text(key).span.start as usize);
                }
                if node.as_sequence().is_some() && bytes.get(start) != Some(&b'[') {
                    let before = self.src[..start].trim_end_matches([' ', '\t']);
                    if before.ends_with('-') {
                        start = before.len() - 1;
                    }
                }
                let mut end = node.span().end().map_or(start, |m| self.index.byte(self.src, m)).max(start);
                // Flow collections end on their closing bracket; block ones at the next
                // token, after any blank lines we do not want in a label.
                if matches!(bytes.get(start), Some(b'[' | b'{')) && matches!(bytes.get(end), Some(b']' | b'}')) {
                    end += 1;
                }
                while end > start + 1 && bytes[end - 1].is_ascii_whitespace() {
                    end -= 1;
                }
                Span::new(start, end)
            }
        }
    }

    /// Where to point for a key's value: the value, or the key when the value is empty.
    fn value_span(&self, key: &MarkedScalarNode, value: &Node) -> Span {
        let span = self.span(value);
        if span.is_empty() { self.text(key).span } else { span }
    }

    fn first_key_span(&self, map: &MarkedMappingNode, whole: Span) -> Span {
        map.keys().next().map_or(whole, |k| self.text(k).span)
    }

    fn type_error(&self, key: &MarkedScalarNode, value: &Node, expected: &str) -> Box<Diagnostic> {
        Box::new(self.error(
            codes::YAML,
            format!("invalid value for `{}`: expected {expected}", key.as_str()),
            self.value_span(key, value),
            &format!("expected {expected}"),
        ))
    }

    fn policy(&self, root: &Node, is_default: bool, diags: &mut Vec<Diagnostic>) -> Option<Policy> {
        let Some(map) = root.as_mapping() else {
            diags.push(self.error(codes::YAML, "a policy must be a YAML mapping", self.span(root), "here"));
            return None;
        };
        let mut policy = Policy {
            source: self.source.clone(),
            name: policy_name(&self.source.name),
            version: None,
            kind: None,
            replace_policy_id: None,
            macros: Vec::new(),
            rules: Vec::new(),
            is_default,
        };
        let mut errs = Vec::new();
        let (mut macros, mut rules) = (None, None);
        for (k, v) in map.iter() {
            match k.as_str() {
                "version" => policy.version = ok(&mut errs, self.opt_text(k, v)).flatten().map(|t| t.value),
                "type" => policy.kind = ok(&mut errs, self.opt_text(k, v)).flatten().map(|t| t.value),
                "replace_policy_id" => {
                    policy.replace_policy_id = ok(&mut errs, self.opt_text(k, v)).flatten().map(|t| t.value)
                }
                "macros" => macros = ok(&mut errs, self.list(k, v)),
                "rules" => rules = ok(&mut errs, self.list(k, v)),
                _ => {}
            }
        }
        if !errs.is_empty() {
            // The reference fails the whole file when its top level does not decode.
            diags.append(&mut errs);
            return None;
        }
        let macros = macros.unwrap_or_default();
        let rules = rules.unwrap_or_default();
        if macros.is_empty() && rules.is_empty() && !is_default {
            let span = map.keys().next().map_or(Span::new(0, 0), |k| self.text(k).span);
            let mut d = Diagnostic::error(codes::EMPTY_POLICY, "the policy is empty")
                .with_source(self.source.clone())
                .with_help("a custom policy needs at least one rule or macro");
            if !span.is_empty() {
                d = d.with_label(span, "no rules or macros");
            }
            diags.push(d);
            return None;
        }
        policy.macros = macros.iter().filter_map(|m| self.macro_def(m, diags)).collect();
        policy.rules = rules.iter().filter_map(|r| self.rule_def(r, diags)).collect();
        Some(policy)
    }

    fn macro_def(&self, node: &Node, diags: &mut Vec<Diagnostic>) -> Option<MacroDef> {
        let whole = self.span(node);
        let Some(map) = node.as_mapping() else {
            diags.push(self.error(codes::YAML, "a macro must be a mapping", whole, "expected a mapping"));
            return None;
        };
        let mut errs = Vec::new();
        let mut def = MacroDef {
            id: Text::synthetic("", whole, self.source.clone()),
            expression: None,
            values: None,
            description: None,
            agent_version: None,
            filters: Vec::new(),
            combine: None,
            span: whole,
        };
        let mut id = None;
        let mut values_key = None;
        for (k, v) in map.iter() {
            match k.as_str() {
                "id" => id = ok(&mut errs, self.opt_text(k, v)).flatten(),
                "expression" => def.expression = ok(&mut errs, self.opt_text(k, v)).flatten(),
                "values" => {
                    values_key = Some(self.text(k).span);
                    def.values = ok(&mut errs, self.opt_text_list(k, v)).flatten();
                }
                "description" => def.description = ok(&mut errs, self.opt_text(k, v)).flatten(),
                "agent_version" => def.agent_version = ok(&mut errs, self.opt_text(k, v)).flatten(),
                "filters" => def.filters = ok(&mut errs, self.text_list(k, v)).unwrap_or_default(),
                "combine" => def.combine = ok(&mut errs, self.combine(k, v)).flatten(),
                _ => {}
            }
        }
        let id_text = id.as_ref().map(|t| t.value.clone());
        let tag = |d: Diagnostic| match &id_text {
            Some(id) if !id.is_empty() => d.with_rule_id(id.clone()),
            _ => d,
        };
        if !errs.is_empty() {
            diags.extend(errs.into_iter().map(tag));
            return None;
        }
        let has_values = def.values.as_ref().is_some_and(|v| !v.is_empty());
        let expr = def.expression();
        let structural = if id_text.as_ref().is_none_or(String::is_empty) {
            Some(self.error(
                codes::MISSING_ID,
                format!("no ID defined for macro with expression `{}`", expr.map_or("", |e| e.as_str())),
                self.first_key_span(map, whole),
                "this macro has no `id`",
            ))
        } else if let Some(id) = id.as_ref().filter(|t| !is_valid_id(&t.value)) {
            Some(self.error(
                codes::INVALID_ID,
                format!("ID does not match pattern `{ID_PATTERN}`"),
                id.span,
                "invalid macro ID",
            ))
        } else if let Some(expr) = expr.filter(|_| has_values) {
            Some(
                self.error(
                    codes::MACRO_DEFINITION,
                    "only one of 'expression' and 'values' can be defined",
                    expr.span,
                    "expression defined here",
                )
                .with_label(values_key.unwrap_or(expr.span), "values defined here"),
            )
        } else if let Some((expr, at)) = expr.and_then(|e| Some((e, e.value.find(FIM_PREFIX)?))) {
            Some(self.error(
                codes::MACRO_DEFINITION,
                "macro expression cannot contain 'fim.write.file.' event types",
                expr.file_span(Span::new(at, at + FIM_PREFIX.len())),
                "FIM fields are only allowed in rules",
            ))
        } else if expr.is_none() && !has_values && def.combine.is_none() {
            Some(self.error(
                codes::MISSING_EXPRESSION,
                "no macro expression",
                self.first_key_span(map, whole),
                "this macro has neither `expression` nor `values`",
            ))
        } else {
            None
        };
        if let Some(d) = structural {
            diags.push(tag(d));
            return None;
        }
        def.id = id?;
        Some(def)
    }

    fn rule_def(&self, node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RuleDef> {
        let whole = self.span(node);
        let Some(map) = node.as_mapping() else {
            diags.push(self.error(codes::YAML, "a rule must be a mapping", whole, "expected a mapping"));
            return None;
        };
        let mut errs = Vec::new();
        let mut def = RuleDef {
            id: Text::synthetic("", whole, self.source.clone()),
            version: None,
            expression: None,
            description: None,
            tags: BTreeMap::new(),
            product_tags: Vec::new(),
            agent_version: None,
            filters: Vec::new(),
            disabled: false,
            combine: None,
            override_options: Vec::new(),
            actions: Vec::new(),
            every: None,
            limiter_token: Vec::new(),
            silent: false,
            group_id: None,
            priority: None,
            span: whole,
        };
        let mut id = None;
        let mut actions = None;
        for (k, v) in map.iter() {
            match k.as_str() {
                "id" => id = ok(&mut errs, self.opt_text(k, v)).flatten(),
                "version" => def.version = ok(&mut errs, self.opt_text(k, v)).flatten(),
                "expression" => def.expression = ok(&mut errs, self.opt_text(k, v)).flatten(),
                "description" => def.description = ok(&mut errs, self.opt_text(k, v)).flatten(),
                "tags" => def.tags = ok(&mut errs, self.string_map(k, v)).unwrap_or_default(),
                "product_tags" => def.product_tags = ok(&mut errs, self.string_list(k, v)).unwrap_or_default(),
                "agent_version" => def.agent_version = ok(&mut errs, self.opt_text(k, v)).flatten(),
                "filters" => def.filters = ok(&mut errs, self.text_list(k, v)).unwrap_or_default(),
                "disabled" => def.disabled = ok(&mut errs, self.bool(k, v)).unwrap_or_default(),
                "combine" => def.combine = ok(&mut errs, self.combine(k, v)).flatten(),
                "override_options" => {
                    def.override_options = ok(&mut errs, self.override_options(k, v)).unwrap_or_default()
                }
                "actions" => actions = ok(&mut errs, self.list(k, v)),
                "every" => def.every = ok(&mut errs, self.duration(k, v)).flatten(),
                "limiter_token" => def.limiter_token = ok(&mut errs, self.string_list(k, v)).unwrap_or_default(),
                "silent" => def.silent = ok(&mut errs, self.bool(k, v)).unwrap_or_default(),
                "group_id" => def.group_id = ok(&mut errs, self.opt_text(k, v)).flatten(),
                "priority" => def.priority = ok(&mut errs, self.int(k, v)).flatten(),
                _ => {}
            }
        }
        let id_text = id.as_ref().map(|t| t.value.clone()).filter(|s| !s.is_empty());
        let tag = |d: Diagnostic| match &id_text {
            Some(id) => d.with_rule_id(id.clone()),
            None => d,
        };
        if !errs.is_empty() {
            diags.extend(errs.into_iter().map(tag));
            return None;
        }
        let structural = if id_text.is_none() {
            Some(self.error(codes::MISSING_ID, "no rule ID", self.first_key_span(map, whole), "this rule has no `id`"))
        } else if let Some(id) = id.as_ref().filter(|t| !is_valid_id(&t.value)) {
            Some(
                self.error(codes::INVALID_ID, "rule ID pattern error", id.span, "invalid rule ID")
                    .with_help(format!("rule IDs must match `{ID_PATTERN}`")),
            )
        } else if let Some(g) = def.group_id.as_ref().filter(|t| !is_valid_id(&t.value)) {
            Some(
                self.error(codes::INVALID_ID, "rule ID pattern error", g.span, "invalid group ID")
                    .with_help(format!("group IDs must match `{ID_PATTERN}`")),
            )
        } else if def.expression().is_none() && !def.disabled && def.combine.is_none() {
            let span = def.expression.as_ref().map_or(id.as_ref().map_or(whole, |t| t.span), |e| e.span);
            Some(self.error(codes::MISSING_EXPRESSION, "no rule expression", span, "this rule has no expression"))
        } else {
            None
        };
        if let Some(d) = structural {
            diags.push(tag(d));
            return None;
        }
        def.id = id?;
        for item in actions.unwrap_or_default() {
            let (action, diag) = self.action(item);
            if let Some(d) = diag {
                diags.push(tag(d));
            }
            def.actions.push(action);
        }
        Some(def)
    }

    /// One action item. A bad item is kept as [`ActionKind::Invalid`] with its diagnostic:
    /// a rule whose only fault is a bad action still loads.
    fn action(&self, node: &Node) -> (ActionDef, Option<Diagnostic>) {
        let span = self.span(node);
        let invalid = |reason: String, d: Diagnostic| {
            (ActionDef { filter: None, kind: ActionKind::Invalid(reason), span }, Some(d))
        };
        let Some(map) = node.as_mapping() else {
            let msg = "an action must be a mapping";
            return invalid(msg.into(), self.error(codes::INVALID_ACTION, msg, span, "expected a mapping"));
        };
        let mut filter = None;
        let mut present = Vec::new();
        for (k, v) in map.iter() {
            if k.as_str() == "filter" {
                match self.opt_text(k, v) {
                    Ok(t) => filter = t,
                    Err(d) => return invalid(d.message.clone(), with_code(*d, codes::INVALID_ACTION)),
                }
            } else if ACTION_KEYS.contains(&k.as_str()) && !self.is_null(v) {
                present.push((k, v));
            }
        }
        if present.len() != 1 {
            let msg = "only one action can be specified";
            let mut d = self.error(codes::INVALID_ACTION, msg, span, "");
            d.labels[0].text = if present.is_empty() {
                format!("expected one of {}", ACTION_KEYS.join(", "))
            } else {
                "several actions in one item".into()
            };
            for (k, _) in present.iter().skip(1) {
                d = d.with_label(self.text(k).span, "another action");
            }
            return invalid(msg.into(), d);
        }
        let (k, v) = present[0];
        match self.action_kind(k, v) {
            Ok(kind) => (ActionDef { filter, kind, span }, None),
            Err(d) => invalid(d.message.clone(), with_code(*d, codes::INVALID_ACTION)),
        }
    }

    fn action_kind(&self, key: &MarkedScalarNode, node: &Node) -> Res<ActionKind> {
        let map = node.as_mapping().ok_or_else(|| self.type_error(key, node, "a mapping"))?;
        let mut errs = Vec::new();
        let mut texts: BTreeMap<&str, Text> = BTreeMap::new();
        let mut bools: BTreeMap<&str, bool> = BTreeMap::new();
        let mut ints: BTreeMap<&str, i64> = BTreeMap::new();
        let mut values: BTreeMap<&str, YamlValue> = BTreeMap::new();
        let mut ttl = None;
        let (text_keys, bool_keys, int_keys): (&[&str], &[&str], &[&str]) = match key.as_str() {
            "set" => (
                &["name", "scope", "field", "expression", "scope_field"],
                &["append", "private", "inherited"],
                &["size"],
            ),
            "kill" => (&["signal", "scope"], &["disable_container_disarmer", "disable_executable_disarmer"], &[]),
            "hash" => (&["field"], &[], &["max_file_size"]),
            "coredump" => (&[], &["process", "mount", "dentry", "no_compression"], &[]),
            "log" => (&["level", "message"], &[], &[]),
            _ => (&["filter", "policy", "scope"], &[], &[]),
        };
        for (k, v) in map.iter() {
            let name = k.as_str();
            if let Some(&n) = text_keys.iter().find(|&&n| n == name) {
                if let Some(t) = ok(&mut errs, self.opt_text(k, v)).flatten() {
                    texts.insert(n, t);
                }
            } else if let Some(&n) = bool_keys.iter().find(|&&n| n == name) {
                bools.insert(n, ok(&mut errs, self.bool(k, v)).unwrap_or_default());
            } else if let Some(&n) = int_keys.iter().find(|&&n| n == name) {
                if let Some(i) = ok(&mut errs, self.int(k, v)).flatten() {
                    ints.insert(n, i);
                }
            } else if key.as_str() == "set" && (name == "value" || name == "default_value") {
                if !self.is_null(v) {
                    values.insert(if name == "value" { "value" } else { "default_value" }, self.yaml_value(v));
                }
            } else if key.as_str() == "set" && name == "ttl" {
                ttl = ok(&mut errs, self.duration(k, v)).flatten();
            }
        }
        if let Some(first) = errs.into_iter().next() {
            return Err(Box::new(first));
        }
        let b = |n: &str| bools.get(n).copied().unwrap_or(false);
        let mut t = |n: &str| texts.remove(n);
        Ok(match key.as_str() {
            "set" => ActionKind::Set(Box::new(SetAction {
                name: t("name"),
                scope: t("scope"),
                value: values.remove("value"),
                field: t("field"),
                expression: t("expression"),
                default_value: values.remove("default_value"),
                append: b("append"),
                ttl,
                size: ints.get("size").copied(),
                private: b("private"),
                inherited: b("inherited"),
                scope_field: t("scope_field"),
            })),
            "kill" => ActionKind::Kill {
                signal: t("signal"),
                scope: t("scope"),
                disable_container_disarmer: b("disable_container_disarmer"),
                disable_executable_disarmer: b("disable_executable_disarmer"),
            },
            "hash" => ActionKind::Hash { field: t("field"), max_file_size: ints.get("max_file_size").copied() },
            "coredump" => ActionKind::CoreDump {
                process: b("process"),
                mount: b("mount"),
                dentry: b("dentry"),
                no_compression: b("no_compression"),
            },
            "log" => ActionKind::Log { level: t("level"), message: t("message") },
            _ => ActionKind::NetworkFilter { filter: t("filter"), policy: t("policy"), scope: t("scope") },
        })
    }

    // --- scalar decoding, following what Go's yaml.v3 does for each Go type -------------

    fn is_null(&self, node: &Node) -> bool {
        node.as_scalar().is_some_and(|s| s.may_coerce() && matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// A string key: any scalar gives its text; null gives nothing.
    fn opt_text(&self, key: &MarkedScalarNode, node: &Node) -> Res<Option<Text>> {
        match node {
            _ if self.is_null(node) => Ok(None),
            Node::Scalar(s) => Ok(Some(self.text(s))),
            _ => Err(self.type_error(key, node, "a string")),
        }
    }

    fn list<'n>(&self, key: &MarkedScalarNode, node: &'n Node) -> Res<Vec<&'n Node>> {
        match node {
            _ if self.is_null(node) => Ok(Vec::new()),
            Node::Sequence(seq) => Ok(seq.iter().collect()),
            _ => Err(self.type_error(key, node, "a list")),
        }
    }

    fn text_list(&self, key: &MarkedScalarNode, node: &Node) -> Res<Vec<Text>> {
        self.list(key, node)?
            .into_iter()
            .map(|item| match item {
                _ if self.is_null(item) => Ok(Text::synthetic("", self.span(item), self.source.clone())),
                Node::Scalar(s) => Ok(self.text(s)),
                _ => Err(self.type_error(key, item, "a string")),
            })
            .collect()
    }

    fn opt_text_list(&self, key: &MarkedScalarNode, node: &Node) -> Res<Option<Vec<Text>>> {
        if self.is_null(node) { Ok(None) } else { self.text_list(key, node).map(Some) }
    }

    fn string_list(&self, key: &MarkedScalarNode, node: &Node) -> Res<Vec<String>> {
        Ok(self.text_list(key, node)?.into_iter().map(|t| t.value).collect())
    }

    fn string_map(&self, key: &MarkedScalarNode, node: &Node) -> Res<BTreeMap<String, String>> {
        if self.is_null(node) {
            return Ok(BTreeMap::new());
        }
        let map = node.as_mapping().ok_or_else(|| self.type_error(key, node, "a mapping"))?;
        map.iter()
            .map(|(k, v)| match v {
                _ if self.is_null(v) => Ok((k.as_str().to_string(), String::new())),
                Node::Scalar(s) => Ok((k.as_str().to_string(), s.as_str().to_string())),
                _ => Err(self.type_error(k, v, "a string")),
            })
            .collect()
    }

    fn bool(&self, key: &MarkedScalarNode, node: &Node) -> Res<bool> {
        if self.is_null(node) {
            return Ok(false);
        }
        match node.as_scalar().filter(|s| s.may_coerce()).map(|s| s.as_str()) {
            Some("true" | "True" | "TRUE" | "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON") => Ok(true),
            Some("false" | "False" | "FALSE" | "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF") => Ok(false),
            _ => Err(self.type_error(key, node, "a boolean")),
        }
    }

    fn int(&self, key: &MarkedScalarNode, node: &Node) -> Res<Option<i64>> {
        if self.is_null(node) {
            return Ok(None);
        }
        match node.as_scalar().filter(|s| s.may_coerce()).map(|s| resolve_plain(s.as_str())) {
            Some(YamlValue::Int(i)) => Ok(Some(i)),
            Some(YamlValue::Float(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Some(f as i64)),
            _ => Err(self.type_error(key, node, "an integer")),
        }
    }

    fn duration(&self, key: &MarkedScalarNode, node: &Node) -> Res<Option<DurationValue>> {
        match node {
            _ if self.is_null(node) => Ok(None),
            Node::Scalar(s) => match (s.may_coerce(), resolve_plain(s.as_str())) {
                (true, YamlValue::Int(ns)) => Ok(Some(DurationValue::Nanos(ns))),
                _ => Ok(Some(DurationValue::Text(self.text(s)))),
            },
            _ => Err(self.type_error(key, node, "a duration")),
        }
    }

    fn combine(&self, key: &MarkedScalarNode, node: &Node) -> Res<Option<Combine>> {
        match node.as_scalar().map(|s| s.as_str()) {
            _ if self.is_null(node) => Ok(None),
            Some("merge") => Ok(Some(Combine::Merge)),
            Some("override") => Ok(Some(Combine::Override)),
            _ => Err(self.type_error(key, node, "`merge` or `override`")),
        }
    }

    fn override_options(&self, key: &MarkedScalarNode, node: &Node) -> Res<Vec<String>> {
        if self.is_null(node) {
            return Ok(Vec::new());
        }
        let map = node.as_mapping().ok_or_else(|| self.type_error(key, node, "a mapping with `fields`"))?;
        match map.iter().find(|(k, _)| k.as_str() == "fields") {
            Some((k, v)) => self.string_list(k, v),
            None => Ok(Vec::new()),
        }
    }

    fn yaml_value(&self, node: &Node) -> YamlValue {
        match node {
            Node::Scalar(s) if s.may_coerce() => resolve_plain(s.as_str()),
            Node::Scalar(s) => YamlValue::String(s.as_str().to_string()),
            Node::Sequence(seq) => YamlValue::List(seq.iter().map(|n| self.yaml_value(n)).collect()),
            Node::Mapping(map) => {
                YamlValue::Map(map.iter().map(|(k, v)| (k.as_str().to_string(), self.yaml_value(v))).collect())
            }
        }
    }
}

fn with_code(mut d: Diagnostic, code: Code) -> Diagnostic {
    d.code = code;
    d
}

/// The type YAML 1.2 (as Go's yaml.v3 resolves it) gives a plain scalar.
pub(crate) fn resolve_plain(s: &str) -> YamlValue {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return YamlValue::Null,
        "true" | "True" | "TRUE" => return YamlValue::Bool(true),
        "false" | "False" | "FALSE" => return YamlValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return YamlValue::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return YamlValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return YamlValue::Float(f64::NAN),
        _ => {}
    }
    if !s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return YamlValue::String(s.to_string());
    }
    let plain = s.replace('_', "");
    if let Some(i) = parse_go_int(&plain) {
        return YamlValue::Int(i);
    }
    if is_yaml_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return YamlValue::Float(f);
    }
    YamlValue::String(s.to_string())
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, then `0x`, `0o`, `0b`, a leading `0`
/// (octal) or decimal digits.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg { 0i64.checked_sub_unsigned(magnitude) } else { i64::try_from(magnitude).ok() }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_like_yaml_v3() {
        assert_eq!(resolve_plain("12"), YamlValue::Int(12));
        assert_eq!(resolve_plain("-0x10"), YamlValue::Int(-16));
        assert_eq!(resolve_plain("017"), YamlValue::Int(15));
        assert_eq!(resolve_plain("1_000"), YamlValue::Int(1000));
        assert_eq!(resolve_plain("1.2"), YamlValue::Float(1.2));
        assert_eq!(resolve_plain("1.2.3"), YamlValue::String("1.2.3".into()));
        assert_eq!(resolve_plain("10s"), YamlValue::String("10s".into()));
        assert_eq!(resolve_plain("True"), YamlValue::Bool(true));
        assert_eq!(resolve_plain("yes"), YamlValue::String("yes".into()));
        assert_eq!(resolve_plain("~"), YamlValue::Null);
        assert_eq!(resolve_plain("-9223372036854775808"), YamlValue::Int(i64::MIN));
    }
}

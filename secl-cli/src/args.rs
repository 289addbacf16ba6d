//! A small command-line parser: `--flag value`, `--flag=value`, switches and positionals.
//! Enough for our subcommands, and it keeps the binary quick to build.

use std::collections::BTreeMap;

pub struct Args {
    pub positionals: Vec<String>,
    values: BTreeMap<String, Vec<String>>,
    switches: Vec<String>,
}

pub struct Spec<'a> {
    /// Flags that take a value.
    pub valued: &'a [&'a str],
    /// Flags that do not.
    pub switches: &'a [&'a str],
}

impl Args {
    pub fn parse(raw: &[String], spec: &Spec<'_>) -> Result<Args, String> {
        let mut args = Args { positionals: Vec::new(), values: BTreeMap::new(), switches: Vec::new() };
        let mut it = raw.iter();
        let mut only_positionals = false;
        while let Some(a) = it.next() {
            if only_positionals || !a.starts_with("--") || a == "-" {
                args.positionals.push(a.clone());
                continue;
            }
            if a == "--" {
                only_positionals = true;
                continue;
            }
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (a.as_str(), None),
            };
            let name = name.trim_start_matches("--");
            if spec.valued.contains(&name) {
                let v = match inline {
                    Some(v) => v,
                    None => it.next().cloned().ok_or_else(|| format!("`--{name}` needs a value"))?,
                };
                args.values.entry(name.to_owned()).or_default().push(v);
            } else if spec.switches.contains(&name) && inline.is_none() {
                args.switches.push(name.to_owned());
            } else {
                return Err(format!("unknown option `--{name}`"));
            }
        }
        Ok(args)
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    pub fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

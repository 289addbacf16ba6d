//! Borrowed runtime values: what the VM computes with. Strings and arrays borrow from the
//! event, the compiled program or the variable store; only interpolation allocates.

use crate::event::{StrList, Value};
use crate::value::ip::IpNet;
use crate::vars::Item;
use std::borrow::Cow;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub enum Val<'a> {
    Bool(bool),
    Int(i64),
    Str(Cow<'a, str>),
    Ip(IpNet),
    Bools(&'a [bool]),
    Ints(&'a [i64]),
    Strs(StrList<'a>),
    LitStrs(&'a [Arc<str>]),
    Ips(&'a [IpNet]),
    /// An array variable: its live items (expired ones are skipped on read).
    Items(&'a [Item], i64),
    /// The zero value of an array type.
    Empty,
}

impl<'a> Val<'a> {
    #[inline]
    pub fn from_event(v: Value<'a>, zero: crate::ir::Ty) -> Val<'a> {
        match v {
            Value::Missing => Val::zero(zero),
            Value::Bool(b) => Val::Bool(b),
            Value::Int(i) => Val::Int(i),
            Value::Str(s) => Val::Str(Cow::Borrowed(s)),
            Value::Ip(ip) => Val::Ip(ip),
            Value::Bools(v) => Val::Bools(v),
            Value::Ints(v) => Val::Ints(v),
            Value::Strs(v) => Val::Strs(v),
            Value::Ips(v) => Val::Ips(v),
        }
    }

    pub fn zero(ty: crate::ir::Ty) -> Val<'a> {
        use crate::ir::Ty;
        match ty {
            Ty::Bool => Val::Bool(false),
            Ty::Int => Val::Int(0),
            Ty::Str => Val::Str(Cow::Borrowed("")),
            Ty::Ip => Val::Ip(IpNet::default()),
            _ => Val::Empty,
        }
    }

    pub fn as_bool(&self) -> bool {
        matches!(self, Val::Bool(true))
    }

    pub fn as_int(&self) -> i64 {
        match self {
            Val::Int(i) => *i,
            _ => 0,
        }
    }

    pub fn is_array(&self) -> bool {
        !matches!(self, Val::Bool(_) | Val::Int(_) | Val::Str(_) | Val::Ip(_))
    }

    fn live(items: &'a [Item], now: i64) -> impl Iterator<Item = &'a Item> + 'a {
        items.iter().filter(move |i| i.expires_at.is_none_or(|e| e > now))
    }

    pub fn any_str(&self, mut f: impl FnMut(&str) -> bool) -> bool {
        match self {
            Val::Str(s) => f(s),
            Val::Strs(l) => l.iter().any(f),
            Val::LitStrs(l) => l.iter().any(|s| f(s)),
            Val::Items(items, now) => Val::live(items, *now).any(|i| i.value.as_str().is_some_and(&mut f)),
            _ => false,
        }
    }

    pub fn any_int(&self, mut f: impl FnMut(i64) -> bool) -> bool {
        match self {
            Val::Int(i) => f(*i),
            Val::Ints(l) => l.iter().any(|i| f(*i)),
            Val::Items(items, now) => Val::live(items, *now).any(|i| i.value.as_int().is_some_and(&mut f)),
            _ => false,
        }
    }

    pub fn any_bool(&self, mut f: impl FnMut(bool) -> bool) -> bool {
        match self {
            Val::Bool(b) => f(*b),
            Val::Bools(l) => l.iter().any(|b| f(*b)),
            Val::Items(items, now) => Val::live(items, *now).any(|i| i.value.as_bool().is_some_and(&mut f)),
            _ => false,
        }
    }

    pub fn any_ip(&self, mut f: impl FnMut(&IpNet) -> bool) -> bool {
        match self {
            Val::Ip(ip) => f(ip),
            Val::Ips(l) => l.iter().any(f),
            Val::Items(items, now) => Val::live(items, *now).any(|i| i.value.as_ip().is_some_and(|ip| f(&ip))),
            _ => false,
        }
    }

    pub fn all_ip(&self, mut f: impl FnMut(&IpNet) -> bool) -> bool {
        match self {
            Val::Ip(ip) => f(ip),
            Val::Ips(l) => l.iter().all(f),
            Val::Items(items, now) => Val::live(items, *now).all(|i| i.value.as_ip().is_some_and(|ip| f(&ip))),
            _ => true,
        }
    }

    /// `.length`: bytes of a string, elements of an array.
    pub fn length(&self) -> i64 {
        (match self {
            Val::Str(s) => s.len(),
            Val::Bools(v) => v.len(),
            Val::Ints(v) => v.len(),
            Val::Strs(v) => v.len(),
            Val::LitStrs(v) => v.len(),
            Val::Ips(v) => v.len(),
            Val::Items(items, now) => Val::live(items, *now).count(),
            _ => 0,
        }) as i64
    }

    /// Text form for interpolation: arrays joined with `,` (SPEC §8.4).
    pub fn write_text(&self, out: &mut String) {
        use std::fmt::Write;
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !first {
                out.push(',');
            }
            first = false;
        };
        match self {
            Val::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Val::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Val::Str(s) => out.push_str(s),
            Val::Ip(ip) => {
                let _ = write!(out, "{ip}");
            }
            Val::Empty => {}
            Val::Items(items, now) => {
                for i in Val::live(items, *now) {
                    sep(out);
                    i.value.write_text(out);
                }
            }
            _ => {
                self.any_str(|s| {
                    sep(out);
                    out.push_str(s);
                    false
                });
                self.any_int(|i| {
                    sep(out);
                    let _ = write!(out, "{i}");
                    false
                });
                self.any_bool(|b| {
                    sep(out);
                    let _ = write!(out, "{b}");
                    false
                });
                if self.any_ip(|ip| {
                    sep(out);
                    let _ = write!(out, "{ip}");
                    false
                }) {}
            }
        }
    }
}

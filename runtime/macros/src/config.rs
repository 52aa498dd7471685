//! The attribute's arguments, `flavor`, `worker_threads`, `start_paused` and `crate`, checked
//! into a [`Config`].
//!
//! Parsing never stops at the first bad argument: every argument is checked, each mistake
//! becomes a `syn::Error` spanned at the offending argument or value, and the arguments that
//! were fine still shape the config the function is expanded with. So a typo in `flavor`
//! does not also lose a `crate = "..."` rename and bury the real error under unresolved paths.

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitBool, LitInt, LitStr, Meta, MetaNameValue, Path, Token};

/// Which attribute is expanding; they differ only in the default flavor and in their name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[runtime::main]`: multi-thread unless told otherwise.
    Main,
    /// `#[runtime::test]`: current-thread unless told otherwise.
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "main",
            Kind::Test => "test",
        }
    }

    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

/// The executor the body runs on: the `Builder` constructor the expansion calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// Everything the expansion needs from the arguments.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) flavor: Flavor,
    /// A `usize` literal carrying the user's span, emitted only for the multi-thread flavor.
    pub(crate) worker_threads: Option<Literal>,
    /// `start_paused = true`: the runtime's clock starts paused (virtual time).
    pub(crate) start_paused: bool,
    /// The path the runtime crate is reached by; `::runtime` unless `crate = "..."` renames it.
    pub(crate) crate_path: TokenStream,
}

/// Parses the attribute's arguments into the best config they allow, adding every mistake
/// found to `errors`.
pub(crate) fn parse(kind: Kind, args: TokenStream, errors: &mut Errors) -> Config {
    let mut seen = Seen::default();
    let all = |input: ParseStream<'_>| {
        Punctuated::<Meta, Token![,]>::parse_terminated_with(input, argument)
    };
    match all.parse2(args) {
        Ok(metas) => {
            for meta in metas {
                errors.push(seen.record(meta));
            }
        }
        Err(e) => errors.push(Err(e)),
    }
    seen.resolve(kind, errors)
}

/// One `name = value` argument, as syn's `Meta` parses it, except that `name =` with no
/// value is an error at `name =` rather than at the end of the whole attribute.
fn argument(input: ParseStream<'_>) -> syn::Result<Meta> {
    let fork = input.fork();
    if let (Ok(name), Ok(eq)) = (fork.call(Ident::parse_any), fork.parse::<Token![=]>()) {
        if fork.is_empty() || fork.peek(Token![,]) {
            let msg = format!("`{name}` needs a value after the `=`");
            return Err(syn::Error::new_spanned(quote!(#name #eq), msg));
        }
    }
    input.parse()
}

/// The arguments seen so far, each kept with its tokens so later checks can point at it.
#[derive(Default)]
struct Seen {
    flavor: Option<(Flavor, MetaNameValue)>,
    /// A `flavor` argument was given but rejected: the flavor the user meant is unknown.
    bad_flavor: bool,
    worker_threads: Option<(Literal, MetaNameValue)>,
    start_paused: Option<LitBool>,
    crate_path: Option<Path>,
}

impl Seen {
    /// Checks one `name = value` argument and stores it.
    fn record(&mut self, meta: Meta) -> syn::Result<()> {
        let arg = match meta {
            Meta::NameValue(arg) => arg,
            Meta::Path(path) => return Err(bare_word(&path)),
            Meta::List(list) => {
                let msg = "expected an argument of the form `name = value`";
                return Err(syn::Error::new_spanned(list, msg));
            }
        };
        let name = arg
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match name.as_str() {
            "flavor" => {
                once(&self.flavor, &arg)?;
                let parsed = flavor(&arg.value);
                self.bad_flavor = parsed.is_err();
                self.flavor = Some((parsed?, arg));
            }
            "worker_threads" => {
                once(&self.worker_threads, &arg)?;
                self.worker_threads = Some((worker_threads(&arg.value)?, arg));
            }
            "start_paused" => {
                once(&self.start_paused, &arg)?;
                self.start_paused = Some(start_paused(&arg.value)?);
            }
            "crate" => {
                once(&self.crate_path, &arg)?;
                self.crate_path = Some(crate_path(&arg.value)?);
            }
            _ => return Err(syn::Error::new_spanned(&arg.path, unknown(&arg.path))),
        }
        Ok(())
    }

    /// Applies the defaults and the checks that involve more than one argument.
    fn resolve(self, kind: Kind, errors: &mut Errors) -> Config {
        let flavor = self
            .flavor
            .as_ref()
            .map_or(kind.default_flavor(), |(f, _)| *f);
        let worker_threads = match self.worker_threads {
            // Unless the flavor was rejected: the user may well have meant multi_thread.
            Some((_, arg)) if flavor == Flavor::CurrentThread && !self.bad_flavor => {
                let explicit = self.flavor.is_some();
                let msg = needs_multi(kind, explicit);
                errors.push(Err(syn::Error::new_spanned(arg, msg)));
                None
            }
            Some(_) if flavor == Flavor::CurrentThread => None,
            other => other.map(|(n, _)| n),
        };
        let crate_path = match self.crate_path {
            Some(path) => path.into_token_stream(),
            None => quote!(::runtime),
        };
        Config {
            flavor,
            worker_threads,
            start_paused: self.start_paused.is_some_and(|b| b.value),
            crate_path,
        }
    }
}

/// Rejects a second occurrence of an argument, pointing at the second one.
fn once<T>(slot: &Option<T>, arg: &MetaNameValue) -> syn::Result<()> {
    match slot {
        Some(_) => {
            let msg = format!("`{}` is given more than once", name_of(&arg.path));
            Err(syn::Error::new_spanned(arg, msg))
        }
        None => Ok(()),
    }
}

fn flavor(value: &Expr) -> syn::Result<Flavor> {
    let msg = r#"`flavor` expects a string literal: "current_thread" or "multi_thread""#;
    let lit = string_literal(value, msg)?;
    match lit.value().as_str() {
        "current_thread" => Ok(Flavor::CurrentThread),
        "multi_thread" => Ok(Flavor::MultiThread),
        other => {
            let msg = format!(
                r#"unknown runtime flavor `{other}`; expected "current_thread" or "multi_thread""#
            );
            Err(syn::Error::new(lit.span(), msg))
        }
    }
}

fn worker_threads(value: &Expr) -> syn::Result<Literal> {
    let msg = "`worker_threads` expects an integer literal of at least 1, such as `4`";
    let lit: &LitInt = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit),
            attrs,
        }) if attrs.is_empty() => lit,
        _ => return Err(syn::Error::new_spanned(value, msg)),
    };
    let too_few = || syn::Error::new_spanned(value, "`worker_threads` must be at least 1");
    if lit.base10_digits().starts_with('-') {
        return Err(too_few());
    }
    let n = lit
        .base10_parse::<usize>()
        .map_err(|_| syn::Error::new(lit.span(), "`worker_threads` is too large for a usize"))?;
    if n == 0 {
        return Err(too_few());
    }
    // Unsuffixed, so a `4u8` the user wrote still meets `worker_threads(usize)`.
    let mut out = Literal::usize_unsuffixed(n);
    out.set_span(lit.span());
    Ok(out)
}

fn start_paused(value: &Expr) -> syn::Result<LitBool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(lit),
            attrs,
        }) if attrs.is_empty() => Ok(lit.clone()),
        _ => Err(syn::Error::new_spanned(
            value,
            "`start_paused` expects `true` or `false`",
        )),
    }
}

fn crate_path(value: &Expr) -> syn::Result<Path> {
    let msg = "`crate` expects a string literal holding a path, such as `\"::my_runtime\"`";
    let lit = string_literal(value, msg)?;
    // `LitStr::parse` gives the path's tokens the literal's span, so an unresolved
    // path is reported at the string the user wrote.
    lit.parse::<Path>().map_err(|e| {
        let msg = format!("`crate` expects a path, such as `\"::my_runtime\"`: {e}");
        syn::Error::new(lit.span(), msg)
    })
}

fn string_literal<'a>(value: &'a Expr, msg: &str) -> syn::Result<&'a LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit),
            attrs,
        }) if attrs.is_empty() => Ok(lit),
        _ => Err(syn::Error::new_spanned(value, msg)),
    }
}

/// The error for an argument written without `= value`, steering towards the right form.
fn bare_word(path: &Path) -> syn::Error {
    let name = name_of(path);
    let msg = match name.as_str() {
        "current_thread" | "multi_thread" => {
            format!("to pick the runtime flavor, write `flavor = \"{name}\"`")
        }
        "flavor" => r#"`flavor` needs a value: `flavor = "current_thread"`"#.to_owned(),
        "worker_threads" => "`worker_threads` needs a value: `worker_threads = 4`".to_owned(),
        "start_paused" => "`start_paused` needs a value: `start_paused = true`".to_owned(),
        "crate" => r#"`crate` needs a value: `crate = "::my_runtime"`"#.to_owned(),
        _ => unknown(path),
    };
    syn::Error::new_spanned(path, msg)
}

fn unknown(path: &Path) -> String {
    format!(
        "unknown argument `{}`; expected `flavor`, `worker_threads`, `start_paused` or `crate`",
        name_of(path)
    )
}

fn needs_multi(kind: Kind, explicit_current_thread: bool) -> String {
    let name = kind.name();
    if explicit_current_thread {
        format!(
            "`worker_threads` cannot be used with `flavor = \"current_thread\"`, which runs \
             everything on the calling thread; use `#[runtime::{name}(flavor = \"multi_thread\", \
             worker_threads = N)]`"
        )
    } else {
        format!(
            "`worker_threads` needs the multi-thread flavor, and `#[runtime::{name}]` defaults to \
             current_thread; use `#[runtime::{name}(flavor = \"multi_thread\", worker_threads = N)]`"
        )
    }
}

fn name_of(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// Every mistake found, combined so that each is reported at its own span.
#[derive(Debug, Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Keeps the error of `result`, if it has one.
    pub(crate) fn push(&mut self, result: syn::Result<()>) {
        if let Err(e) = result {
            match &mut self.0 {
                Some(all) => all.combine(e),
                None => self.0 = Some(e),
            }
        }
    }

    /// Appends one `compile_error!` per mistake to `tokens`.
    pub(crate) fn emit_into(self, tokens: &mut TokenStream) {
        if let Some(e) = self.0 {
            tokens.extend(e.into_compile_error());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(kind: Kind, args: &str) -> (Config, Vec<String>) {
        let mut errors = Errors::default();
        let config = parse(kind, args.parse().unwrap(), &mut errors);
        let messages = errors
            .0
            .into_iter()
            .flatten()
            .map(|e| e.to_string())
            .collect();
        (config, messages)
    }

    #[test]
    fn main_defaults_to_multi_thread_and_runtime() {
        let (config, errors) = parse_str(Kind::Main, "");
        assert_eq!(config.flavor, Flavor::MultiThread);
        assert!(config.worker_threads.is_none());
        assert_eq!(config.crate_path.to_string(), ":: runtime");
        assert!(errors.is_empty());
    }

    #[test]
    fn test_defaults_to_current_thread() {
        let (config, errors) = parse_str(Kind::Test, "");
        assert_eq!(config.flavor, Flavor::CurrentThread);
        assert!(errors.is_empty());
    }

    #[test]
    fn every_argument_is_applied() {
        let args = r#"flavor = "multi_thread", worker_threads = 3u8, crate = "::my::rt""#;
        let (config, errors) = parse_str(Kind::Test, args);
        assert_eq!(config.flavor, Flavor::MultiThread);
        assert_eq!(
            config.worker_threads.map(|n| n.to_string()).as_deref(),
            Some("3")
        );
        assert_eq!(config.crate_path.to_string(), ":: my :: rt");
        assert!(errors.is_empty());
    }

    // What IDEs see when the arguments are wrong: every mistake reported, and the arguments
    // that were fine still applied, so the body resolves against the renamed crate.
    #[test]
    fn mistakes_keep_the_good_arguments() {
        let args = r#"crate = "my_rt", flavor = "bogus", worker_threads = 2, nope = 1"#;
        let (config, errors) = parse_str(Kind::Main, args);
        assert_eq!(config.crate_path.to_string(), "my_rt");
        assert_eq!(config.flavor, Flavor::MultiThread);
        assert_eq!(
            config.worker_threads.map(|n| n.to_string()).as_deref(),
            Some("2")
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    // A misspelt flavor is one mistake, not also a `worker_threads` conflict with the
    // default flavor.
    #[test]
    fn bad_flavor_is_not_a_worker_threads_conflict() {
        let args = r#"flavor = "multi-thread", worker_threads = 2"#;
        let (config, errors) = parse_str(Kind::Test, args);
        assert_eq!(config.flavor, Flavor::CurrentThread);
        assert!(config.worker_threads.is_none());
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn worker_threads_is_dropped_with_current_thread() {
        let (config, errors) = parse_str(Kind::Test, "worker_threads = 2");
        assert_eq!(config.flavor, Flavor::CurrentThread);
        assert!(config.worker_threads.is_none());
        assert_eq!(errors.len(), 1);
    }
}

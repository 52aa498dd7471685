//! The annotated function: parsed without parsing its body, checked, and rewritten into a
//! synchronous function that builds a runtime and blocks on the body.
//!
//! ```text
//! #[runtime::main(worker_threads = 2)]
//! async fn main() -> io::Result<()> { BODY }
//!
//! fn main() -> io::Result<()> {
//!     let body = async move { BODY };
//!     let mut body = ::core::pin::pin!(body);
//!     let body: Pin<&mut dyn Future<Output = io::Result<()>>> = body.as_mut();
//!     #[allow(clippy::expect_used, ..)]
//!     {
//!         let runtime = ::runtime::Builder::new_multi_thread()
//!             .worker_threads(2)
//!             .build()
//!             .expect("failed to build the runtime");
//!         return runtime.block_on(body);
//!     }
//! }
//! ```
//!
//! `#[runtime::test]` expands the same way (current-thread by default) and adds
//! `#[::core::prelude::v1::test]` after the function's own attributes. It also seeds the
//! runtime's scheduler: `let __runtime_test_seed = ::runtime::__private::TestSeed::new();`
//! (from `RUNTIME_TEST_SEED`, else random) before the runtime, `.rng_seed(..)` on the
//! builder; the guard prints the seed if the test panics. `start_paused = true` adds
//! `.start_paused(true)`.
//!
//! The body is never parsed: its tokens move into the async block untouched, spans and all,
//! so `return` and `?` act on the body's future and errors in it point at the user's code.
//! Pinning the body behind `dyn Future<Output = R>`, `R` the return type, states the body's
//! type up front: a `?` knows the error type to convert into, a body of the wrong type is
//! reported at its last statement, and all tests share one `block_on` instance. (Not for an
//! `R` that is `!` or names an `impl Trait`, which cannot appear there; `block_on`'s output
//! is then checked against `R` by the `return`.)
//!
//! If anything is wrong, the function is still emitted, expanded with the best config the
//! arguments allow, followed by one `compile_error!` per mistake: IDEs keep resolving the
//! body, and the user sees our errors rather than "`main` function is not allowed to be
//! `async`". Only input that is not a function at all comes back untouched.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::{AttrStyle, Attribute, Meta, ReturnType, Signature, Type, Visibility, braced, token};

use crate::config::{self, Config, Errors, Flavor, Kind};

/// Expands `#[runtime::main]` or `#[runtime::test]` with arguments `args` on `item`.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let input: ItemFn = match syn::parse2(item.clone()) {
        Ok(input) => input,
        Err(e) => {
            let mut tokens = item;
            errors.push(Err(e));
            errors.emit_into(&mut tokens);
            return tokens;
        }
    };
    let config = config::parse(kind, args, &mut errors);
    check_signature(kind, &input.sig, &mut errors);
    let test_attr = match kind {
        Kind::Main => false,
        Kind::Test => check_no_test_attr(&input.outer_attrs, &mut errors),
    };
    let mut tokens = input.expand(&config, kind, test_attr);
    errors.emit_into(&mut tokens);
    tokens
}

/// The function must be `async`, and take no arguments if it is a test or `main`.
fn check_signature(kind: Kind, sig: &Signature, errors: &mut Errors) {
    if sig.asyncness.is_none() {
        let msg = "the `async` keyword is missing from the function declaration";
        errors.push(Err(syn::Error::new_spanned(sig.fn_token, msg)));
    }
    if sig.inputs.is_empty() {
        return;
    }
    // `#[runtime::main]` on another function (a sync entry point into async code) may take
    // arguments: the body's future captures them.
    let msg = match kind {
        Kind::Test => "test functions cannot take arguments",
        Kind::Main if sig.ident == "main" => "the `main` function cannot take arguments",
        Kind::Main => return,
    };
    errors.push(Err(syn::Error::new_spanned(&sig.inputs, msg)));
}

/// Rejects a `#[test]` next to `#[runtime::test]`, which adds its own; returns whether ours
/// should be added (not when there already is one, so rustc does not report it twice).
fn check_no_test_attr(attrs: &[Attribute], errors: &mut Errors) -> bool {
    let Some(attr) = attrs.iter().find(|attr| is_test_attr(attr)) else {
        return true;
    };
    let msg = "`#[runtime::test]` already adds `#[test]`; remove this attribute";
    errors.push(Err(syn::Error::new_spanned(attr, msg)));
    false
}

/// `#[test]`, or a prelude path to it such as `#[core::prelude::v1::test]` or
/// `#[::std::prelude::rust_2024::test]`.
fn is_test_attr(attr: &Attribute) -> bool {
    let Meta::Path(path) = &attr.meta else {
        return false;
    };
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match names.as_slice() {
        [test] => path.leading_colon.is_none() && test == "test",
        [krate, prelude, _, test] => {
            (krate == "core" || krate == "std") && prelude == "prelude" && test == "test"
        }
        _ => false,
    }
}

/// An `async fn` with its body kept as unparsed tokens.
struct ItemFn {
    outer_attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    brace: token::Brace,
    /// `#![...]` at the top of the body; an async block cannot hold them, so they move out.
    inner_attrs: Vec<Attribute>,
    body: TokenStream,
}

impl Parse for ItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let outer_attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let body = content.parse()?;
        Ok(ItemFn {
            outer_attrs,
            vis,
            sig,
            brace,
            inner_attrs,
            body,
        })
    }
}

impl ItemFn {
    /// The synchronous function that runs this one's body on a runtime built per `config`.
    fn expand(mut self, config: &Config, kind: Kind, test_attr: bool) -> TokenStream {
        let here = Located::last_statement(&self.body);
        let pin = self.pin_body(here);
        let run = Self::run_body(config, kind, here);
        let brace = self.brace;
        let body = self.async_body();

        let mut tokens = TokenStream::new();
        for attr in &self.outer_attrs {
            attr.to_tokens(&mut tokens);
        }
        for mut attr in self.inner_attrs {
            attr.style = AttrStyle::Outer;
            attr.to_tokens(&mut tokens);
        }
        if test_attr {
            // After the user's attributes, so attribute macros among them do not see it.
            tokens.extend(quote!(#[::core::prelude::v1::test]));
        }
        self.vis.to_tokens(&mut tokens);
        self.sig.asyncness = None;
        self.sig.to_tokens(&mut tokens);
        brace.surround(&mut tokens, |tokens| {
            tokens.extend(quote! {
                let body = #body;
                #pin
                #run
            });
        });
        tokens
    }

    /// `async move { BODY }`, located at the body's opening brace, so that diagnostics which
    /// name the future's type (`{async block@src/main.rs:2:17: 2:18}`) point at the body
    /// rather than at the attribute.
    fn async_body(&mut self) -> TokenStream {
        let at = Span::call_site().located_at(self.brace.span.open());
        let mut tokens = quote_spanned!(at=> async move);
        let body = std::mem::take(&mut self.body);
        self.brace
            .surround(&mut tokens, |tokens| tokens.extend(body));
        tokens
    }

    /// Pins `body` as a `Pin<&mut dyn Future<Output = R>>`, `R` the function's return type,
    /// unless `R` cannot be written there (see the module docs).
    fn pin_body(&self, here: Located) -> TokenStream {
        let output = match &self.sig.output {
            ReturnType::Default => quote!(()),
            ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) => return TokenStream::new(),
            ReturnType::Type(_, ty) => ty.to_token_stream(),
        };
        if mentions_impl(output.clone()) {
            return TokenStream::new();
        }
        let body = quote_spanned!(here.start=> body);
        let call = quote_spanned!(here.end=> ());
        quote! {
            let mut body = ::core::pin::pin!(body);
            let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #output>> =
                #body.as_mut #call;
        }
    }

    /// Builds the runtime and blocks on `body`, returning its output.
    fn run_body(config: &Config, kind: Kind, here: Located) -> TokenStream {
        let krate = &config.crate_path;
        // A test's scheduling seed, printed if the test panics (the guard outlives the
        // runtime, so it sees the unwinding).
        let (seed, seed_guard) = match kind {
            Kind::Main => (None, TokenStream::new()),
            Kind::Test => (
                Some(quote!(__runtime_test_seed)),
                quote!(let __runtime_test_seed = #krate::__private::TestSeed::new();),
            ),
        };
        let build = build_runtime(config, seed.as_ref());
        let runtime = quote_spanned!(here.start=> runtime);
        let block_on = quote_spanned!(here.end=> .block_on(body));
        // A statement rather than the function's tail expression, because only a statement
        // can carry `#[allow]`; hence the `return`. It also means a stray `;` at the end of
        // the body cannot make the expansion drop the body's value (tokio-rs/tokio#4635).
        quote! {
            #[allow(
                clippy::expect_used,
                clippy::diverging_sub_expression,
                clippy::needless_return,
                reason = "code generated by the runtime's entry-point attribute"
            )]
            {
                #seed_guard
                let runtime = #build.expect("failed to build the runtime");
                return #runtime #block_on;
            }
        }
    }
}

/// The expression that builds the runtime, an `io::Result<Runtime>`: the one place each
/// flavor's builder calls are spelled out. A test's runtime is seeded with `seed`.
fn build_runtime(config: &Config, seed: Option<&TokenStream>) -> TokenStream {
    let krate = &config.crate_path;
    let mut options = TokenStream::new();
    if let (Flavor::MultiThread, Some(n)) = (config.flavor, &config.worker_threads) {
        options.extend(quote!(.worker_threads(#n)));
    }
    if config.start_paused {
        options.extend(quote!(.start_paused(true)));
    }
    if let Some(seed) = seed {
        options.extend(quote!(.rng_seed(#seed.rng_seed())));
    }
    match config.flavor {
        // A `LocalRuntime`: it never leaves this thread, so `spawn_local` works in the body.
        Flavor::CurrentThread => {
            quote!(#krate::Builder::new_current_thread() #options.build_local())
        }
        Flavor::MultiThread => quote!(#krate::Builder::new_multi_thread() #options.build()),
    }
}

/// Where generated code that type-checks the body's value is reported: the first and the
/// last token of the body's last statement, with the hygiene of the macro's call site.
///
/// A call written as `first_token(..last_token)` spans the whole statement, so an error
/// about the body's type underlines the statement that produced it. The call-site hygiene
/// marks the code as generated, so lints such as `unused_qualifications` skip it.
#[derive(Clone, Copy)]
struct Located {
    start: Span,
    end: Span,
}

impl Located {
    /// Statements are found by their top-level `;`s, which is all spans need. An empty body
    /// gives the call site.
    fn last_statement(body: &TokenStream) -> Located {
        let tokens: Vec<TokenTree> = body.clone().into_iter().collect();
        let Some((last, before)) = tokens.split_last() else {
            return Located {
                start: Span::call_site(),
                end: Span::call_site(),
            };
        };
        let is_semi = |t: &TokenTree| matches!(t, TokenTree::Punct(p) if p.as_char() == ';');
        let first = before.iter().rposition(is_semi).map_or(0, |i| i + 1);
        Located {
            start: Span::call_site().located_at(tokens[first].span()),
            end: Span::call_site().located_at(last.span()),
        }
    }
}

/// Whether `tokens` contain the `impl` keyword at any depth.
fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl(group.stream()),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built_with(kind: Kind, args: &str) -> String {
        let mut errors = Errors::default();
        let config = config::parse(kind, args.parse().unwrap(), &mut errors);
        build_runtime(&config, None).to_string()
    }

    // The builder calls each flavor expands to; the flavor tests show what they run on, and
    // this pins the worker count, which a machine with enough cores cannot tell from the
    // default.
    #[test]
    fn each_flavor_builds_with_its_builder_calls() {
        let current = ":: runtime :: Builder :: new_current_thread () . build_local ()";
        let multi = ":: runtime :: Builder :: new_multi_thread () . build ()";
        assert_eq!(built_with(Kind::Main, ""), multi);
        assert_eq!(built_with(Kind::Test, r#"flavor = "multi_thread""#), multi);
        assert_eq!(built_with(Kind::Test, ""), current);
        assert_eq!(
            built_with(Kind::Main, r#"flavor = "current_thread""#),
            current
        );
        assert_eq!(
            built_with(Kind::Main, r#"worker_threads = 3, crate = "rt""#),
            "rt :: Builder :: new_multi_thread () . worker_threads (3) . build ()"
        );
        assert_eq!(
            built_with(Kind::Test, "start_paused = true"),
            ":: runtime :: Builder :: new_current_thread () . start_paused (true) . build_local ()"
        );
        assert_eq!(built_with(Kind::Test, "start_paused = false"), current);
    }
}

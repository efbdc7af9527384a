//! A route table as an allowlist for servers that match with PCRE (nginx, HAProxy): exact
//! static paths for a hash or tree lookup, and anchored byte-level regexes for the rest,
//! grouped so that a request meets only the regexes of its own first segments.
//!
//! The regexes match the *percent-decoded path as bytes*, exactly as Werkzeug's converters
//! match it as code points: Unicode classes become UTF-8 byte sequences, invalid UTF-8
//! matches where Werkzeug's U+FFFD would, and a part-isolating converter never crosses `/`.
//! Each emitter decides how to feed them the decoded path and how to lay the tables out in
//! its own configuration language.
//!
//! # Example
//!
//! ```
//! use routewall_allowlist::build;
//! use routewall_core::{CodeChecks, Converter, Param, Route, RouteTable, Segment};
//!
//! let table = RouteTable::new("flask", "app")
//!     .with_route(Route::new("about", "/about", vec![Segment::text("/about")]))
//!     .with_route(Route::new(
//!         "user",
//!         "/user/<int:id>",
//!         vec![
//!             Segment::text("/user/"),
//!             Segment::Param(Param::new("id", Converter::new("int", "[0-9]+"))),
//!         ],
//!     ));
//! let layout = build(&table, false, CodeChecks::Allow)?;
//! let paths = &layout.tables[0];
//! assert!(paths.statics.contains("/about"));
//! assert_eq!(paths.groups["user"].rest, [r"^/user/[\x30-\x39]++\z"]);
//! # Ok::<(), routewall_allowlist::Untranslatable>(())
//! ```

mod layout;
pub mod pattern;
mod unicode;

pub use layout::tree::{
    self, NativeSegment, Node, Regex, Step, Tree, build_native_tree, build_tree,
};
pub use layout::{
    Group, Join, Layout, MAX_REGEX_BYTES, Part, Table, build, build_unicode, build_with,
};
pub use pattern::{DefinitionStyle, SegmentItem};
pub use unicode::{PcreUnicode, VALID_UTF8_GUARD};

impl From<Untranslatable> for routewall_core::EmitError {
    fn from(e: Untranslatable) -> Self {
        routewall_core::EmitError::Unsupported {
            rule: e.rule,
            endpoint: e.endpoint,
            reason: e.reason,
        }
    }
}

/// A rule that cannot be translated exactly: the emitter refuses the whole table rather
/// than allow a wider or narrower set of paths.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule `{rule}` (endpoint `{endpoint}`): {reason}")]
pub struct Untranslatable {
    /// The rule text.
    pub rule: String,
    /// The rule's endpoint.
    pub endpoint: String,
    /// Why it cannot be translated.
    pub reason: String,
}

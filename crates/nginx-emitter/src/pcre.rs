//! Asking this machine's PCRE2 — the library nginx links — which code points its
//! Unicode-mode `\w` and `\d` match, to write Python's classes as PCRE's own only where
//! the two agree code point for code point (see `routewall_allowlist::PcreUnicode`). They
//! differ across versions: PCRE2 10.43 added combining marks to `\w`, and each release
//! follows another Unicode version than the Python that runs the app may.
//!
//! The library is loaded at run time (`libpcre2-8.so.0`, what Debian's nginx links), so
//! routewall builds without it; without it, no class is taken for Python's and routes
//! that need one are refused as before.

// Calling a C library is the one thing here that needs `unsafe`; each block says why it
// holds.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::sync::OnceLock;

use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
use routewall_allowlist::{PcreUnicode, pattern};
use routewall_core::PythonClasses;

/// The shared library's names, tried in order.
const LIBRARIES: &[&str] = &["libpcre2-8.so.0", "libpcre2-8.so"];

type Compile =
    unsafe extern "C" fn(*const u8, usize, u32, *mut i32, *mut usize, *mut c_void) -> *mut c_void;
type MatchDataCreate = unsafe extern "C" fn(*const c_void, *mut c_void) -> *mut c_void;
type Match = unsafe extern "C" fn(
    *const c_void,
    *const u8,
    usize,
    usize,
    u32,
    *mut c_void,
    *mut c_void,
) -> i32;
type Ovector = unsafe extern "C" fn(*mut c_void) -> *mut usize;
type Free = unsafe extern "C" fn(*mut c_void);

/// PCRE's own `\w` and `\d` in Unicode mode, read once per process: `None` when the
/// library cannot be loaded or refuses the pattern.
struct Classes {
    word: Option<ClassUnicode>,
    digit: Option<ClassUnicode>,
}

fn pcre_classes() -> &'static Classes {
    static CLASSES: OnceLock<Classes> = OnceLock::new();
    CLASSES.get_or_init(|| Classes {
        word: class_of(r"\w"),
        digit: class_of(r"\d"),
    })
}

/// Which of `python`'s classes this machine's PCRE matches exactly.
pub(crate) fn agreement(python: Option<&PythonClasses>) -> PcreUnicode {
    let Some(python) = python else {
        return PcreUnicode::default();
    };
    let same = |ours: &Option<Vec<(u32, u32)>>, pcre: &Option<ClassUnicode>| match (ours, pcre) {
        (Some(ours), Some(pcre)) => pattern::class_of(ours) == *pcre,
        _ => false,
    };
    let pcre = pcre_classes();
    PcreUnicode {
        word: same(&python.word, &pcre.word),
        digit: same(&python.digit, &pcre.digit),
    }
}

/// The code points `(*UTF)(*UCP)ESCAPE` matches, found by matching `ESCAPE+` along a
/// string of every scalar value in order: each match is a run of consecutive members.
fn class_of(escape: &str) -> Option<ClassUnicode> {
    let library = LIBRARIES.iter().find_map(|name| {
        // SAFETY: loading PCRE2 runs no initialisation code beyond the C runtime's.
        unsafe { libloading::Library::new(name) }.ok()
    })?;
    // SAFETY: the symbols are PCRE2's 8-bit API, whose C signatures the types above spell.
    let (compile, create, matcher, ovector, free_data, free_code) = unsafe {
        (
            *library.get::<Compile>(b"pcre2_compile_8\0").ok()?,
            *library
                .get::<MatchDataCreate>(b"pcre2_match_data_create_from_pattern_8\0")
                .ok()?,
            *library.get::<Match>(b"pcre2_match_8\0").ok()?,
            *library
                .get::<Ovector>(b"pcre2_get_ovector_pointer_8\0")
                .ok()?,
            *library.get::<Free>(b"pcre2_match_data_free_8\0").ok()?,
            *library.get::<Free>(b"pcre2_code_free_8\0").ok()?,
        )
    };
    let pattern = format!("(*UTF)(*UCP){escape}+");
    let subject: String = (0..=0x10ffff_u32).filter_map(char::from_u32).collect();
    let (mut error, mut offset) = (0_i32, 0_usize);
    // SAFETY: the pattern is a valid buffer of its length; null contexts are PCRE's defaults.
    let code = unsafe {
        compile(
            pattern.as_ptr(),
            pattern.len(),
            0,
            &mut error,
            &mut offset,
            std::ptr::null_mut(),
        )
    };
    if code.is_null() {
        return None;
    }
    // SAFETY: `code` is a compiled pattern, freed below.
    let data = unsafe { create(code, std::ptr::null_mut()) };
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut failed = data.is_null();
    while !failed && start < subject.len() {
        // SAFETY: `subject` is valid UTF-8 of its length, `start` is on a character
        // boundary (the end of the previous match), and `data` fits `code`.
        let rc = unsafe {
            matcher(
                code,
                subject.as_ptr(),
                subject.len(),
                start,
                // PCRE2_NO_UTF_CHECK: the subject is a Rust `String`, valid UTF-8, and
                // checking all 4 MB again on each of some 800 calls took two seconds.
                0x4000_0000,
                data,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            // PCRE2_ERROR_NOMATCH (-1) ends the walk; any other error spoils it.
            failed = rc != -1;
            break;
        }
        // SAFETY: after a match, the ovector holds at least the whole match's pair.
        let (from, to) = unsafe {
            let pair = ovector(data);
            (*pair, *pair.add(1))
        };
        let first = subject.get(from..).and_then(|s| s.chars().next());
        let last = subject.get(..to).and_then(|s| s.chars().next_back());
        match (first, last) {
            (Some(first), Some(last)) if to > from => {
                ranges.push(ClassUnicodeRange::new(first, last));
                start = to;
            }
            _ => failed = true,
        }
    }
    // SAFETY: both were created above and are not used after this.
    unsafe {
        if !data.is_null() {
            free_data(data);
        }
        free_code(code);
    }
    (!failed).then(|| ClassUnicode::new(ranges))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcres_classes_are_read_from_the_library() {
        let classes = pcre_classes();
        let word = classes
            .word
            .as_ref()
            .expect("libpcre2-8 is installed with nginx");
        let has = |c: char| word.ranges().iter().any(|r| r.start() <= c && c <= r.end());
        assert!(has('a') && has('_') && has('é') && has('日') && has('٣'));
        assert!(!has('-') && !has('/') && !has(' '));
        let digit = classes.digit.as_ref().expect("\\d");
        assert!(
            digit
                .ranges()
                .iter()
                .any(|r| r.start() <= '٣' && '٣' <= r.end())
        );
    }

    #[test]
    fn a_python_class_that_differs_is_not_taken_for_pcres() {
        let mut python = PythonClasses::default();
        python.word = Some(vec![(0x30, 0x39), (0x41, 0x5a), (0x5f, 0x5f), (0x61, 0x7a)]);
        assert!(
            !agreement(Some(&python)).word,
            "ASCII `\\w` is not PCRE's Unicode one"
        );
        let pcre = pcre_classes().word.as_ref().expect("read");
        python.word = Some(
            pcre.ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end())))
                .collect(),
        );
        assert!(agreement(Some(&python)).word);
    }
}

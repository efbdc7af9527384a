//! Asking this machine's PCRE2 — the library nginx links — whether its Unicode-mode `\w`
//! and `\d` match Python's classes code point for code point, to write Python's classes as
//! PCRE's own only where the two agree (see `routewall_allowlist::PcreUnicode`). They
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
use std::fmt::Write as _;

use regex_syntax::hir::ClassUnicode;
use routewall_allowlist::{PcreUnicode, pattern};
use routewall_core::PythonClasses;

/// The shared library's names, tried in order.
const LIBRARIES: &[&str] = &["libpcre2-8.so.0", "libpcre2-8.so"];

/// How many scalar values there are (code points without the 2,048 surrogates): the
/// length, in characters, of the subject every class is checked against.
const SCALAR_VALUES: u32 = 0x11_0000 - 0x800;

/// The subject's length in bytes: every scalar value, in UTF-8.
const SUBJECT_BYTES: usize =
    0x80 + (0x800 - 0x80) * 2 + (0x1_0000 - 0x800 - 0x800) * 3 + 0x10_0000 * 4;

/// PCRE2's largest repeat count (`{n}`): longer runs are written as several.
const MAX_REPEAT: u32 = 65_535;

/// `PCRE2_NO_UTF_CHECK`: every subject here is a Rust `str`, valid UTF-8, and checking
/// all 4 MB again on each call costs as much as the match.
const NO_UTF_CHECK: u32 = 0x4000_0000;

/// `PCRE2_ERROR_NOMATCH`.
const NO_MATCH: i32 = -1;

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

/// Which of `python`'s classes this machine's PCRE matches exactly.
///
/// Each class Python has is checked with one match of one pattern against a string of
/// every scalar value in order: a run of `\w{n}` for each of Python's ranges and `\W{n}`
/// for each gap between them, anchored at both ends. It matches if and only if every code
/// point in Python's class is PCRE's `\w` and every other one is not — the same answer as
/// reading PCRE's whole class and comparing, in one linear pass instead of a search per
/// range (which took some 70 ms of a 0.7 s run).
pub(crate) fn agreement(python: Option<&PythonClasses>) -> PcreUnicode {
    let Some(python) = python else {
        return PcreUnicode::default();
    };
    if python.word.is_none() && python.digit.is_none() {
        return PcreUnicode::default();
    }
    let Some(pcre) = Pcre::load() else {
        return PcreUnicode::default();
    };
    let subject = every_scalar_value();
    let same = |ours: &Option<Vec<(u32, u32)>>, member: &str, other: &str| {
        ours.as_ref()
            .is_some_and(|ours| pcre.is_exactly(&pattern::class_of(ours), member, other, &subject))
    };
    PcreUnicode {
        word: same(&python.word, r"\w", r"\W"),
        digit: same(&python.digit, r"\d", r"\D"),
    }
}

/// Every Unicode scalar value in order, as one string (4.3 MB).
fn every_scalar_value() -> String {
    let mut subject = String::with_capacity(SUBJECT_BYTES);
    // A `char` range steps over the surrogates.
    subject.extend('\0'..=char::MAX);
    subject
}

/// The position of `c` in [`every_scalar_value`], in characters.
fn index(c: char) -> u32 {
    let c = u32::from(c);
    if c >= 0xe000 { c - 0x800 } else { c }
}

/// `(*UTF)(*UCP)\A…\z` that matches [`every_scalar_value`] if and only if `member` (an
/// escape such as `\w`) matches exactly the code points of `class` and `other` (its
/// negation, `\W`) all the others.
fn exact_pattern(class: &ClassUnicode, member: &str, other: &str) -> String {
    fn run(pattern: &mut String, escape: &str, mut count: u32) {
        while count > 0 {
            let n = count.min(MAX_REPEAT);
            // Writing to a `String` cannot fail.
            let _ = write!(pattern, "{escape}{{{n}}}");
            count -= n;
        }
    }
    let mut pattern = String::from(r"(*UTF)(*UCP)\A");
    let mut next = 0;
    for range in class.ranges() {
        let (start, end) = (index(range.start()), index(range.end()) + 1);
        run(&mut pattern, other, start - next);
        run(&mut pattern, member, end - start);
        next = end;
    }
    run(&mut pattern, other, SCALAR_VALUES - next);
    pattern.push_str(r"\z");
    pattern
}

/// PCRE2's 8-bit API, from the shared library.
struct Pcre {
    compile: Compile,
    create: MatchDataCreate,
    matcher: Match,
    ovector: Ovector,
    free_data: Free,
    free_code: Free,
    /// Keeps the functions above loaded.
    _library: libloading::Library,
}

impl Pcre {
    fn load() -> Option<Self> {
        let library = LIBRARIES.iter().find_map(|name| {
            // SAFETY: loading PCRE2 runs no initialisation code beyond the C runtime's.
            unsafe { libloading::Library::new(name) }.ok()
        })?;
        // SAFETY: the symbols are PCRE2's 8-bit API, whose C signatures the types above
        // spell; the pointers stay valid while `_library` is kept with them.
        unsafe {
            Some(Self {
                compile: *library.get::<Compile>(b"pcre2_compile_8\0").ok()?,
                create: *library
                    .get::<MatchDataCreate>(b"pcre2_match_data_create_from_pattern_8\0")
                    .ok()?,
                matcher: *library.get::<Match>(b"pcre2_match_8\0").ok()?,
                ovector: *library
                    .get::<Ovector>(b"pcre2_get_ovector_pointer_8\0")
                    .ok()?,
                free_data: *library.get::<Free>(b"pcre2_match_data_free_8\0").ok()?,
                free_code: *library.get::<Free>(b"pcre2_code_free_8\0").ok()?,
                _library: library,
            })
        }
    }

    /// Whether `member` matches exactly the code points of `class` (see [`exact_pattern`]);
    /// `false` when PCRE refuses the pattern or fails to run it.
    fn is_exactly(&self, class: &ClassUnicode, member: &str, other: &str, subject: &str) -> bool {
        let Some(code) = self.compile(&exact_pattern(class, member, other)) else {
            return false;
        };
        code.find_at(subject, 0) == Ok(Some((0, subject.len())))
    }

    fn compile(&self, pattern: &str) -> Option<Code<'_>> {
        let (mut error, mut offset) = (0_i32, 0_usize);
        // SAFETY: the pattern is a valid buffer of its length; null contexts are PCRE's
        // defaults.
        let code = unsafe {
            (self.compile)(
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
        // SAFETY: `code` is a compiled pattern.
        let data = unsafe { (self.create)(code, std::ptr::null_mut()) };
        let code = Code {
            pcre: self,
            code,
            data,
        };
        (!data.is_null()).then_some(code)
    }
}

/// A compiled pattern with its match data, freed on drop.
struct Code<'a> {
    pcre: &'a Pcre,
    code: *mut c_void,
    data: *mut c_void,
}

impl Code<'_> {
    /// The byte range of the first match in `subject` at or after `start` (a character
    /// boundary); `Err` with PCRE's error code when the match fails other than by not
    /// matching.
    fn find_at(&self, subject: &str, start: usize) -> Result<Option<(usize, usize)>, i32> {
        // SAFETY: `subject` is valid UTF-8 of its length (so NO_UTF_CHECK holds), `start`
        // is on a character boundary, and `data` was made for `code`.
        let rc = unsafe {
            (self.pcre.matcher)(
                self.code,
                subject.as_ptr(),
                subject.len(),
                start,
                NO_UTF_CHECK,
                self.data,
                std::ptr::null_mut(),
            )
        };
        match rc {
            NO_MATCH => Ok(None),
            rc if rc < 0 => Err(rc),
            // SAFETY: after a match, the ovector holds at least the whole match's pair.
            _ => Ok(Some(unsafe {
                let pair = (self.pcre.ovector)(self.data);
                (*pair, *pair.add(1))
            })),
        }
    }
}

impl Drop for Code<'_> {
    fn drop(&mut self) {
        // SAFETY: both were created by `Pcre::compile` and are not used after this.
        unsafe {
            if !self.data.is_null() {
                (self.pcre.free_data)(self.data);
            }
            (self.pcre.free_code)(self.code);
        }
    }
}

#[cfg(test)]
mod tests {
    use regex_syntax::hir::ClassUnicodeRange;

    use super::*;

    /// PCRE's own class, read the slow way: `ESCAPE+` searched along every scalar value,
    /// each match a run of consecutive members. What `agreement` is checked against.
    fn class_read(pcre: &Pcre, escape: &str) -> ClassUnicode {
        let code = pcre
            .compile(&format!("(*UTF)(*UCP){escape}+"))
            .expect("compiles");
        let subject = every_scalar_value();
        let mut ranges = Vec::new();
        let mut start = 0;
        while let Some((from, to)) = code.find_at(&subject, start).expect("runs") {
            let first = subject[from..].chars().next().expect("a match");
            let last = subject[..to].chars().next_back().expect("a match");
            ranges.push(ClassUnicodeRange::new(first, last));
            start = to;
        }
        ClassUnicode::new(ranges)
    }

    fn ranges(class: &ClassUnicode) -> Vec<(u32, u32)> {
        class
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect()
    }

    #[test]
    fn the_subject_is_every_scalar_value() {
        let subject = every_scalar_value();
        assert_eq!(subject.len(), SUBJECT_BYTES);
        assert_eq!(subject.chars().count(), SCALAR_VALUES as usize);
        assert_eq!(index('\u{d7ff}') + 1, index('\u{e000}'));
        assert_eq!(index(char::MAX) + 1, SCALAR_VALUES);
    }

    #[test]
    fn pcres_classes_are_read_from_the_library() {
        let pcre = Pcre::load().expect("libpcre2-8 is installed with nginx");
        let word = class_read(&pcre, r"\w");
        let has = |c: char| word.ranges().iter().any(|r| r.start() <= c && c <= r.end());
        assert!(has('a') && has('_') && has('é') && has('日') && has('٣'));
        assert!(!has('-') && !has('/') && !has(' '));
        let digit = class_read(&pcre, r"\d");
        assert!(
            digit
                .ranges()
                .iter()
                .any(|r| r.start() <= '٣' && '٣' <= r.end())
        );
    }

    #[test]
    fn exactly_pcres_classes_are_taken_for_pcres() {
        let pcre = Pcre::load().expect("libpcre2-8 is installed with nginx");
        let (word, digit) = (class_read(&pcre, r"\w"), class_read(&pcre, r"\d"));
        let mut python = PythonClasses::default();
        python.word = Some(ranges(&word));
        python.digit = Some(ranges(&digit));
        assert_eq!(
            agreement(Some(&python)),
            PcreUnicode {
                word: true,
                digit: true
            }
        );
        // One code point more or less, anywhere (first, last, inside, beside a
        // surrogate), and the class is not PCRE's.
        let one = |c: char| ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
        for c in [
            '\0',
            'a',
            '-',
            '\u{d7ff}',
            '\u{e000}',
            '\u{30000}',
            char::MAX,
        ] {
            let mut changed = word.clone();
            if word.ranges().iter().any(|r| r.start() <= c && c <= r.end()) {
                changed.difference(&one(c));
            } else {
                changed.union(&one(c));
            }
            python.word = Some(ranges(&changed));
            assert!(!agreement(Some(&python)).word, "{c:?}");
            assert!(agreement(Some(&python)).digit);
        }
    }

    #[test]
    fn a_python_class_that_differs_is_not_taken_for_pcres() {
        let mut python = PythonClasses::default();
        python.word = Some(vec![(0x30, 0x39), (0x41, 0x5a), (0x5f, 0x5f), (0x61, 0x7a)]);
        assert!(
            !agreement(Some(&python)).word,
            "ASCII `\\w` is not PCRE's Unicode one"
        );
        assert_eq!(agreement(None), PcreUnicode::default());
    }
}

//! A safe wrapper over libyaml's event parser (via `unsafe-libyaml`).
//!
//! go-yaml v3, which kustomize reads with, is a port of libyaml, so using libyaml's scanner
//! and parser gives the same acceptance and the same error positions without writing a YAML
//! grammar by hand. All `unsafe` in the crate lives here.

use std::ffi::CStr;
use std::mem::MaybeUninit;
use unsafe_libyaml as unsafe_yaml;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Debug)]
pub enum Event {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias(String),
    Scalar {
        anchor: Option<String>,
        tag: Option<String>,
        value: String,
        style: ScalarStyle,
    },
    SequenceStart {
        anchor: Option<String>,
    },
    SequenceEnd,
    MappingStart {
        anchor: Option<String>,
    },
    MappingEnd,
}

/// A parse failure: libyaml's problem text and the 1-based line it points at.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub line: usize,
    pub problem: String,
    pub context: Option<String>,
}

pub struct Parser {
    // Boxed so the parser struct (which libyaml treats as pinned) never moves.
    sys: Box<unsafe_yaml::yaml_parser_t>,
    // Input kept alive for as long as libyaml reads from it.
    _input: Input,
    done: bool,
}

/// What libyaml reads: a buffer it holds a pointer into, or a reader it pulls chunks from
/// (boxed so the pointer handed to libyaml stays valid when the `Parser` moves).
enum Input {
    Bytes(#[allow(dead_code)] Box<[u8]>),
    Reader(Box<ReaderInput>),
}

struct ReaderInput {
    reader: Box<dyn std::io::Read>,
    /// The I/O error that stopped the reader, reported instead of libyaml's "input error".
    error: Option<std::io::Error>,
}

/// libyaml's read callback: fills `buffer` from the reader behind `data`.
///
/// # Safety
/// `data` is the `ReaderInput` registered in [`Parser::from_reader`], alive for as long as the
/// parser; `buffer` has room for `size` bytes.
unsafe fn read_handler(
    data: *mut std::ffi::c_void,
    buffer: *mut u8,
    size: u64,
    size_read: *mut u64,
) -> i32 {
    // SAFETY: see the function's contract.
    let input = unsafe { &mut *(data as *mut ReaderInput) };
    let buf = unsafe { std::slice::from_raw_parts_mut(buffer, size as usize) };
    loop {
        match input.reader.read(buf) {
            Ok(n) => {
                unsafe { *size_read = n as u64 };
                return 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                input.error = Some(e);
                return 0;
            }
        }
    }
}

unsafe fn opt_cstr(p: *const u8) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: libyaml hands out NUL-terminated strings that live as long as the event.
    let s = unsafe { CStr::from_ptr(p as *const std::ffi::c_char) };
    Some(s.to_string_lossy().into_owned())
}

impl Parser {
    pub fn new(input: &[u8]) -> Parser {
        let input: Box<[u8]> = input.into();
        // SAFETY: yaml_parser_initialize fully initialises the zeroed struct; the input buffer
        // is owned by the returned Parser and outlives every call that reads it.
        unsafe {
            let mut raw: Box<MaybeUninit<unsafe_yaml::yaml_parser_t>> =
                Box::new(MaybeUninit::zeroed());
            let p = raw.as_mut_ptr();
            let ok = unsafe_yaml::yaml_parser_initialize(p).ok;
            let mut sys_box: Box<unsafe_yaml::yaml_parser_t> =
                Box::from_raw(Box::into_raw(raw).cast());
            let done = !ok;
            if ok {
                unsafe_yaml::yaml_parser_set_input_string(
                    &mut *sys_box,
                    input.as_ptr(),
                    input.len() as u64,
                );
            }
            Parser {
                sys: sys_box,
                _input: Input::Bytes(input),
                done,
            }
        }
    }

    /// A parser that pulls its input from `reader` in small chunks, so a large document is
    /// never held in memory as a whole (only the current event is).
    pub fn from_reader(reader: impl std::io::Read + 'static) -> Parser {
        let mut input = Box::new(ReaderInput {
            reader: Box::new(reader),
            error: None,
        });
        // SAFETY: as in `new`; the reader state is boxed and owned by the returned Parser, so
        // the pointer given to libyaml stays valid for every read it makes.
        unsafe {
            let mut raw: Box<MaybeUninit<unsafe_yaml::yaml_parser_t>> =
                Box::new(MaybeUninit::zeroed());
            let p = raw.as_mut_ptr();
            let ok = unsafe_yaml::yaml_parser_initialize(p).ok;
            let mut sys_box: Box<unsafe_yaml::yaml_parser_t> =
                Box::from_raw(Box::into_raw(raw).cast());
            if ok {
                let data: *mut ReaderInput = &mut *input;
                unsafe_yaml::yaml_parser_set_input(&mut *sys_box, read_handler, data.cast());
            }
            Parser {
                sys: sys_box,
                _input: Input::Reader(input),
                done: !ok,
            }
        }
    }

    fn error(&mut self) -> SyntaxError {
        if let Input::Reader(input) = &mut self._input {
            if let Some(e) = input.error.take() {
                return SyntaxError {
                    line: self.sys.problem_mark.line as usize + 1,
                    problem: format!("reading the input: {e}"),
                    context: None,
                };
            }
        }
        let p = &*self.sys;
        // SAFETY: problem/context are static C strings set by libyaml, or null.
        let problem = unsafe { opt_cstr(p.problem as *const u8) }
            .unwrap_or_else(|| "unknown YAML error".into());
        let context = unsafe { opt_cstr(p.context as *const u8) };
        SyntaxError {
            line: p.problem_mark.line as usize + 1,
            problem,
            context,
        }
    }

    /// The next event and the 1-based line where it starts.
    pub fn next_event(&mut self) -> Result<(Event, usize), SyntaxError> {
        if self.done {
            return Err(self.error());
        }
        let mut ev = MaybeUninit::<unsafe_yaml::yaml_event_t>::zeroed();
        // SAFETY: the parser is initialised; on success the event is initialised and is
        // deleted below after its data has been copied out.
        unsafe {
            if unsafe_yaml::yaml_parser_parse(&mut *self.sys, ev.as_mut_ptr()).fail {
                self.done = true;
                return Err(self.error());
            }
            let e = &*ev.as_ptr();
            let line = e.start_mark.line as usize + 1;
            let out = match e.type_ {
                unsafe_yaml::YAML_STREAM_START_EVENT => Event::StreamStart,
                unsafe_yaml::YAML_STREAM_END_EVENT => Event::StreamEnd,
                unsafe_yaml::YAML_DOCUMENT_START_EVENT => Event::DocumentStart,
                unsafe_yaml::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
                unsafe_yaml::YAML_ALIAS_EVENT => {
                    Event::Alias(opt_cstr(e.data.alias.anchor).unwrap_or_default())
                }
                unsafe_yaml::YAML_SCALAR_EVENT => {
                    let d = &e.data.scalar;
                    let bytes = std::slice::from_raw_parts(d.value, d.length as usize);
                    Event::Scalar {
                        anchor: opt_cstr(d.anchor),
                        tag: opt_cstr(d.tag),
                        value: String::from_utf8_lossy(bytes).into_owned(),
                        style: match d.style {
                            unsafe_yaml::YAML_SINGLE_QUOTED_SCALAR_STYLE => {
                                ScalarStyle::SingleQuoted
                            }
                            unsafe_yaml::YAML_DOUBLE_QUOTED_SCALAR_STYLE => {
                                ScalarStyle::DoubleQuoted
                            }
                            unsafe_yaml::YAML_LITERAL_SCALAR_STYLE => ScalarStyle::Literal,
                            unsafe_yaml::YAML_FOLDED_SCALAR_STYLE => ScalarStyle::Folded,
                            _ => ScalarStyle::Plain,
                        },
                    }
                }
                unsafe_yaml::YAML_SEQUENCE_START_EVENT => Event::SequenceStart {
                    anchor: opt_cstr(e.data.sequence_start.anchor),
                },
                unsafe_yaml::YAML_SEQUENCE_END_EVENT => Event::SequenceEnd,
                unsafe_yaml::YAML_MAPPING_START_EVENT => Event::MappingStart {
                    anchor: opt_cstr(e.data.mapping_start.anchor),
                },
                unsafe_yaml::YAML_MAPPING_END_EVENT => Event::MappingEnd,
                _ => Event::StreamEnd,
            };
            unsafe_yaml::yaml_event_delete(ev.as_mut_ptr());
            Ok((out, line))
        }
    }
}

impl Drop for Parser {
    fn drop(&mut self) {
        // SAFETY: the parser was initialised in `new` (or zeroed, which delete tolerates).
        unsafe { unsafe_yaml::yaml_parser_delete(&mut *self.sys) }
    }
}

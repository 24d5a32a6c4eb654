//! Constructor options shared by the middleware classes, validated with errors that name the
//! class and the parameter (`Gzip(content_types=...): ...`).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyString};

use crate::http::accept_encoding::Coding;
use crate::http::media_type::MediaTypes;

pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

/// A WSGI application argument (anything callable); otherwise TypeError "`{what}` must be a
/// WSGI application", where `what` names the call and the parameter (`"Cache(app=...): app"`).
pub fn wsgi_app(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Py<PyAny>> {
    if value.is_callable() {
        Ok(value.clone().unbind())
    } else {
        Err(PyTypeError::new_err(format!(
            "{what} must be a WSGI application (a callable), not {}",
            type_name(value)
        )))
    }
}

/// A str argument as a `String`; otherwise TypeError "`{what}` must be a str, not X", where
/// `what` names the call and the parameter (`"Router.add(path=...): path"`).
pub fn str_arg(value: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    value
        .cast::<PyString>()
        .map_err(|_| {
            PyTypeError::new_err(format!("{what} must be a str, not {}", type_name(value)))
        })?
        .to_cow()
        .map(|c| c.into_owned())
}

/// An iterable of media types like `("text/html", "text/*")`; `None` means `defaults`.
pub fn media_types(
    class: &str,
    param: &str,
    given: Option<&Bound<'_, PyAny>>,
    defaults: &[&str],
) -> PyResult<MediaTypes> {
    let invalid = |e: String| PyValueError::new_err(format!("{class}({param}=...): {e}"));
    let Some(given) = given else {
        return MediaTypes::new(defaults.iter().copied()).map_err(invalid);
    };
    let entries = str_entries(
        class,
        param,
        given,
        "media types",
        "(\"text/html\", \"text/*\")",
        "\"text/html\"",
    )?;
    MediaTypes::new(entries.iter().map(String::as_str)).map_err(invalid)
}

/// The str entries of an iterable option, for `{class}({param}=...)` errors: a lone str
/// or bytes is refused (it would be taken a character at a time), and so is every entry
/// that is not a str. `what` and `like` describe the iterable in the error (`"media
/// types"`, `("text/html", "text/*")`), `entry_like` one entry.
pub fn str_entries(
    class: &str,
    param: &str,
    given: &Bound<'_, PyAny>,
    what: &str,
    like: &str,
    entry_like: &str,
) -> PyResult<Vec<String>> {
    let not_iterable = || {
        PyTypeError::new_err(format!(
            "{class}({param}=...): expected an iterable of {what} like {like}, not {}",
            if given.is_instance_of::<PyString>() {
                "a single str".to_owned()
            } else {
                type_name(given)
            }
        ))
    };
    if given.is_instance_of::<PyString>() || given.is_instance_of::<PyBytes>() {
        return Err(not_iterable());
    }
    let mut entries = Vec::new();
    for item in given.try_iter().map_err(|_| not_iterable())? {
        let item = item?;
        let text = item
            .cast::<PyString>()
            .ok()
            .and_then(|s| s.to_cow().ok().map(|c| c.into_owned()))
            .ok_or_else(|| {
                PyTypeError::new_err(format!(
                    "{class}({param}=...): every entry must be a str like {entry_like}, not {}",
                    type_name(&item)
                ))
            })?;
        entries.push(text);
    }
    Ok(entries)
}

/// Declare an int option type: extracting it from Python checks the type (an `int`, not a
/// `bool` and not `None`) and the range, with errors that name the class and parameter.
/// Use it as the parameter's type, with `Type(default)` as the signature default.
#[macro_export]
macro_rules! int_option {
    ($name:ident, $class:literal, $param:literal, $min:expr, $max:expr, $unit:literal) => {
        #[doc = concat!("`", $class, "(", $param, "=...)`: an int from ", stringify!($min), " to ", stringify!($max), " ", $unit, ".")]
        pub struct $name(pub usize);

        impl<'a, 'py> ::pyo3::FromPyObject<'a, 'py> for $name {
            type Error = ::pyo3::PyErr;

            fn extract(value: ::pyo3::Borrowed<'a, 'py, ::pyo3::PyAny>) -> ::pyo3::PyResult<Self> {
                $crate::wsgi::options::int_in_range(
                    $class,
                    $param,
                    &value,
                    $min,
                    $max,
                    $unit,
                )
                .map($name)
            }
        }
    };
}

/// Validate an int option (see [`int_option!`]).
pub fn int_in_range(
    class: &str,
    param: &str,
    value: &Bound<'_, PyAny>,
    min: usize,
    max: usize,
    unit: &str,
) -> PyResult<usize> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{class}({param}=...): {param} must be an int ({unit}), not {}",
            type_name(value)
        )));
    }
    // Every refusal states the whole range, the upper bound included even when it is
    // usize::MAX: "must be >= 1" was false for 2**64.
    let out_of_range = |given: &str| {
        PyValueError::new_err(format!(
            "{class}({param}={given}): {param} must be between {min} and {max} ({unit})"
        ))
    };
    // Past i128 (2**200, -2**200) the number is not repeated: its digits could be many.
    let number: i128 = value.extract().map_err(|_| out_of_range("..."))?;
    match usize::try_from(number) {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(out_of_range(&number.to_string())),
    }
}

/// `{class}(encodings=...)`: a sequence of "zstd", "br" and "gzip", each at most once, in
/// order of preference; `None` means `defaults`. Empty only when `allow_empty`.
pub fn codings(
    class: &str,
    given: Option<&Bound<'_, PyAny>>,
    defaults: &[Coding],
    allow_empty: bool,
) -> PyResult<Vec<Coding>> {
    let Some(given) = given else {
        return Ok(defaults.to_vec());
    };
    let names = str_entries(
        class,
        "encodings",
        given,
        "encodings",
        "(\"zstd\", \"br\", \"gzip\")",
        "\"zstd\"",
    )?;
    let mut codings = Vec::new();
    for name in &names {
        let coding = Coding::from_token(name.trim()).ok_or_else(|| {
            PyValueError::new_err(format!(
                "{class}(encodings=...): unknown encoding {name:?}; use \"zstd\", \"br\" or \"gzip\""
            ))
        })?;
        if codings.contains(&coding) {
            return Err(PyValueError::new_err(format!(
                "{class}(encodings=...): {name:?} is given twice"
            )));
        }
        codings.push(coding);
    }
    if codings.is_empty() && !allow_empty {
        return Err(PyValueError::new_err(format!(
            "{class}(encodings=...): encodings is empty; give at least one of \"zstd\", \"br\", \"gzip\" (or leave {class} out)"
        )));
    }
    Ok(codings)
}

/// A True/False option (`{class}({param}=...)`): anything else, 1 and "yes" included, is a
/// TypeError naming it. `None` (not given) is `default`.
pub fn bool_arg(
    class: &str,
    param: &str,
    given: Option<&Bound<'_, PyAny>>,
    default: bool,
) -> PyResult<bool> {
    let Some(value) = given else {
        return Ok(default);
    };
    value.cast::<PyBool>().map(|b| b.is_true()).map_err(|_| {
        PyTypeError::new_err(format!(
            "{class}({param}=...): {param} must be True or False, not {}",
            type_name(value)
        ))
    })
}

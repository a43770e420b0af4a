//! Presets: the RON schema of every run kind, loading with located errors, and overrides.
//!
//! Every preset struct derives `Serialize` and `Deserialize` with
//! `#[serde(deny_unknown_fields)]`, so a misspelt field is an error instead of a silent
//! default. Parse errors carry the file, the 1-based line and column and, for an unknown
//! field, the names that were expected there.
//!
//! Overrides (`--set FIELD=VALUE`) address a field by a dotted path such as
//! `stimulus.amplitude` and give the new value in RON syntax. They are applied on a
//! `serde_json::Value` image of the preset. The path is walked through the JSON objects, and
//! the value is parsed from RON into the JSON shape serde uses for the preset (enum variants
//! as single-key objects, unit variants as strings). The result is deserialized back into the
//! preset type, so an override passes the same checks as a preset file.

pub mod sim;
pub mod train;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Errors of loading, saving and overriding presets.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// Occurs when a preset text is not valid RON or does not match the preset schema.
    #[error("{path}:{line}:{col}: {message}{}", expected_suffix(expected_fields))]
    Parse {
        /// File path or origin label of the text.
        path: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        col: usize,
        /// Description of the error, from the RON parser.
        message: String,
        /// Field names valid at that spot; empty when the error is not about a field name.
        expected_fields: Vec<String>,
    },
    /// Occurs when a preset file cannot be read or written.
    #[error("cannot access preset file {path}; check that it is readable and writable")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Occurs when a preset file does not exist.
    #[error("preset file not found: {path}")]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// Occurs when a `--set FIELD=VALUE` override is malformed or names an unknown field.
    #[error("invalid override {field}={value}: {message}")]
    Override {
        /// The dotted field path as given.
        field: String,
        /// The value text as given.
        value: String,
        /// Description of the error and the valid choices.
        message: String,
    },
    /// Occurs when a preset parses but a field has a value that cannot be run.
    #[error("invalid {field} = {value}: {fix}")]
    Invalid {
        /// The field name.
        field: String,
        /// The rejected value, as text.
        value: String,
        /// Change that would make the value valid.
        fix: String,
    },
}

fn expected_suffix(expected: &[String]) -> String {
    if expected.is_empty() {
        String::new()
    } else {
        format!(" (expected one of: {})", expected.join(", "))
    }
}

/// Reads and parses a RON preset file.
pub fn load_ron<T: DeserializeOwned>(path: &Path) -> Result<T, PresetError> {
    let text = read_preset_text(path)?;
    parse_ron(&text, &path.display().to_string())
}

/// Reads a preset file as text; a missing file gives [`PresetError::NotFound`].
pub fn read_preset_text(path: &Path) -> Result<String, PresetError> {
    std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            PresetError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            PresetError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Parses a RON preset from text; `origin` names the text in errors (a path or a label).
pub fn parse_ron<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, PresetError> {
    ron::from_str(text).map_err(|err| with_line_text(spanned_to_preset_error(&err, origin), text))
}

fn spanned_to_preset_error(err: &ron::error::SpannedError, origin: &str) -> PresetError {
    // ron's own text for an unknown field already lists the expected names; it is rebuilt
    // here so that the list appears once, from `expected_fields`.
    let (message, expected_fields) = match &err.code {
        ron::Error::NoSuchStructField {
            expected,
            found,
            outer,
        } => {
            let place = outer
                .as_ref()
                .map(|outer| format!(" in `{outer}`"))
                .unwrap_or_default();
            let names = expected.iter().map(|name| name.to_string()).collect();
            (format!("unknown field `{found}`{place}"), names)
        }
        other => (other.to_string(), Vec::new()),
    };
    PresetError::Parse {
        path: origin.to_string(),
        line: err.span.start.line,
        col: err.span.start.col,
        message,
        expected_fields,
    }
}

/// Appends the offending line of `text` to a parse error's message, because ron's errors
/// (such as `Expected float`) do not name the field.
fn with_line_text(error: PresetError, text: &str) -> PresetError {
    let PresetError::Parse {
        path,
        line,
        col,
        message,
        expected_fields,
    } = error
    else {
        return error;
    };
    let line_text = text
        .lines()
        .nth(line.saturating_sub(1))
        .map(str::trim)
        .unwrap_or_default();
    let message = if line_text.is_empty() || !expected_fields.is_empty() {
        message
    } else {
        format!("{message} in `{line_text}`")
    };
    PresetError::Parse {
        path,
        line,
        col,
        message,
        expected_fields,
    }
}

/// Writes a preset as pretty RON, replacing the file.
pub fn save_ron<T: Serialize>(value: &T, path: &Path) -> Result<(), PresetError> {
    let text = to_ron_string(value)?;
    std::fs::write(path, text).map_err(|source| PresetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Formats a preset as pretty RON text, as `save_ron` writes it.
pub fn to_ron_string<T: Serialize>(value: &T) -> Result<String, PresetError> {
    let config = ron::ser::PrettyConfig::default();
    ron::ser::to_string_pretty(value, config).map_err(|err| PresetError::Invalid {
        field: "preset".to_string(),
        value: "(unserializable)".to_string(),
        fix: format!("the preset cannot be written as RON: {err}"),
    })
}

/// Applies `FIELD=VALUE` overrides in order and returns the changed preset.
///
/// FIELD is a dotted path into nested structs (`stimulus.amplitude`); a path step may pass
/// through an enum variant without naming it (`weights.seed` reaches `seed` inside
/// `weights: Random(seed: 1, scale: 2.0)`). VALUE is RON (`3.5`, `Sine`, `Random(seed: 2,
/// scale: 1.0)`, `"file.safetensors"`).
pub fn apply_overrides<T: Serialize + DeserializeOwned>(
    value: T,
    sets: &[String],
) -> Result<T, PresetError> {
    if sets.is_empty() {
        return Ok(value);
    }
    let mut tree = serde_json::to_value(&value).map_err(|err| PresetError::Override {
        field: String::new(),
        value: String::new(),
        message: format!("the preset cannot be converted for overriding: {err}"),
    })?;
    for set in sets {
        apply_one(&mut tree, set)?;
        // Checking after each override lets the error name the one that broke the schema.
        if let Err(err) = serde_json::from_value::<T>(tree.clone()) {
            let (field, value) = set.split_once('=').unwrap_or((set, ""));
            return Err(PresetError::Override {
                field: field.trim().to_string(),
                value: value.trim().to_string(),
                message: format!("the value does not fit the field: {err}"),
            });
        }
    }
    serde_json::from_value(tree).map_err(|err| PresetError::Override {
        field: sets.join(" "),
        value: String::new(),
        message: format!("the overridden preset does not match its schema: {err}"),
    })
}

/// A RON value read into serde_json's shape. The untagged wrapper makes serde buffer the
/// input as its private `Content` type, for which ron 0.12 reports enum variants as
/// single-key maps and unit variants as strings: the same shape serde_json gives enums.
#[derive(Deserialize)]
#[serde(untagged)]
enum RonAsJson {
    Value(serde_json::Value),
}

fn apply_one(tree: &mut serde_json::Value, set: &str) -> Result<(), PresetError> {
    let Some((field, value_text)) = set.split_once('=') else {
        return Err(PresetError::Override {
            field: set.to_string(),
            value: String::new(),
            message: "expected FIELD=VALUE, for example stimulus.amplitude=19.0".to_string(),
        });
    };
    let field = field.trim();
    let value_text = value_text.trim();
    let override_error = |message: String| PresetError::Override {
        field: field.to_string(),
        value: value_text.to_string(),
        message,
    };

    // The JSON image cannot hold NaN or infinities (they would become null), and no preset
    // field can run with one, so they are rejected here with the field named.
    if value_text
        .parse::<f64>()
        .is_ok_and(|number| !number.is_finite())
    {
        return Err(override_error(
            "the value must be a finite number".to_string(),
        ));
    }

    let RonAsJson::Value(new_value) = ron::from_str::<RonAsJson>(value_text)
        .map_err(|err| override_error(format!("the value is not valid RON: {err}")))?;

    let mut slot = tree;
    let mut walked = Vec::new();
    for step in field.split('.') {
        slot = descend(slot, step).map_err(|valid| {
            let place = if walked.is_empty() {
                "the preset".to_string()
            } else {
                format!("`{}`", walked.join("."))
            };
            if valid.is_empty() {
                override_error(format!("{place} has no fields to set"))
            } else {
                override_error(format!(
                    "unknown field `{step}` in {place}; valid fields: {}",
                    valid.join(", ")
                ))
            }
        })?;
        walked.push(step.to_string());
    }
    *slot = new_value;
    Ok(())
}

/// Steps into field `step` of an object, passing through an enum's single-key wrapper when
/// the step is not the variant name. On failure returns the valid field names.
fn descend<'a>(
    slot: &'a mut serde_json::Value,
    step: &str,
) -> Result<&'a mut serde_json::Value, Vec<String>> {
    let serde_json::Value::Object(map) = slot else {
        return Err(Vec::new());
    };
    if map.contains_key(step) {
        return map.get_mut(step).ok_or_else(Vec::new);
    }
    let keys: Vec<String> = map.keys().cloned().collect();
    let is_variant_wrapper = keys.len() == 1 && keys[0].starts_with(char::is_uppercase);
    if is_variant_wrapper {
        if let Some(inner) = map.values_mut().next() {
            return descend(inner, step);
        }
    }
    Err(keys)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        amplitude: f64,
        period_ms: f64,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Source {
        Random { seed: u64, scale: f64 },
        File(PathBuf),
        Builtin,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        dt_ms: f64,
        inner: Inner,
        source: Source,
    }

    fn sample() -> Outer {
        Outer {
            name: "a".to_string(),
            dt_ms: 0.001,
            inner: Inner {
                amplitude: 19.0,
                period_ms: 8.5,
            },
            source: Source::Random {
                seed: 7,
                scale: 2.0,
            },
        }
    }

    #[test]
    fn parse_reports_unknown_field_location() {
        let text = "(\n  name: \"a\",\n  dt_ms: 0.001,\n  inner: (amplitude: 1.0, perod_ms: 2.0),\n  source: Builtin,\n)";
        let err = parse_ron::<Outer>(text, "x.ron").unwrap_err();
        let PresetError::Parse {
            path,
            line,
            col,
            expected_fields,
            ..
        } = &err
        else {
            panic!("expected a parse error, got {err:?}");
        };
        assert_eq!(path, "x.ron");
        assert_eq!(*line, 4);
        assert!(*col > 1, "column {col}");
        assert_eq!(expected_fields, &["amplitude", "period_ms"]);
        let text = err.to_string();
        assert!(text.starts_with("x.ron:4:"), "{text}");
        assert!(text.contains("period_ms"), "{text}");
    }

    #[test]
    fn parse_reports_syntax_error_location() {
        let err = parse_ron::<Outer>("(\n name: \"a\",\n dt_ms: 0.0.1,\n)", "y.ron").unwrap_err();
        let PresetError::Parse { line, .. } = err else {
            panic!("expected a parse error");
        };
        assert_eq!(line, 3);
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.ron");
        save_ron(&sample(), &path).unwrap();
        let loaded: Outer = load_ron(&path).unwrap();
        assert_eq!(loaded, sample());
    }

    #[test]
    fn load_missing_file_names_path() {
        let err = load_ron::<Outer>(Path::new("/nonexistent/p.ron")).unwrap_err();
        assert_eq!(err.to_string(), "preset file not found: /nonexistent/p.ron");
    }

    #[test]
    fn override_sets_nested_number() {
        let sets = vec!["inner.amplitude=3".to_string(), "dt_ms=0.01".to_string()];
        let out = apply_overrides(sample(), &sets).unwrap();
        assert_eq!(out.inner.amplitude, 3.0);
        assert_eq!(out.dt_ms, 0.01);
        assert_eq!(out.inner.period_ms, 8.5);
    }

    #[test]
    fn override_replaces_enum_variant() {
        let sets = vec!["source=File(\"w.safetensors\")".to_string()];
        let out = apply_overrides(sample(), &sets).unwrap();
        assert_eq!(out.source, Source::File(PathBuf::from("w.safetensors")));

        let sets = vec!["source=Builtin".to_string()];
        let out = apply_overrides(sample(), &sets).unwrap();
        assert_eq!(out.source, Source::Builtin);

        let sets = vec!["source=Random(seed: 3, scale: 0.5)".to_string()];
        let out = apply_overrides(out, &sets).unwrap();
        assert_eq!(
            out.source,
            Source::Random {
                seed: 3,
                scale: 0.5
            }
        );
    }

    #[test]
    fn override_walks_through_variant() {
        let sets = vec!["source.seed=42".to_string()];
        let out = apply_overrides(sample(), &sets).unwrap();
        assert_eq!(
            out.source,
            Source::Random {
                seed: 42,
                scale: 2.0
            }
        );
    }

    #[test]
    fn override_sets_whole_struct() {
        let sets = vec!["inner=(amplitude: 1.5, period_ms: 4.0)".to_string()];
        let out = apply_overrides(sample(), &sets).unwrap();
        assert_eq!(out.inner.amplitude, 1.5);
        assert_eq!(out.inner.period_ms, 4.0);
    }

    #[test]
    fn override_unknown_field_lists_valid_names() {
        let sets = vec!["inner.amplitud=3".to_string()];
        let err = apply_overrides(sample(), &sets).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("amplitud"), "{text}");
        assert!(text.contains("amplitude, period_ms"), "{text}");
    }

    #[test]
    fn override_wrong_type_is_rejected() {
        let sets = vec!["name=3.5".to_string()];
        assert!(apply_overrides(sample(), &sets).is_err());
        let sets = vec!["inner.amplitude=\"high\"".to_string()];
        assert!(apply_overrides(sample(), &sets).is_err());
    }

    #[test]
    fn override_non_finite_names_field() {
        for value in ["NaN", "nan", "inf", "-inf"] {
            let sets = vec![format!("dt_ms={value}")];
            let err = apply_overrides(sample(), &sets).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(&format!("dt_ms={value}:")), "{text}");
            assert!(text.contains("finite"), "{text}");
        }
    }

    #[test]
    fn override_error_names_only_bad_set() {
        let sets = vec![
            "inner.amplitude=3".to_string(),
            "name=3.5".to_string(),
            "dt_ms=0.01".to_string(),
        ];
        let text = apply_overrides(sample(), &sets).unwrap_err().to_string();
        assert!(text.starts_with("invalid override name=3.5:"), "{text}");
        assert!(!text.contains("amplitude"), "{text}");
        assert!(!text.contains("dt_ms"), "{text}");
    }

    #[test]
    fn parse_wrong_type_shows_line_text() {
        let text = "(\n  name: \"a\",\n  dt_ms: \"fast\",\n)";
        let err = parse_ron::<Outer>(text, "z.ron").unwrap_err().to_string();
        assert!(err.starts_with("z.ron:3:"), "{err}");
        assert!(err.contains("`dt_ms: \"fast\",`"), "{err}");
    }

    #[test]
    fn override_without_equals_is_rejected() {
        let sets = vec!["dt_ms".to_string()];
        let err = apply_overrides(sample(), &sets).unwrap_err();
        assert!(err.to_string().contains("FIELD=VALUE"), "{err}");
    }

    #[test]
    fn override_bad_ron_value_is_rejected() {
        let sets = vec!["dt_ms=(".to_string()];
        let err = apply_overrides(sample(), &sets).unwrap_err();
        assert!(err.to_string().contains("not valid RON"), "{err}");
    }
}

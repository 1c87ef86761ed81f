//! TOML configuration with command-line overrides.
//!
//! A service describes its configuration as a `serde` struct with defaults. The effective value
//! is: the struct's defaults, overlaid by the TOML file (if any), overlaid by each `--set
//! dotted.key=value` in order. Values after `=` are read as TOML (`42`, `true`, `"text"`,
//! `[1, 2]`) and fall back to a plain string, so `--set api.listen=127.0.0.1:8080` works unquoted.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use toml::{Table, Value};

/// Why a configuration could not be loaded; the message names the file, key or value to fix.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read(PathBuf, std::io::Error),
    /// The file is not valid TOML.
    Parse(PathBuf, toml::de::Error),
    /// A `--set` argument is not `key=value`.
    BadOverride(String),
    /// The merged configuration does not fit the service's schema.
    Invalid(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Read(p, e) => write!(f, "cannot read config file {}: {e}", p.display()),
            ConfigError::Parse(p, e) => write!(f, "config file {} is not valid TOML: {e}", p.display()),
            ConfigError::BadOverride(s) => write!(f, "override `{s}` is not of the form dotted.key=value"),
            ConfigError::Invalid(e) => write!(f, "invalid configuration: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The configuration flags every service takes (flatten into its `clap` parser), so they read
/// the same everywhere: `--config FILE` and repeatable `--set dotted.key=value`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// TOML configuration file (defaults apply to everything it leaves out).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Override any configuration key: `--set dotted.key=value` (repeatable, applied in order).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ConfigArgs {
    /// Loads `T`: defaults, the file, then `shorthands` (overrides a service's own flags stand
    /// for, see [`string_override`]), then the `--set` overrides, which win.
    pub fn load<T>(&self, shorthands: impl IntoIterator<Item = String>) -> Result<T, ConfigError>
    where
        T: DeserializeOwned + Serialize + Default,
    {
        let mut overrides: Vec<String> = shorthands.into_iter().collect();
        overrides.extend(self.set.iter().cloned());
        load_config(self.config.as_deref(), &overrides)
    }
}

/// The override `key="value"` for a string flag (quoted and escaped as TOML), if it was given.
pub fn string_override(key: &str, value: Option<impl AsRef<str>>) -> Option<String> {
    value.map(|v| format!("{key}={}", Value::String(v.as_ref().to_string())))
}

/// Loads a configuration: defaults of `T`, then the file, then the overrides.
pub fn load_config<T>(file: Option<&Path>, overrides: &[String]) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let mut merged = match Value::try_from(T::default()) {
        Ok(Value::Table(t)) => t,
        Ok(_) => Table::new(),
        Err(e) => return Err(ConfigError::Invalid(format!("defaults do not serialise: {e}"))),
    };
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_path_buf(), e))?;
        let table: Table = text.parse().map_err(|e| ConfigError::Parse(path.to_path_buf(), e))?;
        merge(&mut merged, table);
    }
    for o in overrides {
        let (key, raw) = o.split_once('=').ok_or_else(|| ConfigError::BadOverride(o.clone()))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(ConfigError::BadOverride(o.clone()));
        }
        let value = parse_value(raw.trim());
        set_path(&mut merged, key, value).map_err(|e| ConfigError::Invalid(format!("--set {key}: {e}")))?;
    }
    Value::Table(merged).try_into().map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))
}

fn parse_value(raw: &str) -> Value {
    // Parse as the right-hand side of a TOML assignment; anything else is a string.
    match format!("v = {raw}").parse::<Table>() {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

fn set_path(table: &mut Table, key: &str, value: Value) -> Result<(), String> {
    let mut parts = key.split('.').peekable();
    let mut cur = table;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(part.to_string(), value);
            return Ok(());
        }
        let entry = cur.entry(part.to_string()).or_insert_with(|| Value::Table(Table::new()));
        cur = match entry {
            Value::Table(t) => t,
            _ => return Err(format!("`{part}` is not a table")),
        };
    }
    Ok(())
}

fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

//! The optional TOML configuration file: the same names as the environment
//! variables, in any case, at the top level.
//!
//! ```toml
//! database_url = "postgres://authusers@db/authusers"
//! bcrypt_cost = 12
//! mail_transport = "smtp"
//! ```

use std::collections::HashMap;
use std::path::Path;

use super::{ConfigErrors, VARIABLES};

/// The file's settings by variable name; every problem in it reported.
pub fn read_config_file(path: &Path) -> Result<HashMap<String, String>, ConfigErrors> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![format!(
            "cannot read the configuration file {shown}: {e}"
        )])
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let message = e.message().to_owned();
        ConfigErrors(vec![format!("{shown} is not valid TOML: {message}")])
    })?;
    let mut settings = HashMap::new();
    let mut problems = Vec::new();
    for (key, value) in table {
        let name = key.to_ascii_uppercase();
        if !VARIABLES.contains(&name.as_str()) {
            problems.push(format!("{shown}: unknown setting `{key}`"));
            continue;
        }
        let text = match value {
            toml::Value::String(text) => text,
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Float(number) => number.to_string(),
            toml::Value::Boolean(flag) => flag.to_string(),
            _ => {
                problems.push(format!(
                    "{shown}: `{key}` must be a string, number or boolean"
                ));
                continue;
            }
        };
        settings.insert(name, text);
    }
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(ConfigErrors(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(contents: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "authusers-config-{}-{}.toml",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn reads_known_settings_in_any_case() {
        let path = file("database_url = \"a.db\"\nBCRYPT_COST = 10\n");
        let settings = read_config_file(&path).unwrap();
        assert_eq!(settings["DATABASE_URL"], "a.db");
        assert_eq!(settings["BCRYPT_COST"], "10");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn reports_unknown_keys_and_bad_values() {
        let path = file("databse_url = \"a.db\"\nbcrypt_cost = [1]\n");
        let errors = read_config_file(&path).unwrap_err();
        assert_eq!(errors.0.len(), 2, "{errors}");
        assert!(errors
            .0
            .iter()
            .any(|line| line.contains("unknown setting `databse_url`")));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn reports_broken_toml_and_missing_files() {
        let path = file("database_url = ");
        assert!(read_config_file(&path).unwrap_err().0[0].contains("not valid TOML"));
        std::fs::remove_file(&path).unwrap();
        assert!(read_config_file(&path).unwrap_err().0[0].contains("cannot read"));
    }
}

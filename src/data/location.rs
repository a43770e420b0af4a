//! Resolution of the data folder: the `--data-dir` flag, then the `HHLAB_DATA` environment
//! variable, then the platform data folder (`dirs::data_dir()/hhlab`, for example
//! `~/.local/share/hhlab` on Linux).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{DataError, DatasetKind};

/// Environment variable naming the data folder when `--data-dir` is not given.
pub const DATA_DIR_ENV: &str = "HHLAB_DATA";

/// Subfolder of the platform data folder used when nothing else names one.
const PLATFORM_SUBFOLDER: &str = "hhlab";

/// Resolves the data folder: `cli` when given, then `HHLAB_DATA` when set and non-empty,
/// then `dirs::data_dir()/hhlab`. The folder need not exist yet.
pub fn resolve_data_dir(cli: Option<&Path>) -> Result<PathBuf, DataError> {
    let platform = dirs::data_dir().map(|dir| dir.join(PLATFORM_SUBFOLDER));
    resolve_data_dir_from(cli, std::env::var_os(DATA_DIR_ENV), platform)
}

/// Applies the order of [`resolve_data_dir`] to explicit inputs, so it can be tested without
/// touching the process environment.
pub fn resolve_data_dir_from(
    cli: Option<&Path>,
    env_value: Option<OsString>,
    platform: Option<PathBuf>,
) -> Result<PathBuf, DataError> {
    if let Some(dir) = cli {
        return Ok(dir.to_path_buf());
    }
    if let Some(value) = env_value.filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(value));
    }
    platform.ok_or(DataError::NoDataDir)
}

/// Returns the exact command that downloads `kind` into `data_dir`, quoting the folder for a
/// POSIX shell when it contains anything but plain path characters.
pub fn fetch_command(kind: DatasetKind, data_dir: &Path) -> String {
    let dir = data_dir.display().to_string();
    let plain = dir
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c));
    let dir = if plain && !dir.is_empty() {
        dir
    } else {
        format!("'{}'", dir.replace('\'', r"'\''"))
    };
    format!("hhlab data fetch {} --data-dir {dir}", kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_flag_wins_over_env() {
        let dir = resolve_data_dir_from(
            Some(Path::new("/flag")),
            Some("/env".into()),
            Some("/platform".into()),
        )
        .unwrap();
        assert_eq!(dir, PathBuf::from("/flag"));
    }

    #[test]
    fn env_wins_over_platform() {
        let dir = resolve_data_dir_from(None, Some("/env".into()), Some("/platform".into()));
        assert_eq!(dir.unwrap(), PathBuf::from("/env"));
    }

    #[test]
    fn empty_env_falls_back_to_platform() {
        let dir = resolve_data_dir_from(None, Some("".into()), Some("/platform".into()));
        assert_eq!(dir.unwrap(), PathBuf::from("/platform"));
    }

    #[test]
    fn nothing_available_is_an_error() {
        let err = resolve_data_dir_from(None, None, None).unwrap_err();
        assert!(matches!(err, DataError::NoDataDir));
    }

    #[test]
    fn fetch_command_quotes_spaces() {
        let command = fetch_command(DatasetKind::FashionMnist, Path::new("/my data/it's"));
        assert_eq!(
            command,
            r"hhlab data fetch fashion-mnist --data-dir '/my data/it'\''s'"
        );
    }

    #[test]
    fn fetch_command_keeps_plain_paths() {
        let command = fetch_command(DatasetKind::Mnist, Path::new("/work/shared/data"));
        assert_eq!(
            command,
            "hhlab data fetch mnist --data-dir /work/shared/data"
        );
    }
}

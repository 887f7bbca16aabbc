//! Starting the desk without a terminal: `ozvi-desk install` writes a
//! per-user systemd unit that runs `ozvi-desk serve`, and a desktop launcher
//! that runs `ozvi-desk open`; `open` asks the running desk for a new
//! single-use address over a Unix socket in the desk's folder (mode 0600:
//! only the staff member's own account) and opens it in the browser.
//!
//! The socket speaks one line each way: `url` → the address, or `error …`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::DeskError;
use crate::home::Home;

/// The socket's name inside the desk's folder.
pub const SOCKET: &str = "desk.sock";

/// The running desk's socket.
pub fn socket(home: &Home) -> PathBuf {
    home.dir().join(SOCKET)
}

/// Answers `url` requests on the desk's socket with a new opening address,
/// for as long as the process runs.
pub fn listen(
    home: &Home,
    new_url: Arc<dyn Fn() -> String + Send + Sync>,
) -> Result<(), DeskError> {
    let path = socket(home);
    let io = |e: std::io::Error| DeskError::Io(format!("{}: {e}", path.display()));
    if path.exists() {
        std::fs::remove_file(&path).map_err(io)?;
    }
    let listener = std::os::unix::net::UnixListener::bind(&path).map_err(io)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut line = String::new();
            if BufReader::new(std::io::Read::take(&stream, 64))
                .read_line(&mut line)
                .is_err()
            {
                continue;
            }
            let reply = if line.trim() == "url" {
                format!("{}\n", new_url())
            } else {
                "error the only request is `url`\n".to_string()
            };
            let _ = (&stream).write_all(reply.as_bytes());
        }
    });
    Ok(())
}

/// A new opening address from the desk running on `home`.
pub fn request_url(home: &Home) -> Result<String, DeskError> {
    let path = socket(home);
    let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(|_| {
        DeskError::Invalid(format!(
            "no desk is running for {} (start it with `ozvi-desk serve`, or \
             `systemctl --user start ozvi-desk` after `ozvi-desk install`)",
            home.dir().display()
        ))
    })?;
    stream
        .write_all(b"url\n")
        .map_err(|e| DeskError::Io(e.to_string()))?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(|e| DeskError::Io(e.to_string()))?;
    let url = answer.trim();
    if !url.starts_with("http://127.0.0.1:") {
        return Err(DeskError::BadResponse);
    }
    Ok(url.to_string())
}

/// Where `install` writes: the user's systemd unit and desktop launcher
/// (XDG base directories).
pub struct Places {
    /// `~/.config/systemd/user/ozvi-desk.service`.
    pub unit: PathBuf,
    /// `~/.local/share/applications/ozvi-desk.desktop`.
    pub launcher: PathBuf,
}

impl Places {
    /// From `XDG_CONFIG_HOME` and `XDG_DATA_HOME`, or `~/.config` and
    /// `~/.local/share`.
    pub fn of_user() -> Result<Self, DeskError> {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .ok_or_else(|| DeskError::Invalid("HOME is not set".into()))?;
        let base = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| home.join(default))
        };
        Ok(Self {
            unit: base("XDG_CONFIG_HOME", ".config").join("systemd/user/ozvi-desk.service"),
            launcher: base("XDG_DATA_HOME", ".local/share").join("applications/ozvi-desk.desktop"),
        })
    }
}

/// A path for a unit file or a launcher: systemd and desktop entries both
/// split on spaces, so a path with one is quoted.
fn quoted(path: &Path) -> String {
    let text = path.display().to_string();
    if text.contains([' ', '"', '\\']) {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        text
    }
}

/// The unit: the desk as a per-user service, restarted if it stops.
pub fn unit(binary: &Path, home: &Home) -> String {
    format!(
        "[Unit]\n\
         Description=Ozvi desk (the intervention centre's staff client, on 127.0.0.1 only)\n\
         \n\
         [Service]\n\
         ExecStart={} --home {} serve\n\
         Restart=on-failure\n\
         # Keys never leave this account; nothing else needs to read its files.\n\
         UMask=0077\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        quoted(binary),
        quoted(home.dir())
    )
}

/// The desktop launcher: opens the desk in the browser.
pub fn launcher(binary: &Path, home: &Home) -> String {
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Ozvi desk\n\
         Name[cs]=Ozvi – pracoviště\n\
         Comment=Open the intervention centre's conversations\n\
         Comment[cs]=Otevřít konverzace intervenčního centra\n\
         Exec={} --home {} open\n\
         Terminal=false\n\
         Categories=Office;\n",
        quoted(binary),
        quoted(home.dir())
    )
}

/// Writes the unit and the launcher (replacing earlier ones); returns what
/// to tell the staff member.
pub fn install(home: &Home, places: &Places) -> Result<String, DeskError> {
    home.settings()?;
    let binary = std::env::current_exe().map_err(|e| DeskError::Io(e.to_string()))?;
    let home =
        Home::new(std::path::absolute(home.dir()).map_err(|e| DeskError::Io(e.to_string()))?);
    for (path, text) in [
        (&places.unit, unit(&binary, &home)),
        (&places.launcher, launcher(&binary, &home)),
    ] {
        let io = |e: std::io::Error| DeskError::Io(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, text).map_err(io)?;
    }
    Ok(format!(
        "Installed:\n  {}\n  {}\n\
         Start the desk now and at every login:\n  systemctl --user daemon-reload\n  \
         systemctl --user enable --now ozvi-desk\n\
         Then open it from the applications menu (\"Ozvi desk\") or with `ozvi-desk open`.\n",
        places.unit.display(),
        places.launcher.display()
    ))
}

/// Opens `url` in the staff member's browser (`xdg-open`); prints it when
/// no browser can be started.
pub fn open_in_browser(url: &str) -> Result<(), DeskError> {
    let opened = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !opened {
        println!("Ozvi desk: open {url}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_spaces_are_quoted_in_the_unit_and_the_launcher() {
        let home = Home::new("/home/jana/Ozvi desk");
        let unit = unit(Path::new("/opt/ozvi/bin/ozvi-desk"), &home);
        assert!(
            unit.contains(
                "ExecStart=/opt/ozvi/bin/ozvi-desk --home \"/home/jana/Ozvi desk\" serve"
            ),
            "{unit}"
        );
        let launcher = launcher(Path::new("/opt/ozvi/bin/ozvi-desk"), &home);
        assert!(
            launcher.contains("Exec=/opt/ozvi/bin/ozvi-desk --home \"/home/jana/Ozvi desk\" open")
        );
        assert!(launcher.contains("Terminal=false"));
    }
}

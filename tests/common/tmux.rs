//! A real terminal for the control room's end-to-end tests: a tmux server of its own per test,
//! keys sent by name, the screen captured and waited on.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of its own (socket per test) running one session.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `command` with `env` in a 200x50 terminal.
    pub fn start(name: &str, command: &str, env: &[(&str, &str)]) -> Tmux {
        Tmux::start_sized(name, command, env, (200, 50))
    }

    /// Runs `command` with `env` in a terminal of `size` (columns, rows).
    pub fn start_sized(name: &str, command: &str, env: &[(&str, &str)], size: (u16, u16)) -> Tmux {
        let tmux = Tmux {
            socket: format!("orbdeck-{name}-{}", std::process::id()),
        };
        let (w, h) = (size.0.to_string(), size.1.to_string());
        let mut args = vec!["new-session", "-d", "-s", "ui", "-x", &w, "-y", &h];
        let envs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for e in &envs {
            args.push("-e");
            args.push(e);
        }
        args.push(command);
        let out = tmux.run(&args);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Escape must arrive alone, not as Alt+<next key>.
        tmux.run(&["set", "-s", "escape-time", "0"]);
        tmux
    }

    /// Runs tmux with `args` on this server.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// What the terminal shows now.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "ui"]).stdout).into_owned()
    }

    /// Sends tmux key names one by one, a little apart.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "ui", k]);
            std::thread::sleep(Duration::from_millis(80));
        }
    }

    /// Sends Escape alone and waits until `check` holds (a busy UI reading Escape and the next
    /// key in one go would take them for alt+key, as any terminal program does).
    pub fn escape(&self, what: &str, check: impl Fn(&str) -> bool) {
        self.keys(&["Escape"]);
        self.wait(20, what, check);
    }

    pub fn text(&self, text: &str) {
        self.run(&["send-keys", "-t", "ui", "-l", text]);
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Waits until `check` holds for the screen; panics with the screen otherwise.
    pub fn wait(&self, secs: u64, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {secs} s for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills the terminal and what runs in it.
    pub fn kill(&self) {
        self.run(&["kill-server"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.kill();
    }
}

//! A program the tests run as a merchant would (the example servers and receivers in Node and
//! Python): in its own process group, ended by id when dropped, its output lines kept as they
//! arrive so a test can wait for one.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running program.
pub struct Program {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    name: String,
}

impl Program {
    /// Starts `cmd` in its own process group; stdout and stderr are both kept, line by line.
    pub fn start(name: &str, cmd: &mut Command) -> Program {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(cmd, 0);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().expect("piped stdout"));
        let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().expect("piped stderr"));
        for stream in [out, err] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().expect("the lines").push(line);
                }
            });
        }
        Program { child, lines, name: name.to_owned() }
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("the lines").clone()
    }

    /// Waits for a line containing `text`; panics with the output after `timeout`.
    pub async fn wait_line(&self, text: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| l.contains(text)) {
                return line;
            }
            assert!(
                started.elapsed() < timeout,
                "{} printed no line with {text:?} in {timeout:?}:\n{}",
                self.name,
                self.lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the program accepts connections on `port` (loopback).
    pub async fn wait_port(&self, port: u16) {
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{} is not listening on {port}:\n{}",
                self.name,
                self.lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let quiet = |signal: &str| Command::new("kill").args([signal, "--", &group]).stderr(Stdio::null()).status();
        let _ = quiet("-TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = quiet("-KILL");
        let _ = self.child.wait();
    }
}

//! The `onshi-terminal` command as a user runs it: bad flags and missing files are refused with a
//! message that says what is wrong, and the process exits non-zero instead of panicking.
//! (Building this test also builds the binary that `tests/` kills with SIGKILL.)

use std::process::Command;

fn terminal() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onshi-terminal"))
}

#[test]
fn missing_certificates_are_named() {
    let dir = tempfile::tempdir().expect("dir");
    let out = terminal()
        .args(["run", "--dir"])
        .arg(dir.path())
        .args(["--cacert", "/nonexistent/ca.pem", "--cert", "/nonexistent/c.pem", "--key", "/nonexistent/c.key"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/c.pem"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unknown_consent_and_encoding_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let out = terminal()
        .args(["tap", "--dir"])
        .arg(dir.path())
        .args(["--cacert", "a", "--cert", "b", "--key", "c", "--serial", "A1", "--consent", "everything"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("everything") && err.contains("medication"), "{err}");

    let out = terminal()
        .args(["run", "--dir", "x", "--cacert", "a", "--cert", "b", "--key", "c", "--encoding", "ebcdic"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("shift_jis or utf-8"));
}

//! A few cycles of the kill -9 loop in CI (`onshi-stress`; `./dev stress --cycles 100` is the long
//! run): concurrent writers against the real `onshi-server serve`, SIGKILL at a random moment,
//! restart, and every acknowledgement in the expected-state file read back intact.

use std::process::Command;

#[test]
fn acknowledged_writes_survive_kill_9_at_random_moments() {
    let stress = std::path::Path::new(env!("CARGO_BIN_EXE_onshi-stress"));
    let server = stress.with_file_name("onshi-server");
    assert!(
        server.exists(),
        "{} is missing: run the workspace's tests (cargo test --workspace builds onshi-server)",
        server.display()
    );
    let out = Command::new(stress)
        .args(["--cycles", "3", "--persons", "2000", "--server-bin"])
        .arg(&server)
        .output()
        .expect("run onshi-stress");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("none lost"), "{stdout}");
    assert_eq!(stdout.matches("all there").count(), 3, "{stdout}");
}

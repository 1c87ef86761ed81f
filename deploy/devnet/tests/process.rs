use std::time::{Duration, Instant};

use devnet::process::{Process, Spec};

#[tokio::test]
async fn stop_restart_and_kill() {
    let dir = std::env::temp_dir().join(format!("devnet-proc-{}", std::process::id()));
    // Stops on SIGTERM.
    let mut p = Process::start(Spec::new("sleeper", "sleep", &dir).args(["30"])).unwrap();
    assert!(p.is_running());
    let t = Instant::now();
    p.stop(Duration::from_secs(5)).await.unwrap();
    assert!(!p.is_running());
    assert!(t.elapsed() < Duration::from_secs(4));
    // Restarts with the same command.
    p.restart().unwrap();
    assert!(p.is_running());
    p.kill().await.unwrap();
    assert!(!p.is_running());

    // Ignores SIGTERM: killed after the grace period.
    let mut stubborn =
        Process::start(Spec::new("stubborn", "sh", &dir).args(["-c", "trap '' TERM; echo started; sleep 30"])).unwrap();
    let log = stubborn.log().to_path_buf();
    stubborn
        .wait_until(Duration::from_secs(5), || {
            let log = log.clone();
            async move { std::fs::read_to_string(&log).unwrap_or_default().contains("started") }
        })
        .await
        .unwrap();
    let t = Instant::now();
    stubborn.stop(Duration::from_millis(500)).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(500));
    assert!(!stubborn.is_running());

    // A process that dies is reported with its log.
    let mut dying = Process::start(Spec::new("dying", "sh", &dir).args(["-c", "echo boom; exit 3"])).unwrap();
    let err = dying.wait_until(Duration::from_secs(5), || async { false }).await.unwrap_err().to_string();
    assert!(err.contains("dying exited") && err.contains("boom"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};
use service_kit::{load_config, ops_router, serve, string_override, ConfigArgs, Health, Metrics};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Cfg {
    name: String,
    port: u16,
    api: Api,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Api {
    listen: String,
    peers: Vec<String>,
}

impl Default for Cfg {
    fn default() -> Self {
        Cfg { name: "node".into(), port: 1, api: Api::default() }
    }
}

impl Default for Api {
    fn default() -> Self {
        Api { listen: "127.0.0.1:0".into(), peers: vec![] }
    }
}

#[test]
fn defaults_then_file_then_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "port = 7\n[api]\npeers = [\"a\"]\n").unwrap();
    let c: Cfg = load_config(Some(&path), &["api.listen=0.0.0.0:9000".into(), "name=\"x\"".into()]).unwrap();
    assert_eq!(c, Cfg { name: "x".into(), port: 7, api: Api { listen: "0.0.0.0:9000".into(), peers: vec!["a".into()] } });
    let c: Cfg = load_config(None, &["port=9".into(), "api.peers=[\"p\", \"q\"]".into()]).unwrap();
    assert_eq!(c.port, 9);
    assert_eq!(c.api.peers, vec!["p", "q"]);
}

#[test]
fn shorthand_flags_come_before_set_and_are_quoted() {
    let args = ConfigArgs { config: None, set: vec!["port=3".into()] };
    let tricky = r#"a "quoted" \ name"#;
    let shorthands = [string_override("name", Some(tricky)), string_override("api.listen", None::<&str>), Some("port=2".into())];
    let c: Cfg = args.load(shorthands.into_iter().flatten()).unwrap();
    assert_eq!(c.name, tricky);
    assert_eq!(c.api.listen, "127.0.0.1:0");
    assert_eq!(c.port, 3, "--set wins over a shorthand");
}

#[test]
fn errors_name_what_to_fix() {
    let e = load_config::<Cfg>(None, &["nokey".into()]).unwrap_err();
    assert!(e.to_string().contains("dotted.key=value"), "{e}");
    let e = load_config::<Cfg>(None, &["port=notanumber".into()]).unwrap_err();
    assert!(e.to_string().contains("invalid configuration"), "{e}");
    let e = load_config::<Cfg>(None, &["bogus=1".into()]).unwrap_err();
    assert!(e.to_string().contains("bogus"), "{e}");
    let e = load_config::<Cfg>(Some(std::path::Path::new("/nonexistent/c.toml")), &[]).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/c.toml"), "{e}");
}

#[tokio::test]
async fn health_and_metrics_served_then_shut_down() {
    let metrics = Metrics::new("test");
    let counter = Counter::<u64>::default();
    metrics.register("things", "Things done", counter.clone());
    counter.inc_by(3);
    let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let h = healthy.clone();
    let health = Health::new(move || (h.load(std::sync::atomic::Ordering::SeqCst), serde_json::json!({"height": 5})));
    let token = CancellationToken::new();
    let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), ops_router(metrics, health), token.clone()).await.unwrap();
    let body = reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await.unwrap();
    assert!(body.contains("test_things_total 3"), "{body}");
    let r = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["details"]["height"], 5);
    healthy.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(reqwest::get(format!("http://{addr}/health")).await.unwrap().status(), 503);
    token.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(5), task).await.unwrap().unwrap();
}

//! `pvm run --json` end to end on WAT kernels: every host function and error code, the seeds'
//! hello world, reveal, a kernel that never stops, invalid kernels and inputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn wat(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/wat").join(name)
}

fn pvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pvm")).args(args).output().expect("run pvm")
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

fn inputs(dir: &Path, json: &str) -> String {
    let p = dir.join("inputs.json");
    std::fs::write(&p, json).unwrap();
    p.to_string_lossy().into_owned()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

#[test]
fn every_host_function_and_error_code() {
    let dir = tempfile::tempdir().unwrap();
    let inp = inputs(dir.path(), r#"[[{"external": "01"}]]"#);
    let k = wat("host_calls.wat");
    let out = pvm(&["run", "--kernel", k.to_str().unwrap(), "--inputs", &inp, "--rollup", "0x1111111111111111111111111111111111111111", "--origination-level", "7", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let l = lines(&out);
    assert_eq!(l.len(), 2);
    assert_eq!(l[0]["level"], 1);
    let expected = [
        "write=0", "write_hole=-4", "write_append=0", "write_readonly=-9", "write_key_too_long=-1",
        "write_key_invalid=-2", "write_key_empty_step=-2", "write_key_oob=-6", "write_src_oob=-6",
        "write_too_big=-7", "write_empty_creates=0", "size=7", "size_empty=0", "size_missing=-3",
        "read=5", "read_at_end=0", "read_past_end=-4", "read_missing=-3", "read_dst_oob=-6",
        "read_clamped=7", "write_child=0", "write_child2=0", "has_value_and_subtree=3", "has_value=1",
        "has_missing=0", "has_root=-2", "has_subtree=2", "list_size=3", "list_size_missing=0",
        "list_size_invalid=-2", "nth_0=0", "nth_1=1", "b", "nth_2=3", "c.d", "nth_2_truncated=2",
        "nth_3=-3", "nth_negative=-3", "copy=0", "copy_missing=-3", "copy_to_readonly=-9",
        "copy_from_readonly=0", "copied_child=1", "move=0", "moved_gone=0", "moved_child=1",
        "move_missing=-3", "move_from_readonly=-9", "move_into_itself=0", "move_into_itself_check=1",
        "delete=0", "delete_gone=0", "delete_missing=0", "delete_readonly=-9",
        "delete_readonly_child=-9", "output=0", "output_empty=0", "output_too_big=-7", "output_oob=-6",
        "metadata=24", "metadata_short=4", "metadata_oob=-6", "preimage_bad_tag=-8", "preimage_oob=-6",
        "input_truncated=1", "input_level=1", "input_id=0", "input_level_oob=-6", "input_dst_oob=-6",
        "input_next=42", "input_next_id=1",
    ];
    assert_eq!(strings(&l[0]["debug"]), expected);
    assert_eq!(strings(&l[0]["outbox"]), vec![hex::encode("out-1"), String::new()]);
    assert!(l[0]["state_hash"].as_str().unwrap().starts_with("0x"));
    let durable = l[1]["durable"].as_object().unwrap();
    let get = |k: &str| durable.get(k).and_then(|v| v.as_str()).map(String::from);
    assert_eq!(get("/a"), Some(hex::encode("hello!!")));
    assert_eq!(get("/a/b"), Some(hex::encode("x")));
    assert_eq!(get("/a/c.d"), Some(hex::encode("y")));
    assert_eq!(get("/empty"), Some(String::new()));
    assert_eq!(get("/counter_copy"), Some("00000000".into()));
    assert_eq!(get("/metadata"), Some(format!("{}00000007", "11".repeat(20))));
    assert_eq!(get("/readonly/kernel/env/reboot_counter"), Some("00000000".into()));
    for gone in ["/b", "/copy", "/moved/here/b", "/readonly/x", "/readonly/a", "/stolen/env/reboot_counter"] {
        assert_eq!(get(gone), None, "{gone}");
    }
    assert!(get("/kernel/boot.wasm").is_some() && get("/readonly/kernel/fallback.wasm").is_some());
}

#[test]
fn hello_world_as_in_the_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let inp = inputs(dir.path(), "[[], []]");
    let out = pvm(&["run", "--kernel", wat("hello.wat").to_str().unwrap(), "--inputs", &inp, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let l = lines(&out);
    assert_eq!(l.len(), 3);
    for (i, level) in l[..2].iter().enumerate() {
        assert_eq!(level["level"], i as u64 + 1);
        assert_eq!(strings(&level["debug"]), vec!["hello, world!"]);
        assert!(strings(&level["outbox"]).is_empty());
    }
    assert_ne!(l[0]["state_hash"], l[1]["state_hash"], "the level is part of the state");
    // Text output says the same.
    let text = pvm(&["run", "--kernel", wat("hello.wat").to_str().unwrap(), "--inputs", &inp]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("debug: hello, world!"));
}

#[test]
fn reveal_from_a_directory_and_a_missing_page() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    // Not UTF-8 (0xff), so the debug line shows it in hex.
    let page = b"\x00\x00\x00\x00\x06hello\xff".to_vec();
    let hash = protocol::RevealHash::of(&page);
    std::fs::write(pages.join(hash.to_hex()), &page).unwrap();
    let missing = protocol::RevealHash::of(b"nobody has this");
    let inp = inputs(dir.path(), &format!(r#"[[{{"external": "{}"}}], [{{"external": "{}"}}], []]"#, hash.to_hex(), missing.to_hex()));
    let out = pvm(&["run", "--kernel", wat("reveal.wat").to_str().unwrap(), "--inputs", &inp, "--preimages", pages.to_str().unwrap(), "--json"]);
    // Level 1 reveals; level 2 cannot be computed: an error line, then the durable storage of
    // level 1, exit code 3.
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let l = lines(&out);
    assert_eq!(l.len(), 3);
    assert_eq!(strings(&l[0]["debug"]), vec![hex::encode(&page)]);
    assert_eq!(l[1]["level"], 2);
    assert!(l[1]["error"].as_str().unwrap().contains(&missing.to_hex()), "{}", l[1]);
    assert_eq!(l[2]["durable"]["/page"], hex::encode(&page));
}

#[test]
fn a_kernel_that_never_stops_is_rolled_back_each_run() {
    let dir = tempfile::tempdir().unwrap();
    let inp = inputs(dir.path(), r#"[[{"external": "00"}]]"#);
    for compiler in ["cranelift", "singlepass"] {
        let out = pvm(&["run", "--kernel", wat("loop_then_write.wat").to_str().unwrap(), "--inputs", &inp, "--tick-budget", "100000", "--compiler", compiler, "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let l = lines(&out);
        let durable = l[1]["durable"].as_object().unwrap();
        assert!(durable.get("/x").is_none(), "the failed runs' writes are undone");
        assert_eq!(durable["/kernel/env/stuck"], "01");
    }
}

#[test]
fn bad_kernels_and_inputs_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let float = dir.path().join("float.wat");
    std::fs::write(&float, r#"(module (memory 1) (export "m" (memory 0)) (func (export "kernel_run") (drop (f64.add (f64.const 1) (f64.const 2)))))"#).unwrap();
    let out = pvm(&["run", "--kernel", float.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`f64.const`"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = pvm(&["validate", float.to_str().unwrap()]);
    assert!(!out.status.success());
    let out = pvm(&["validate", wat("hello.wat").to_str().unwrap()]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("valid kernel"));
    let inp = inputs(dir.path(), r#"[[{"external": "not hex"}]]"#);
    let out = pvm(&["run", "--kernel", wat("hello.wat").to_str().unwrap(), "--inputs", &inp]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("level 1 message 0"));
    let out = pvm(&["genesis", wat("hello.wat").to_str().unwrap(), "--rollup", "0x2222222222222222222222222222222222222222"]);
    assert!(out.status.success());
    assert!(lines(&out)[0]["state_hash"].as_str().unwrap().starts_with("0x"));
}

/// `--engine reference` prints exactly what `--engine fast` prints, for every kernel of this
/// suite on the same inputs (the output includes each level's state hash).
#[test]
fn both_engines_print_identical_json() {
    let dir = tempfile::tempdir().unwrap();
    let inp = inputs(dir.path(), r#"[[{"external": "01"}, {"external": "74"}], [], [{"sender": "0x0303030303030303030303030303030303030303", "value": "5", "payload": "2f61"}]]"#);
    let mut compared = 0;
    for entry in std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/wat")).unwrap() {
        let k = entry.unwrap().path();
        let run = |engine: &str| {
            pvm(&["run", "--kernel", k.to_str().unwrap(), "--inputs", &inp, "--tick-budget", "5000000", "--engine", engine, "--json"])
        };
        let (fast, reference) = (run("fast"), run("reference"));
        assert_eq!(fast.status.code(), reference.status.code(), "{}: exit codes", k.display());
        assert_eq!(String::from_utf8_lossy(&fast.stdout), String::from_utf8_lossy(&reference.stdout), "{}", k.display());
        compared += 1;
    }
    assert!(compared >= 3, "{compared} kernels compared");
}

/// `pvm trace` shows the ticks around the one asked for; `pvm states` the state hashes at the
/// ticks asked for, the same whether asked together or alone; requests past the budget, for a
/// level the inputs lack or for a run the level did not make are clear errors.
#[test]
fn trace_and_states_replay_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let inp = inputs(dir.path(), r#"[[{"external": "01"}], []]"#);
    let k = wat("host_calls.wat");
    let k = k.to_str().unwrap();
    let base = ["--kernel", k, "--inputs", &inp, "--level", "1", "--tick-budget", "1000000"];
    let with = |cmd: &str, extra: &[&str]| {
        let mut args = vec![cmd];
        args.extend_from_slice(&base);
        args.extend_from_slice(extra);
        pvm(&args)
    };
    let out = with("trace", &["--tick", "3", "--around", "2", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let l = lines(&out);
    assert_eq!(l.iter().map(|x| x["tick"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert!(l.iter().all(|x| x["instruction"].as_str().is_some_and(|i| !i.is_empty())));

    let together = with("states", &["--ticks", "0,10,999999", "--json"]);
    assert!(together.status.success(), "{}", String::from_utf8_lossy(&together.stderr));
    let together = lines(&together);
    assert_eq!(together.len(), 3);
    assert_eq!(together[0]["status"], "level", "before the driver's first tick: the previous level's state");
    assert_eq!(together[1]["status"], "running");
    assert_eq!(together[2]["status"], "returned");
    let alone = lines(&with("states", &["--ticks", "10", "--json"]));
    assert_eq!(alone[0]["state_hash"], together[1]["state_hash"]);

    let proof = dir.path().join("proof.bin");
    let out = with("prove", &["--tick", "10", "--out", proof.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let p = &lines(&out)[0];
    assert_eq!(p["pre_state_hash"], together[1]["state_hash"], "the proof starts from the state at tick 10");
    assert_eq!(std::fs::metadata(&proof).unwrap().len(), p["bytes"].as_u64().unwrap());
    // The driver's two ticks prove too: the run's start and its end (the level's end here).
    for tick in ["0", "999999"] {
        let out = with("prove", &["--tick", tick, "--out", proof.to_str().unwrap(), "--json"]);
        assert!(out.status.success(), "tick {tick}: {}", String::from_utf8_lossy(&out.stderr));
    }

    let fails = |out: Output, what: &str| {
        assert_eq!(out.status.code(), Some(2), "{what}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(what), "expected `{what}` in: {err}");
    };
    fails(with("states", &["--ticks", "1000000"]), "past the run's budget");
    fails(with("trace", &["--tick", "500000", "--around", "18446744073709551615"]), "at most 100000");
    fails(with("states", &["--ticks", "5,4"]), "increasing");
    fails(with("states", &["--run", "7", "--ticks", "0"]), "there is no run 7");
    let mut args = vec!["states", "--kernel", k, "--inputs", &inp, "--level", "3", "--ticks", "0"];
    args.extend_from_slice(&["--tick-budget", "1000000"]);
    fails(pvm(&args), "no level 3");
}

//! The SDK's Runtime over the mock host: every host function through the safe API, with the
//! PVM's own semantics underneath.

use kernel_sdk::mock::MockHost;
use kernel_sdk::protocol::inbox::InboxMessage;
use kernel_sdk::{HostError, NodeKind, Runtime};

#[test]
fn inbox_levels_and_ids() {
    let mut host = MockHost::new();
    host.push_level_externals(&[b"a".to_vec(), b"bc".to_vec()]);
    let mut seen = Vec::new();
    host.run_level(|h| {
        while let Some(input) = h.read_input().unwrap() {
            seen.push((input.level, input.id, input.message().unwrap()));
        }
    });
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[2], (1, 2, InboxMessage::External(b"a".to_vec())));
    assert_eq!(seen[3].1, 3);
    assert!(matches!(seen[4].2, InboxMessage::Internal(kernel_sdk::protocol::InternalMessage::EndOfLevel)));
}

#[test]
fn durable_storage_through_the_runtime() {
    let mut host = MockHost::new();
    host.run_level(|h| {
        let big: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        h.store_write_all("/big", &big).unwrap();
        assert_eq!(h.store_read_all("/big").unwrap(), big);
        assert_eq!(h.store_value_size("/big").unwrap(), 10_000);
        h.store_write_all("/big", b"small").unwrap();
        assert_eq!(h.store_read_all("/big").unwrap(), b"small");
        h.store_write("/a/x", 0, b"1").unwrap();
        h.store_write("/a", 0, b"v").unwrap();
        assert_eq!(h.store_has("/a").unwrap(), NodeKind::ValueAndSubtree);
        assert_eq!(h.store_list_size("/a").unwrap(), 2);
        assert_eq!(h.store_get_nth_key("/a", 0).unwrap(), "");
        assert_eq!(h.store_get_nth_key("/a", 1).unwrap(), "x");
        assert_eq!(h.store_get_nth_key("/a", 2), Err(HostError::NotFound));
        h.store_copy("/a", "/b").unwrap();
        h.store_move("/b", "/c/d").unwrap();
        assert_eq!(h.store_read("/c/d/x", 0, 10).unwrap(), b"1");
        assert_eq!(h.store_has("/b").unwrap(), NodeKind::Missing);
        h.store_delete("/c").unwrap();
        assert_eq!(h.store_read("/c/d/x", 0, 10), Err(HostError::NotFound));
        assert_eq!(h.store_write("/readonly/x", 0, b"no"), Err(HostError::ReadOnly));
        assert_eq!(h.store_write("/bad key", 0, b"no"), Err(HostError::InvalidKey));
        assert_eq!(h.store_write(&format!("/{}", "k".repeat(300)), 0, b"no"), Err(HostError::KeyTooLarge));
        assert_eq!(h.store_write("/a", 5, b"hole"), Err(HostError::InvalidAccess));
        assert_eq!(h.write_output(&[0u8; 4097]), Err(HostError::InputOutputTooLarge));
    });
    assert_eq!(host.value("/a").unwrap(), b"v");
}

#[test]
fn reboots_keep_unread_inputs() {
    let mut host = MockHost::new();
    host.push_level_externals(&[b"1".to_vec(), b"2".to_vec()]);
    let mut per_run = Vec::new();
    let report = host.run_level(|h| {
        // One message per run, then ask to be called again while inputs remain.
        if let Some(i) = h.read_input().unwrap() {
            per_run.push((h.reboot_counter(), i.id));
            h.mark_for_reboot().unwrap();
        }
    });
    assert_eq!(report.runs, 6);
    assert_eq!(per_run, vec![(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]);
}

#[test]
fn reveal_and_metadata() {
    let meta = kernel_sdk::protocol::RollupMetadata { address: kernel_sdk::protocol::Address([7; 20]), origination_level: 9 };
    let mut host = MockHost::with_metadata(meta);
    let page = b"\x00\x00\x00\x00\x02hi".to_vec();
    let hash = host.add_preimage(page.clone());
    host.run_level(|h| {
        let mut buf = [0u8; 4096];
        let n = h.reveal_preimage(&hash, &mut buf).unwrap();
        assert_eq!(&buf[..n], &page[..]);
        assert_eq!(h.reveal_metadata(), meta);
        h.write_debug(b"done");
    });
}

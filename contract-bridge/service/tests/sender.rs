//! The sender against a real anvil: simulation refuses reverting calls, receipts come back, and
//! a transaction stuck in the mempool is re-priced under the same nonce, so only one is mined.

use std::time::Duration;

use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolError};
use bridge::sender::{SendError, SenderConfig, TxSender};
use l1_bindings::{toolchain, ProtocolCodecProbe};

#[tokio::test(flavor = "multi_thread")]
async fn simulate_send_and_replace() {
    let anvil = Anvil::at(toolchain::anvil()).spawn();
    let key = PrivateKeySigner::from(anvil.keys()[0].clone());
    let deployer = ProviderBuilder::new().wallet(key.clone()).connect_http(anvil.endpoint_url());
    let probe = ProtocolCodecProbe::deploy(&deployer).await.unwrap();

    let config = SenderConfig { receipt_timeout: Duration::from_millis(700), ..SenderConfig::default() };
    let sender = TxSender::connect(&anvil.endpoint(), key, config).await.unwrap();

    // A call that reverts is refused with its revert data and never sent.
    let bad = ProtocolCodecProbe::decodeOutboxMessageCall { m: Bytes::from(vec![1, 2, 3]) }.abi_encode();
    let nonce_before = sender.provider().get_transaction_count(sender.address()).await.unwrap();
    match sender.send(*probe.address(), bad.into(), U256::ZERO).await {
        Err(SendError::Reverted { data }) => assert_eq!(&data[..4], &ProtocolCodecProbe::MalformedOutboxMessage::SELECTOR),
        other => panic!("expected a refused revert, got {other:?}"),
    }
    assert_eq!(sender.provider().get_transaction_count(sender.address()).await.unwrap(), nonce_before);

    // A plain payment goes through.
    let to = Address::repeat_byte(0x42);
    let r = sender.send(to, Bytes::new(), U256::from(7)).await.unwrap();
    assert!(r.status());
    assert_eq!(sender.provider().get_balance(to).await.unwrap(), U256::from(7));

    // Stop mining: the first attempt sits in the mempool, gets re-priced, and exactly one
    // attempt is mined once mining resumes.
    let admin = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    admin.raw_request::<_, ()>("evm_setAutomine".into(), (false,)).await.unwrap();
    let send = tokio::spawn(async move { sender.send(to, Bytes::new(), U256::from(5)).await.map(|r| (r, sender)) });
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    admin.raw_request::<_, ()>("evm_setAutomine".into(), (true,)).await.unwrap();
    admin.raw_request::<_, String>("evm_mine".into(), ()).await.unwrap();
    let (receipt, sender) = send.await.unwrap().unwrap();
    assert!(receipt.status());
    assert_eq!(sender.provider().get_balance(to).await.unwrap(), U256::from(12), "paid exactly once");
    let nonce_after = sender.provider().get_transaction_count(sender.address()).await.unwrap();
    assert_eq!(nonce_after, nonce_before + 2);
}

use std::time::Instant;
fn main() {
    let keys = committee::dev_keys("b", 4);
    let d = [7u8; 32];
    let t = Instant::now();
    let n = 200;
    let mut sigs = vec![];
    for i in 0..n { sigs.push(keys[i % 4].sign(&[i as u8; 32])); }
    println!("sign {:?}", t.elapsed() / n as u32);
    let t = Instant::now();
    for i in 0..n { assert!(keys[i % 4].public_key().verify(&[i as u8; 32], &sigs[i])); }
    println!("verify {:?}", t.elapsed() / n as u32);
    let s: Vec<_> = keys.iter().enumerate().map(|(i, k)| (i, k.sign(&d))).collect();
    let c = committee::Committee { epoch: 0, members: keys.iter().map(|k| (k.public_key(), 1)).collect() };
    let t = Instant::now();
    for _ in 0..n { let cert = committee::Certificate::aggregate(4, &s).unwrap(); cert.verify(&c, &d).unwrap(); }
    println!("agg+verify cert {:?}", t.elapsed() / n as u32);
}
